"""Acceptance tests: the real persona-proxy binary in front of an independently written fake Persona.

Run: python3 -m pytest Tests/acceptance -q   (binary: $PERSONA_PROXY_BIN, default .build/debug/persona-proxy)
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (
    assert_persona_error, cache_status_params, clean_env, free_port, http_get,
)

CONNECTION = "cxn_ABC123"
CONNECTION_PATH = f"/api/v1/connect/connections/{CONNECTION}"


def read_only(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)


# 1 ---------------------------------------------------------------------------------------------

def test_miss_then_hit_one_upstream_call_and_traceable(fake, start_proxy, api_key, tmp_path):
    proxy = start_proxy(fake.base_url)
    caller_headers = {"Authorization": "Bearer caller-token", "X-Client-Name": "billing-service"}

    first = proxy.get(CONNECTION_PATH, caller_headers)
    second = proxy.get(CONNECTION_PATH, caller_headers)

    expected = fake.connection_body(CONNECTION)
    assert first.status == 200, first.body
    assert second.status == 200, second.body
    assert first.body == expected, "miss body differs from the fake's bytes"
    assert second.body == expected, "hit body differs from the fake's bytes"

    first_status = cache_status_params(first.header("Cache-Status"))
    second_status = cache_status_params(second.header("Cache-Status"))
    assert "fwd=miss" in first_status, first.header("Cache-Status")
    assert "hit" in second_status, second.header("Cache-Status")
    assert not any(p.startswith("fwd=") for p in second_status), second.header("Cache-Status")

    upstream = fake.requests_for(CONNECTION_PATH)
    assert len(upstream) == 1, f"expected exactly one upstream call, the fake saw {len(upstream)}"
    call = upstream[0]
    assert call.method == "GET"
    assert call.header("Authorization") == f"Bearer {api_key}"
    for request in fake.requests:
        assert not any("caller-token" in value for value in request.header_values()), (
            f"the caller's own credentials reached Persona: {request.headers}")
    user_agent = call.header("User-Agent") or ""
    assert "billing-service" in user_agent, f"User-Agent does not name the caller: {user_agent!r}"

    # The Persona Request-Id is passed to the caller and recorded against the proxy's request id.
    persona_request_id = call.request_id
    assert persona_request_id and persona_request_id.startswith("req_")
    assert first.header("Request-Id") == persona_request_id
    proxy_request_id = first.header("X-Request-Id")
    assert proxy_request_id, "no X-Request-Id on the miss"
    with read_only(tmp_path / "requests.sqlite") as db:
        rows = db.execute(
            "SELECT request_id, caller, persona_request_id FROM request_log WHERE persona_request_id = ?",
            (persona_request_id,)).fetchall()
        attempts = db.execute(
            "SELECT request_log_id, status FROM upstream_attempts WHERE persona_request_id = ?",
            (persona_request_id,)).fetchall()
        attempt_owner = db.execute(
            "SELECT request_log.request_id FROM upstream_attempts JOIN request_log ON request_log.id = request_log_id "
            "WHERE upstream_attempts.persona_request_id = ?", (persona_request_id,)).fetchall()
    assert len(rows) == 1, f"request_log rows for {persona_request_id}: {rows}"
    assert rows[0][0] == proxy_request_id, f"X-Request-Id {proxy_request_id!r} is not the row's request_id {rows[0][0]!r}"
    assert len(attempts) == 1 and attempts[0][1] == 200, attempts
    assert attempt_owner == [(proxy_request_id,)], attempt_owner


# 2 ---------------------------------------------------------------------------------------------

def test_cache_survives_kill_9(fake, start_proxy):
    proxy = start_proxy(fake.base_url)
    first = proxy.get(CONNECTION_PATH)
    assert first.status == 200 and "fwd=miss" in cache_status_params(first.header("Cache-Status"))
    assert len(fake.requests_for(CONNECTION_PATH)) == 1

    proxy.kill9()
    proxy.start()  # same CACHE_PATH, new process
    again = proxy.get(CONNECTION_PATH)

    assert again.status == 200, again.body
    assert "hit" in cache_status_params(again.header("Cache-Status")), again.header("Cache-Status")
    assert again.body == first.body
    assert len(fake.requests_for(CONNECTION_PATH)) == 1, "the restarted proxy called Persona again"


# 3 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/v1/connect/connections/cxn_bad%20id", 400),
        ("/api/v1/connect/connections/cxn_" + "a" * 125, 400),  # 129 characters
        ("/api/v1/inquiries/x", 404),
        ("/api/v1/api-logs", 404),
    ],
    ids=["space-in-id", "129-char-id", "inquiries", "api-logs"],
)
def test_refused_requests_never_reach_persona(fake, start_proxy, path, status):
    proxy = start_proxy(fake.base_url)
    result = proxy.get(path)
    assert_persona_error(result, status)
    assert fake.requests == [], f"the fake saw {[(r.method, r.path) for r in fake.requests]}"


# 4 ---------------------------------------------------------------------------------------------

# A refused connection is known at once: the 502 must not wait for upstream.timeout_seconds
# (set to 5 s here so that "waited for the timeout" and "answered at once" cannot be confused).
# The proxy retries a refused GET twice with full-jitter backoff (base 0.2 s here: at most
# 0.2 + 0.4 s), by design; the answer still comes well before the timeout.
UNREACHABLE_TIMEOUT = "5"
FAST_BACKOFF = "0.2"


def test_upstream_stopped_gives_502_quickly(fake, start_proxy):
    proxy = start_proxy(fake.base_url, UPSTREAM_TIMEOUT_SECONDS=UNREACHABLE_TIMEOUT, RATE_LIMIT_BACKOFF_BASE_SECONDS=FAST_BACKOFF)
    assert proxy.get(CONNECTION_PATH).status == 200  # a pooled keep-alive connection now exists
    fake.stop()
    result = proxy.get("/api/v1/connect/connections/cxn_Active7Qm2", timeout=15)
    assert_persona_error(result, 502)
    assert result.elapsed < 2.0, (
        f"502 took {result.elapsed:.2f} s (upstream.timeout_seconds={UNREACHABLE_TIMEOUT}); "
        f"Cache-Status: {result.header('Cache-Status')}")


def test_upstream_closed_port_gives_502_quickly(start_proxy):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    proxy = start_proxy(
        f"http://127.0.0.1:{closed_port}", UPSTREAM_TIMEOUT_SECONDS=UNREACHABLE_TIMEOUT, RATE_LIMIT_BACKOFF_BASE_SECONDS=FAST_BACKOFF)
    result = proxy.get(CONNECTION_PATH, timeout=15)
    assert_persona_error(result, 502)
    assert result.elapsed < 2.0, (
        f"502 took {result.elapsed:.2f} s (upstream.timeout_seconds={UNREACHABLE_TIMEOUT}); "
        f"Cache-Status: {result.header('Cache-Status')}")


def test_slow_upstream_gives_504_within_timeout(fake, start_proxy):
    fake.latency = 3.0
    proxy = start_proxy(fake.base_url, UPSTREAM_TIMEOUT_SECONDS="0.5")
    result = proxy.get(CONNECTION_PATH, timeout=15)
    assert_persona_error(result, 504)
    assert result.elapsed < 2.0, f"504 took {result.elapsed:.2f} s"


# 5 ---------------------------------------------------------------------------------------------

def test_api_key_never_leaks(fake, start_proxy, api_key, binary, tmp_path):
    # trace, not warning: the most verbose the proxy can be must still not print the key.
    proxy = start_proxy(fake.base_url, LOG_LEVEL="trace")
    proxy.get(CONNECTION_PATH, {"X-Client-Name": "leak-check"})                # miss
    proxy.get(CONNECTION_PATH)                                                  # hit
    proxy.get(CONNECTION_PATH, {"Key-Inflection": "camel"})                     # another entry
    proxy.get("/api/v1/connect/connections/cxn_Unknown42")                      # Persona 404
    fake.force_rate_limited(1, reset=17)
    proxy.get("/api/v1/connect/connections/cxn_Inactive9Zx")                    # Persona 429
    proxy.get("/api/v1/connect/connections/cxn_bad%20id")                       # proxy 400
    proxy.get("/api/v1/api-logs")                                               # proxy 404
    proxy.get("/readyz")
    proxy.get("/metrics")
    assert len(fake.requests) >= 4 and all(r.header("Authorization") == f"Bearer {api_key}" for r in fake.requests)

    secret = api_key.encode()
    for response in proxy.responses:
        assert secret not in response.raw(), f"the key is in a response ({response.status})"
    for path in (tmp_path / f"{name}.sqlite{suffix}" for name in ("cache", "requests") for suffix in ("", "-wal", "-shm")):
        if path.exists():
            assert secret not in path.read_bytes(), f"the key is in {path.name}"
    proxy.stop()
    assert secret not in proxy.output(), "the key is in the proxy's stdout/stderr"
    for path in (tmp_path / f"{name}.sqlite{suffix}" for name in ("cache", "requests") for suffix in ("", "-wal", "-shm")):  # after the stop, too
        if path.exists():
            assert secret not in path.read_bytes(), f"the key is in {path.name}"

    checked = subprocess.run(
        [str(binary), "check-config"], cwd=tmp_path, capture_output=True, timeout=30,
        env=clean_env(PERSONA_API_KEY=api_key, CACHE_PATH=str(tmp_path / "cache.sqlite")))
    assert checked.returncode == 0, checked.stderr
    assert secret not in checked.stdout + checked.stderr, "check-config printed the key"
    assert b"api_key: <redacted>" in checked.stdout, checked.stdout


# 6 ---------------------------------------------------------------------------------------------

def test_check_config_rejects_bad_ttl_naming_the_key(binary, tmp_path, api_key):
    checked = subprocess.run(
        [str(binary), "check-config"], cwd=tmp_path, capture_output=True, timeout=30,
        env=clean_env(PERSONA_API_KEY=api_key, CACHE_TTL_SECONDS="abc"))
    assert checked.returncode != 0, checked.stdout
    assert b"cache.ttl_seconds" in checked.stderr, checked.stderr


def test_serve_without_key_refuses_naming_where_it_looked(binary, tmp_path):
    started = subprocess.run(
        [str(binary), "serve"], cwd=tmp_path, capture_output=True, timeout=30,
        env=clean_env(SERVER_PORT=str(free_port()), CACHE_PATH=str(tmp_path / "cache.sqlite")))
    assert started.returncode != 0
    message = started.stderr.decode(errors="replace")
    assert "PERSONA_API_KEY" in message, message
    assert "CREDENTIALS_DIRECTORY" in message, message
    assert "api_key_file" in message, message


# 7 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("traffic", [False, True], ids=["fresh", "after-traffic"])
def test_sigterm_while_idle_exits_0_quickly(fake, start_proxy, traffic):
    proxy = start_proxy(fake.base_url)
    if traffic:  # leaves a keep-alive connection to Persona in the pool
        assert proxy.get(CONNECTION_PATH).status == 200
        assert proxy.get(CONNECTION_PATH).status == 200
    time.sleep(0.2)
    started = time.monotonic()
    proxy.process.send_signal(signal.SIGTERM)
    try:
        code = proxy.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("persona-proxy did not exit within 5 s of SIGTERM")
    assert code == 0, f"exit code {code}; stderr: {proxy.stderr_path.read_text(errors='replace')[-2000:]}"
    assert time.monotonic() - started < 5
    with pytest.raises(OSError):
        http_get(proxy.port, "/healthz", timeout=1)
