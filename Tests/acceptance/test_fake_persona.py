"""Checks of the fake itself, so that an acceptance failure points at the proxy, not the fake."""

from __future__ import annotations

import json

import pytest

from conftest import http_get
from fake_persona import NOT_FOUND_BODY, RATE_LIMITED_BODY, UNAUTHENTICATED_BODY, FakePersona


def auth(fake, **extra):
    return {"Authorization": f"Bearer {fake.api_key}", **extra}


def test_fake_retrieve_and_headers(fake):
    result = http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123?x=1", auth(fake))
    assert result.status == 200
    assert result.body == fake.connection_body("cxn_ABC123")
    assert json.loads(result.body)["data"]["attributes"]["source-organization-id"] == "org_ABC123"
    assert result.header("Request-Id").startswith("req_")
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Persona-Environment-Id",
                 "Persona-Organization-Id"):
        assert result.header(name), name
    assert result.header("Retry-After") is None
    recorded = fake.requests[-1]
    assert (recorded.method, recorded.path, recorded.query) == ("GET", "/api/v1/connect/connections/cxn_ABC123", "x=1")
    assert recorded.request_id == result.header("Request-Id")


def test_fake_auth_and_not_found(fake):
    for headers in ({}, {"Authorization": f"Bearer {fake.api_key}x"}, {"Authorization": fake.api_key}):
        result = http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123", headers)
        assert (result.status, result.body) == (401, UNAUTHENTICATED_BODY)
        assert result.header("Request-Id") is None and result.header("RateLimit-Limit") is None
    result = http_get(fake.port, "/api/v1/connect/connections/cxn_nope", auth(fake))
    assert (result.status, result.body) == (404, NOT_FOUND_BODY)
    assert result.header("Request-Id")


def test_fake_inflection_and_429(fake):
    bodies = {i: http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123", auth(fake, **{"Key-Inflection": i})).body
              for i in ("kebab", "camel", "snake")}
    assert len(set(bodies.values())) == 3
    assert b'"sourceOrganizationId"' in bodies["camel"] and b'"source_organization_id"' in bodies["snake"]
    fake.force_rate_limited(2, reset=17)
    for _ in range(2):
        result = http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123", auth(fake))
        assert (result.status, result.body, result.header("RateLimit-Reset")) == (429, RATE_LIMITED_BODY, "17")
        assert result.header("RateLimit-Remaining") == "0"
    assert http_get(fake.port, "/api/v1/connect/connections/cxn_ABC123", auth(fake)).status == 200


def test_fake_stop_refuses_connections(api_key):
    fake = FakePersona(api_key=api_key).start()
    port = fake.port
    fake.stop()
    with pytest.raises(OSError):
        http_get(port, "/api/v1/connect/connections/cxn_ABC123", timeout=2)


def test_fake_deactivate_reactivate_and_idempotency(fake):
    from conftest import http_request
    from fake_persona import CONFLICT_BODY, DEFAULT_CONNECTIONS, IDEMPOTENCY_ERROR_BODY

    path = "/api/v1/connect/connections/cxn_Active7Qm2"
    result = http_request(fake.port, "POST", f"{path}/deactivate", auth(fake, **{"Idempotency-Key": "k1"}))
    assert result.status == 200 and json.loads(result.body)["data"]["attributes"]["status"] == "inactive"
    assert result.header("Request-Id")
    assert b'"inactive"' in http_get(fake.port, path, auth(fake)).body
    assert DEFAULT_CONNECTIONS["cxn_Active7Qm2"]["status"] == "active", "the fake changed the module's defaults"
    replay = http_request(fake.port, "POST", f"{path}/deactivate", auth(fake, **{"Idempotency-Key": "k1"}))
    assert (replay.status, replay.body) == (200, result.body) and fake.requests[-1].replayed
    conflict = http_request(fake.port, "POST", f"{path}/deactivate", auth(fake))
    assert (conflict.status, conflict.body) == (409, CONFLICT_BODY)
    reused = http_request(fake.port, "POST", f"{path}/reactivate", auth(fake, **{"Idempotency-Key": "k1"}))
    assert (reused.status, reused.body) == (400, IDEMPOTENCY_ERROR_BODY)
    reactivated = http_request(fake.port, "POST", f"{path}/reactivate", auth(fake, **{"Idempotency-Key": "k2"}))
    assert json.loads(reactivated.body)["data"]["attributes"]["status"] == "pending"
    assert fake.idempotency_keys() == ["k1", "k1", None, "k1", "k2"]
    assert http_request(fake.port, "POST", f"{path}/archive", auth(fake)).status == 404
    recorded = fake.requests[0]
    assert recorded.answered_monotonic >= recorded.received_monotonic


def test_fake_get_latency_and_read_on_arrival(fake):
    import threading
    import time

    from conftest import http_request

    path = "/api/v1/connect/connections/cxn_ABC123"
    fake.get_latency = 0.5
    answers = []
    reader = threading.Thread(target=lambda: answers.append(http_get(fake.port, path, auth(fake))))
    reader.start()
    while not fake.requests_for(path):
        time.sleep(0.005)
    posted = http_request(fake.port, "POST", f"{path}/deactivate", auth(fake))
    assert posted.status == 200 and posted.elapsed < 0.3, "POSTs must not wait for get_latency"
    reader.join(5)
    assert b'"pending"' in answers[0].body, "a GET that arrived before the deactivate answers the old status"
    assert answers[0].elapsed >= 0.5
    assert b'"inactive"' in http_get(fake.port, path, auth(fake)).body
