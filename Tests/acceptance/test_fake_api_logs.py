"""Checks of the fake's API logs (`GET /api/v1/api-logs/{id}`), so that a request-log failure
points at the proxy, not the fake."""

from __future__ import annotations

import json

from conftest import http_get, http_request
from fake_persona import NOT_FOUND_BODY, UNAUTHENTICATED_BODY


def auth(fake, **extra):
    return {"Authorization": f"Bearer {fake.api_key}", **extra}


def test_fake_api_log_for_each_request_id(fake):
    retrieved = http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123?x=1",
                         auth(fake, **{"User-Agent": "probe/1 (caller=probe)", "Persona-Version": "2025-12-08"}))
    request_id = retrieved.header("Request-Id")
    assert request_id and request_id in fake.api_log_ids()

    answer = http_get(fake.port, f"/api/v1/api-logs/{request_id}", auth(fake))
    assert answer.status == 200
    assert answer.body == fake.api_log_body(request_id)
    assert answer.header("Request-Id") and answer.header("Request-Id") != request_id
    document = json.loads(answer.body)
    assert set(document) == {"data"}
    data = document["data"]
    assert (data["type"], data["id"]) == ("api-log", request_id)
    attributes = data["attributes"]
    assert attributes["request"]["method"] == "GET"
    assert attributes["request"]["path"] == "/api/v1/connect/connections/cxn_ABC123"
    assert attributes["request"]["get-params"] == {"x": "1"}
    assert attributes["request"]["headers"]["User-Agent"] == "probe/1 (caller=probe)"
    assert attributes["request"]["headers"]["Persona-Version"] == "2025-12-08"
    assert "Authorization" not in attributes["request"]["headers"], "an API log must never show the key"
    assert fake.api_key.encode() not in answer.body
    assert attributes["response"]["status"] == 200
    assert attributes["response"]["headers"]["Request-Id"] == request_id
    assert attributes["created-at"].endswith("Z") and attributes["redacted-at"] is None
    assert b"org_XYZ789" not in answer.body, "an API log keeps no response body"

    # The api-logs call is itself logged, and its keys follow Key-Inflection.
    own = answer.header("Request-Id")
    snake = http_get(fake.port, f"/api/v1/api-logs/{own}", auth(fake, **{"Key-Inflection": "snake"}))
    assert snake.status == 200 and b'"created_at"' in snake.body
    assert json.loads(snake.body)["data"]["attributes"]["request"]["path"] == f"/api/v1/api-logs/{request_id}"


def test_fake_api_log_unknown_forgotten_and_unauthenticated(fake):
    result = http_get(fake.port, "/api/v1/api-logs/req_000000000000000000000000", auth(fake))
    assert (result.status, result.body) == (404, NOT_FOUND_BODY)
    assert result.header("Request-Id")

    request_id = http_get(fake.port, "/api/v1/connect/connections/cxn_nope", auth(fake)).header("Request-Id")
    logged = http_get(fake.port, f"/api/v1/api-logs/{request_id}", auth(fake))
    assert logged.status == 200 and json.loads(logged.body)["data"]["attributes"]["response"]["status"] == 404

    unauthenticated = http_get(fake.port, f"/api/v1/api-logs/{request_id}")
    assert (unauthenticated.status, unauthenticated.body) == (401, UNAUTHENTICATED_BODY)

    fake.forget_api_logs()
    gone = http_get(fake.port, f"/api/v1/api-logs/{request_id}", auth(fake))
    assert (gone.status, gone.body) == (404, NOT_FOUND_BODY)


def test_fake_replayed_post_creates_no_api_log(fake):
    headers = auth(fake, **{"Idempotency-Key": "k-1"})
    first = http_request(fake.port, "POST", "/api/v1/connect/connections/cxn_ABC123/deactivate", headers)
    assert first.status == 200
    kept = fake.api_log_ids()
    replay = http_request(fake.port, "POST", "/api/v1/connect/connections/cxn_ABC123/deactivate", headers)
    assert replay.status == 200 and fake.requests[-1].replayed
    assert fake.api_log_ids() == kept
