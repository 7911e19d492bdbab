"""Acceptance tests of the proxy against a hostile upstream (hostile_upstream.py): the real
persona-proxy binary in front of a server that answers like Persona until it is told to stall,
trickle, truncate, reset, send HTML or a different connection, or send rate-limit headers no
arithmetic should trust.

Whatever the upstream does, a caller of the proxy must get, within the upstream timeout plus a
margin:
  - cold (nothing cached): a Persona-shaped JSON error, never the upstream's HTML or garbage:
    504 for a stall or a trickle (the timeout), 502 for a garbage 200, a 200 for another connection,
    a truncated body or a reset, the upstream's own 502/503 for a load balancer's HTML page, and 429
    for a 429 whose RateLimit-Reset is inf, nan, 1e300, -5 or "soon";
  - warm (an expired copy held, stale-if-error allowed): the old copy, byte for byte, marked
    `detail=stale-if-error...` in Cache-Status;
and afterwards, with the upstream behaving again, the real current document (nothing bad was
stored), from a process that is still alive and healthy. A 200 carrying malformed RateLimit-*
values must be served like any other 200.

Each case prints its measured answer time (`pytest -s` shows them; a summary follows the module).

Run: python3 -m pytest Tests/acceptance/test_hostile_upstream.py -q
(~40 s when every case passes: four cases wait out the 2 s timeout; ~90 s against a proxy that hangs,
each hang costing the 10 s client timeout)
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
import uuid

import pytest

from conftest import HTTPResult, ProxyProcess, assert_persona_error, cache_status_params, http_get
from hostile_upstream import FAULTS, RATE_LIMIT_FAULTS, HostileUpstream

CONNECTIONS = "/api/v1/connect/connections"

UPSTREAM_TIMEOUT_SECONDS = 2
CACHE_TTL_SECONDS = 0.3
# Every answer, faulty upstream or not, must come within the upstream timeout plus this margin.
ANSWER_BOUND_SECONDS = UPSTREAM_TIMEOUT_SECONDS + 1
# The client waits much longer than the bound, so that a hang fails an assertion that shows the
# measured time instead of surfacing as a socket timeout.
CLIENT_TIMEOUT_SECONDS = 10.0
# How long a failure message waits for a proxy that dropped a connection to finish crashing.
CRASH_REPORT_WAIT_SECONDS = 10.0
PROXY_ENV = {
    "UPSTREAM_TIMEOUT_SECONDS": str(UPSTREAM_TIMEOUT_SECONDS),
    "CACHE_TTL_SECONDS": str(CACHE_TTL_SECONDS),
    # No stale-while-revalidate: an expired entry must go upstream, so the fault is met on the
    # caller's own request and stale-if-error is what decides the answer.
    "CACHE_STALE_WHILE_REVALIDATE_SECONDS": "0",
    "CACHE_STALE_IF_ERROR_SECONDS": "86400",
    "RATE_LIMIT_MAX_WAIT_SECONDS": "1",
    "RATE_LIMIT_BACKOFF_BASE_SECONDS": "0.05",
    "RATE_LIMIT_BACKOFF_MAX_SECONDS": "0.5",
}

# The status a caller must get, cold, for each fault.
COLD_STATUS = {
    "stall_after_head": 504,
    "slow_trickle": 504,
    "garbage_200": 502,
    "wrong_id_200": 502,
    "html_502": 502,
    "html_503": 503,
    "truncated_body": 502,
    "reset_mid_body": 502,
    **{fault: 429 for fault in RATE_LIMIT_FAULTS},
}
# A 200 that is not this connection: the caller's error must say what was wrong.
WRONG_200_FAULTS = ("garbage_200", "wrong_id_200")

MALFORMED_RATE_LIMIT_VALUES = ("inf", "nan", "1e300", "-5", "soon")
RATE_LIMIT_HEADERS = ("RateLimit-Reset", "RateLimit-Remaining", "RateLimit-Limit")

# "hostile: cold stall_after_head -> 504 in 2.01 s", one per case, printed again after the module.
TIMINGS: list[str] = []


def path_for(connection_id: str) -> str:
    return f"{CONNECTIONS}/{connection_id}"


def fresh_id(label: str) -> str:
    """An id nobody has fetched: letters, digits and '_' only, as the proxy accepts."""
    return f"cxn_{label}_{uuid.uuid4().hex[:8]}"


def describe_process(proxy: ProxyProcess, wait: float = 0.0) -> str:
    """For failure messages: running, or how it died. A crashing Swift process drops its connections
    first and exits seconds later (the backtracer runs in between): after a dropped connection,
    wait for it."""
    try:
        code = proxy.process.wait(timeout=wait) if proxy.process else None
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        return "the proxy is still running"
    output = proxy.output().decode(errors="replace")
    # A Swift crash report is long and ends in registers: keep its cause and the proxy's own frames.
    crash = [line.strip() for line in output.splitlines()
             if "Fatal error" in line or "Program crashed" in line or ("in persona-proxy at" in line and "/.build/" not in line)]
    if crash:
        return f"the proxy exited with {code}:\n" + "\n".join(crash[:8])
    return f"the proxy exited with {code}; its output ends:\n{output[-1500:]}"


def try_get(proxy: ProxyProcess, path: str) -> tuple[HTTPResult | None, float, str | None]:
    """(result, seconds, None), or (None, seconds, what went wrong) when no answer came at all."""
    started = time.monotonic()
    try:
        result = proxy.get(path, timeout=CLIENT_TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, malformed answer
        return None, time.monotonic() - started, f"{type(error).__name__}: {error}"
    return result, time.monotonic() - started, None


def no_answer(proxy: ProxyProcess, elapsed: float, error: str) -> str:
    # A timeout means a live, wedged proxy; anything else (a dropped connection) may be a crash.
    wait = 0.0 if error.startswith("TimeoutError") else CRASH_REPORT_WAIT_SECONDS
    return f"no answer after {elapsed:.2f} s ({error}); {describe_process(proxy, wait)}"


def timed_get(proxy: ProxyProcess, path: str, what: str) -> tuple[HTTPResult, float]:
    result, elapsed, error = try_get(proxy, path)
    assert result is not None, f"{what}: {no_answer(proxy, elapsed, error)}"
    return result, elapsed


def show(result: HTTPResult) -> str:
    return f"{result.status}, Cache-Status {result.header('Cache-Status')!r}, body {result.body[:300]!r}"


def assert_alive_and_healthy(proxy: ProxyProcess) -> None:
    assert proxy.process is not None and proxy.process.poll() is None, describe_process(proxy)
    health = http_get(proxy.port, "/healthz", timeout=5)
    assert health.status == 200, f"/healthz answered {health.status}: {health.body[:200]!r}"


@pytest.fixture
def hostile(api_key):
    server = HostileUpstream(api_key=api_key).start()
    try:
        yield server
    finally:
        server.stop()
    # A stall or a trickle left running would keep a thread (and a socket) past the test.
    assert not server.leftover_threads, f"hostile upstream threads still running: {server.leftover_threads}"
    assert server.open_connections == 0, f"{server.open_connections} connections still open after stop()"


@pytest.fixture(scope="module", autouse=True)
def timing_summary():
    yield
    if TIMINGS:
        print("\n" + "\n".join(TIMINGS))


# The hostile server itself -----------------------------------------------------------------------
# Checked on the wire first, so that a failure below points at the proxy, not at the server.

def raw_exchange(port: int, path: str, api_key: str, read_for: float = 0.3) -> tuple[bytes, str | None]:
    """Sends one GET and reads for `read_for` seconds: (bytes received, how the read ended)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_for) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: upstream\r\nAuthorization: Bearer {api_key}\r\n\r\n".encode())
        data, ended, deadline = b"", None, time.monotonic() + read_for
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                ended = "open"
                break
            except ConnectionResetError:
                ended = "reset"
                break
            if not chunk:
                ended = "closed"
                break
            data += chunk
        return data, ended


def test_hostile_server_on_the_wire(hostile, api_key):
    connection_id = "cxn_Wire1"
    path = path_for(connection_id)
    head = {"Authorization": f"Bearer {api_key}"}

    behaved = http_get(hostile.port, path, head)
    assert behaved.status == 200 and behaved.body == hostile.document(connection_id)
    assert json.loads(behaved.body)["data"]["id"] == connection_id
    assert behaved.header("Content-Type") == "application/json; charset=utf-8"
    assert behaved.header("Request-Id").startswith("req_")
    assert [behaved.header(n) for n in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")] == ["300", "299", "60"]
    assert (behaved.header("Persona-Environment-Id"), behaved.header("Persona-Organization-Id")) == ("env_hostile", "org_hostile")
    again = http_get(hostile.port, path, head)
    assert again.header("Request-Id") != behaved.header("Request-Id")
    hostile.bump_version()
    assert http_get(hostile.port, path, head).body == hostile.document(connection_id) != behaved.body
    assert http_get(hostile.port, path, {"Authorization": "Bearer other"}).status == 401
    assert hostile.requests[0].header("Authorization") == f"Bearer {api_key}"

    hostile.fault = "stall_after_head"
    data, ended = raw_exchange(hostile.port, path, api_key)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\n") and ended == "open", (data, ended)
    hostile.fault = "truncated_body"
    data, ended = raw_exchange(hostile.port, path, api_key)
    assert b"Content-Length: 500\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) == 100 and ended == "closed"
    hostile.fault = "reset_mid_body"
    data, ended = raw_exchange(hostile.port, path, api_key)
    assert data.startswith(b"HTTP/1.1 200 ") and ended == "reset", (data, ended)
    for fault, status in (("garbage_200", 200), ("wrong_id_200", 200), ("html_502", 502), ("html_503", 503),
                          ("ratelimit_huge", 429)):
        hostile.fault = fault
        result = http_get(hostile.port, path, head)
        assert result.status == status, fault
    assert result.header("RateLimit-Reset") == "1e300" and result.header("RateLimit-Remaining") == "0"
    with pytest.raises(ValueError):
        hostile.fault = "no_such_fault"

    # A stall held open is closed by stop(), promptly.
    hostile.fault = "stall_after_head"
    with socket.create_connection(("127.0.0.1", hostile.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nAuthorization: Bearer {api_key}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        hostile.stop()
        assert sock.recv(65536) == b"", "a stalled connection survived stop()"
        assert time.monotonic() - started < 1.0
    assert hostile.open_connections == 0 and not hostile.leftover_threads


# The proxy against every fault, cold and warm ----------------------------------------------------

CASES = [(temperature, fault) for fault in FAULTS for temperature in ("cold", "warm")]


@pytest.mark.parametrize(("temperature", "fault"), CASES, ids=[f"{t}-{f}" for t, f in CASES])
def test_hostile_upstream_fault(hostile, start_proxy, api_key, temperature, fault):
    assert set(COLD_STATUS) == set(FAULTS), "a fault without an expected status"
    connection_id = fresh_id(temperature)
    path = path_for(connection_id)
    proxy = start_proxy(hostile.base_url, **PROXY_ENV)

    old_body = None
    if temperature == "warm":
        first, _ = timed_get(proxy, path, "the first (healthy) fetch")
        assert first.status == 200 and first.body == hostile.document(connection_id), show(first)
        params = cache_status_params(first.header("Cache-Status"))
        assert "fwd=miss" in params and "stored" in params, first.header("Cache-Status")
        old_body = first.body
        # Persona's copy moves on, so the old document and the current one can be told apart.
        hostile.bump_version()
        # The one real sleep: the proxy is a real process, and the entry must expire in it.
        time.sleep(CACHE_TTL_SECONDS + 0.1)

    hostile.fault = fault
    calls_before = len(hostile.requests_for(path))
    during, elapsed, error = try_get(proxy, path)
    outcome = str(during.status) if during is not None else f"no answer ({error})"
    line = f"hostile: {temperature} {fault} -> {outcome} in {elapsed:.2f} s"
    print(line)
    TIMINGS.append(line)

    assert during is not None, no_answer(proxy, elapsed, error)
    assert elapsed <= ANSWER_BOUND_SECONDS, (
        f"answered after {elapsed:.2f} s (upstream timeout {UPSTREAM_TIMEOUT_SECONDS} s): {show(during)}")
    faulted_calls = hostile.requests_for(path)[calls_before:]
    assert faulted_calls, "the proxy did not ask the upstream while the fault was on"
    assert {r.fault for r in faulted_calls} == {fault}, [r.fault for r in faulted_calls]

    if temperature == "cold":
        document = assert_persona_error(during, COLD_STATUS[fault])
        assert b"<html" not in during.body.lower(), f"the upstream's HTML reached the caller: {during.body[:300]!r}"
        if fault in WRONG_200_FAULTS:
            details = document["errors"][0].get("details")
            assert isinstance(details, str) and details.strip(), f"the error does not say what was wrong: {document}"
    else:
        assert during.status == 200, show(during)
        assert during.body == old_body, f"not the stored copy: {show(during)}"
        params = cache_status_params(during.header("Cache-Status"))
        assert any(p.startswith("detail=stale-if-error") for p in params), during.header("Cache-Status")

    # The upstream behaves again: the caller gets what it serves now, so nothing bad was stored
    # (cold) and the expired copy was not kept as if fresh (warm).
    hostile.fault = None
    after, after_elapsed = timed_get(proxy, path, "the fetch after the fault was switched off")
    assert after.status == 200, show(after)
    assert after.body == hostile.document(connection_id), f"not the current document: {show(after)}"
    assert after_elapsed <= ANSWER_BOUND_SECONDS, f"the healthy fetch after the fault took {after_elapsed:.2f} s"
    if temperature == "cold":
        params = cache_status_params(after.header("Cache-Status"))
        assert "fwd=miss" in params, f"something was stored during the fault: {after.header('Cache-Status')}"
    else:
        assert after.body != old_body

    for request in hostile.requests_for(path):
        assert request.header("Authorization") == f"Bearer {api_key}", f"Authorization sent: {request.header('Authorization')!r}"
    assert_alive_and_healthy(proxy)


# Malformed rate-limit headers on a success -------------------------------------------------------

def test_malformed_rate_limit_headers_on_a_200_do_not_hurt(hostile, start_proxy):
    """Persona's documents are fine, but RateLimit-* carry values that break naive arithmetic
    (inf and 1e300 overflow an integer conversion, nan compares false with everything, -5 and
    "soon" are not counts): each header in turn and then all three at once, on distinct ids so
    that each one goes upstream. Every answer is still the 200, and the process survives."""
    proxy = start_proxy(hostile.base_url, **PROXY_ENV)
    cases = [(value, (name,)) for value in MALFORMED_RATE_LIMIT_VALUES for name in RATE_LIMIT_HEADERS]
    cases += [(value, RATE_LIMIT_HEADERS) for value in MALFORMED_RATE_LIMIT_VALUES]
    failures: list[str] = []

    for value, names in cases:
        hostile.rate_limit_override = {name: value for name in names}
        connection_id = fresh_id("ratelimit")
        result, elapsed, error = try_get(proxy, path_for(connection_id))
        label = f"{'+'.join(names)}: {value}"
        if result is None:
            failures.append(f"{label}: {no_answer(proxy, elapsed, error)}")
            if proxy.process.poll() is not None:
                break  # every later request would only be refused
        elif result.status != 200 or result.body != hostile.document(connection_id):
            failures.append(f"{label}: {show(result)}")
        elif elapsed > ANSWER_BOUND_SECONDS:
            failures.append(f"{label}: 200 after {elapsed:.2f} s")

    hostile.rate_limit_override = {}
    connection_id = fresh_id("normal")
    result, elapsed, error = try_get(proxy, path_for(connection_id))
    if result is None:
        failures.append(f"healthy headers: {no_answer(proxy, elapsed, error)}")
    elif result.status != 200 or result.body != hostile.document(connection_id):
        failures.append(f"healthy headers: {show(result)}")

    assert not failures, "\n".join(failures) + f"\n{describe_process(proxy)}"
    assert_alive_and_healthy(proxy)
