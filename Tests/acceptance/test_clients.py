"""Client tokens against the real binary: who may call which route, identities a caller cannot
forge, forced refreshes limited per client, per-client metrics, clients added and revoked by
SIGHUP, and the loopback-only mode without clients."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
import uuid

import pytest

from conftest import assert_persona_error, cache_status_params, clean_env, free_port, http_request

CONNECTION = "cxn_ABC123"
CONNECTION_PATH = f"/api/v1/connect/connections/{CONNECTION}"
TOKENS = {name: f"ppt_{name}_{uuid.uuid4().hex}" for name in ("billing", "onboarding", "ops", "late")}
SCOPES = {"billing": "read", "onboarding": "write", "ops": "admin"}

# Every route the proxy serves behind a token, and the scope it needs.
ROUTES = [
    ("GET", CONNECTION_PATH, "read"),
    ("POST", "/api/v1/connect/connections", "write"),
    ("POST", f"{CONNECTION_PATH}/deactivate", "write"),
    ("POST", f"{CONNECTION_PATH}/reactivate", "write"),
    ("GET", "/admin/requests", "admin"),
    ("GET", "/admin/requests/ppx_unknown", "admin"),
    ("GET", "/admin/requests/ppx_unknown/persona-log", "admin"),
    ("GET", "/admin/cache", "admin"),
    ("GET", f"/admin/cache/{CONNECTION}", "admin"),
    ("DELETE", f"/admin/cache/{CONNECTION}", "admin"),
    ("DELETE", "/admin/cache?confirm=true", "admin"),
]


def client_yaml(names: list[str], forced: int = 10) -> str:
    lines = ["clients:"]
    for name in names:
        lines += [
            f"  - name: {name}",
            f"    token_sha256: {hashlib.sha256(TOKENS[name].encode()).hexdigest()}",
            f"    scopes: [{SCOPES.get(name, 'read')}]",
            f"    max_forced_refreshes_per_minute: {forced}",
        ]
    return "\n".join(lines) + "\n"


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@pytest.fixture
def start(start_proxy, fake, tmp_path):
    def run(names=("billing", "onboarding", "ops"), forced: int = 10, **env: str):
        config = tmp_path / "proxy.yaml"
        config.write_text(client_yaml(list(names), forced))
        return start_proxy(fake.base_url, args=["--config", str(config)], LOG_LEVEL="info", **env)
    return run


def call(proxy, method: str, path: str, headers: dict[str, str] | None = None):
    body = b'{"data":{"attributes":{"destination-organization-id":"org_XYZ789"}}}' if method == "POST" else None
    return http_request(proxy.port, method, path, headers, body)


def test_every_route_refuses_no_token_a_wrong_token_and_a_missing_scope(start, fake, api_key):
    proxy = start()
    for method, path, scope in ROUTES:
        anonymous = call(proxy, method, path)
        error = assert_persona_error(anonymous, 401)["errors"][0]
        assert error["title"] == "Must be authenticated to access this endpoint", (method, path)
        assert anonymous.header("WWW-Authenticate") == "Bearer"
        assert_persona_error(call(proxy, method, path, {"Authorization": "Bearer ppt_wrong"}), 401)
        assert_persona_error(call(proxy, method, path, {"Authorization": TOKENS["billing"]}), 401)  # no "Bearer"
        lacking = next(name for name, granted in SCOPES.items() if granted != scope)
        refused = assert_persona_error(call(proxy, method, path, bearer(lacking)), 403)["errors"][0]
        assert f"lacks the {scope} scope" in refused["details"], refused
        owner = next(name for name, granted in SCOPES.items() if granted == scope)
        allowed = call(proxy, method, path, bearer(owner))
        assert allowed.status not in (401, 403), (method, path, allowed.status, allowed.body)
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert proxy.get(open_path).status == 200, open_path
    # Only authorised calls reached Persona, each with the proxy's key and never a caller's token.
    assert fake.requests, "the authorised calls went upstream"
    assert all(r.header("Authorization") == f"Bearer {api_key}" for r in fake.requests)
    assert not any(token.encode() in proxy.output() for token in TOKENS.values()), "a token reached the log"


def test_a_forged_client_name_or_reused_request_id_cannot_take_another_callers_row(start, fake):
    proxy = start()
    shared = {"X-Request-Id": "order-42"}
    first = proxy.get(CONNECTION_PATH, {**bearer("billing"), **shared, "X-Client-Name": "ops"})
    call(proxy, "DELETE", f"/admin/cache/{CONNECTION}", bearer("ops"))  # so the second is a miss too
    second = proxy.get(CONNECTION_PATH, {**bearer("billing"), **shared, "X-Client-Name": "onboarding"})
    assert first.status == second.status == 200
    ids = [first.header("X-Request-Id"), second.header("X-Request-Id")]
    assert ids[0] != ids[1] and all(i.startswith("ppx_") for i in ids), ids

    rows = json.loads(proxy.get("/admin/requests?caller_request_id=order-42", bearer("ops")).body)["data"]
    assert sorted(row["request_id"] for row in rows) == sorted(ids)
    assert {row["caller"] for row in rows} == {"billing/ops", "billing/onboarding"}, "the token names the caller"
    assert all(row["caller_request_id"] == "order-42" for row in rows)

    # Each row's Persona log is its own call, not whichever came first with that id.
    for request_id, response in zip(ids, (first, second)):
        joined = json.loads(proxy.get(f"/admin/requests/{request_id}/persona-log", bearer("ops")).body)["data"]
        assert joined["request"]["request_id"] == request_id
        assert [log["persona_request_id"] for log in joined["persona_api_logs"]] == [response.header("Request-Id")]
    agents = [r.header("User-Agent") for r in fake.requests_for(CONNECTION_PATH)]
    assert agents and all("caller=billing/" in agent for agent in agents), agents


def test_forced_refreshes_beyond_the_clients_allowance_are_served_from_the_cache(start, fake):
    proxy = start(names=("billing", "late"), forced=2)
    assert proxy.get(CONNECTION_PATH, bearer("billing")).status == 200
    forced = [proxy.get(CONNECTION_PATH, {**bearer("billing"), "Cache-Control": "no-cache"}) for _ in range(3)]
    assert all("fwd=request" in cache_status_params(r.header("Cache-Status")) for r in forced[:2])
    limited = forced[2]
    assert limited.status == 200
    params = cache_status_params(limited.header("Cache-Status"))
    assert "hit" in params and "detail=forced-refresh-limited" in params, params
    assert limited.header("Request-Id") == forced[1].header("Request-Id"), "the copy the last refresh stored"
    assert len(fake.requests_for(CONNECTION_PATH)) == 3, "one miss and two refreshes, no more"
    again = proxy.get(CONNECTION_PATH, {**bearer("billing"), "Cache-Control": "min-fresh=600"})
    assert "detail=forced-refresh-limited" in cache_status_params(again.header("Cache-Status"))
    # The allowance is per client: another reader still has its own.
    other = proxy.get(CONNECTION_PATH, {**bearer("late"), "Cache-Control": "no-cache"})
    assert "fwd=request" in cache_status_params(other.header("Cache-Status"))
    assert len(fake.requests_for(CONNECTION_PATH)) == 4
    metrics = proxy.get("/metrics").body.decode()
    assert 'persona_proxy_client_refusals_total{client="billing",reason="forced_refresh_limited"} 2' in metrics, metrics


def test_per_client_metrics_name_configured_clients_only(start, fake):
    proxy = start()
    proxy.get(CONNECTION_PATH, bearer("billing"))
    proxy.get(CONNECTION_PATH, {**bearer("billing"), "X-Client-Name": "made-up-name"})
    for index in range(5):
        proxy.get(CONNECTION_PATH, {"Authorization": f"Bearer ppt_guess_{index}"})
    call(proxy, "DELETE", f"/admin/cache/{CONNECTION}", bearer("billing"))
    assert_persona_error(proxy.get("/api/v1/connect/connections/cxn_ABC123?fields[connect/connection]=secret", bearer("billing")), 400)
    metrics = proxy.get("/metrics").body.decode()
    for line in (
        'persona_proxy_client_requests_total{client="billing"} 4',
        'persona_proxy_client_requests_total{client="unauthenticated"} 5',
        'persona_proxy_client_refusals_total{client="unauthenticated",reason="unauthenticated"} 5',
        'persona_proxy_client_refusals_total{client="billing",reason="forbidden"} 1',
        'persona_proxy_client_refusals_total{client="billing",reason="invalid"} 1',
        'persona_proxy_client_upstream_calls_total{client="billing"} 1',
        'persona_proxy_client_budget_wait_seconds_count{client="billing"} 1',
    ):
        assert line in metrics, f"{line!r} missing from:\n{metrics}"
    assert "made-up-name" not in metrics and "ppt_guess" not in metrics


def test_sighup_adds_and_revokes_clients_without_a_restart(start, tmp_path):
    proxy = start(names=("billing",))
    assert proxy.get(CONNECTION_PATH, bearer("billing")).status == 200
    assert_persona_error(proxy.get(CONNECTION_PATH, bearer("late")), 401)
    (tmp_path / "proxy.yaml").write_text(client_yaml(["late"]))
    proxy.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while proxy.get(CONNECTION_PATH, bearer("late")).status != 200:
        assert time.monotonic() < deadline, "the new client was not accepted after SIGHUP"
        time.sleep(0.05)
    assert_persona_error(proxy.get(CONNECTION_PATH, bearer("billing")), 401)
    assert proxy.process.poll() is None


def test_without_clients_only_loopback_hosts_and_no_browsers(start_proxy, fake):
    proxy = start_proxy(fake.base_url)
    assert proxy.get(CONNECTION_PATH).status == 200
    assert proxy.get(CONNECTION_PATH, {"Host": "localhost:8080"}).status == 200
    rebinding = assert_persona_error(proxy.get(CONNECTION_PATH, {"Host": "attacker.example"}), 403)["errors"][0]
    assert "loopback" in rebinding["details"]
    before = len(fake.requests)
    csrf = proxy.post(f"{CONNECTION_PATH}/deactivate", headers={"Origin": "http://attacker.example"})
    assert_persona_error(csrf, 403)
    assert len(fake.requests) == before, "a browser's deactivate reached Persona"
    assert proxy.get("/healthz", {"Host": "attacker.example"}).status == 200, "health stays open"


def test_listening_beyond_loopback_without_clients_stops_start_up(binary, tmp_path, api_key, fake):
    env = clean_env(
        PERSONA_API_KEY=api_key, UPSTREAM_BASE_URL=fake.base_url, CACHE_PATH=str(tmp_path / "cache.sqlite"),
        SERVER_HOST="0.0.0.0", SERVER_PORT=str(free_port()))
    result = subprocess.run([str(binary), "serve"], env=env, cwd=tmp_path, capture_output=True, timeout=30)
    assert result.returncode == 78, result.stderr
    assert b"server.host" in result.stderr and b"no clients are configured" in result.stderr, result.stderr
