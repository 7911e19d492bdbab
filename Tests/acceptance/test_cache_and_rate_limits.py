"""Acceptance tests of the cache semantics and the rate-limit governor: the real persona-proxy binary
in front of the independently written fake Persona (fake_persona.py).

  1. a 429 with RateLimit-Reset: 2 is waited out, and nothing goes upstream before the reset
  2. 200 concurrent misses for one id -> one upstream call, 199 `collapsed`
  3. stale-if-error: an expired entry is served when Persona refuses connections
  4. only-if-cached for an uncached id -> 504, no upstream call
  5. stale-while-revalidate: served at once, one background refresh, then a hit with the new Request-Id
  6. a reset beyond RATE_LIMIT_MAX_WAIT_SECONDS -> the proxy's own 429 at once, with Retry-After
  7. deactivate is forwarded with an Idempotency-Key and purges every cached variant; a retrieve
     still in flight when the deactivate succeeds must not put the old status back in the cache

Run: python3 -m pytest Tests/acceptance/test_cache_and_rate_limits.py -q   (~15 s)
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from conftest import HTTPResult, assert_persona_error, cache_status_params

CONNECTIONS = "/api/v1/connect/connections"


def path_for(connection_id: str) -> str:
    return f"{CONNECTIONS}/{connection_id}"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def concurrent_gets(port: int, path: str, count: int, headers: dict[str, str] | None = None,
                    timeout: float = 30.0) -> list[tuple[HTTPResult, float]]:
    """`count` GETs at once, one thread and one connection each. Connections are opened before a
    barrier releases every thread together, so connect time does not spread the requests out.
    Returns (result, monotonic time the request was sent) per request."""
    connections = []
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.connect()
        connections.append(connection)
    barrier = threading.Barrier(count)
    results: list[tuple[HTTPResult, float] | BaseException | None] = [None] * count

    def run(index: int) -> None:
        connection = connections[index]
        try:
            barrier.wait(timeout=timeout)
            sent = time.monotonic()
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            results[index] = (HTTPResult(response.status, response.getheaders(), body, time.monotonic() - sent), sent)
        except BaseException as error:  # reported below, with the others
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)
    failures = [r for r in results if not isinstance(r, tuple)]
    assert not failures, f"{len(failures)} of {count} requests failed in the client, first: {failures[0]!r}"
    return results  # type: ignore[return-value]


# 1 ---------------------------------------------------------------------------------------------

def test_429_with_reset_is_waited_out_without_calling_before_the_reset(fake, start_proxy):
    connection_id = "cxn_Active7Qm2"
    fake.force_rate_limited(1, reset=2)
    proxy = start_proxy(fake.base_url)

    result = proxy.get(path_for(connection_id), timeout=15)

    assert result.status == 200, f"{result.status} {result.body[:300]!r} Cache-Status: {result.header('Cache-Status')}"
    assert result.body == fake.connection_body(connection_id)
    assert 1.8 <= result.elapsed <= 4.0, f"the 200 came after {result.elapsed:.2f} s (RateLimit-Reset was 2)"
    calls = fake.requests
    assert [(r.path, r.status) for r in calls] == [(path_for(connection_id), 429), (path_for(connection_id), 200)], (
        [(r.method, r.path, r.status) for r in calls])
    rate_limited, retried = calls
    gap = retried.received_monotonic - rate_limited.answered_monotonic
    assert gap >= 2.0, f"the retry reached Persona {gap:.3f} s after the 429 (RateLimit-Reset: 2)"


# 2 ---------------------------------------------------------------------------------------------

def test_200_concurrent_misses_make_one_upstream_call(fake, start_proxy):
    connection_id = "cxn_ABC123"
    path = path_for(connection_id)
    fake.latency = 0.3
    proxy = start_proxy(fake.base_url)

    results = concurrent_gets(proxy.port, path, 200)

    upstream = fake.requests_for(path)
    assert len(upstream) == 1, f"the fake saw {len(upstream)} calls for {path}"
    last_sent = max(sent for _, sent in results)
    # Not a check of the proxy: every request must have left the client while the fetch ran.
    assert last_sent < upstream[0].answered_monotonic, "test client too slow: a request was sent after the fetch ended"
    statuses = [r.status for r, _ in results]
    assert statuses == [200] * 200, {s: statuses.count(s) for s in set(statuses)}
    bodies = {r.body for r, _ in results}
    assert bodies == {fake.connection_body(connection_id)}, f"{len(bodies)} distinct bodies"
    cache_statuses = [r.header("Cache-Status") for r, _ in results]
    leaders = [v for v in cache_statuses if "collapsed" not in cache_status_params(v)]
    assert len(leaders) == 1, f"{len(leaders)} responses without `collapsed`: {sorted(set(leaders))[:5]}"
    assert {"fwd=miss", "stored"} <= set(cache_status_params(leaders[0])), leaders[0]
    request_ids = {r.header("Request-Id") for r, _ in results}
    assert request_ids == {upstream[0].request_id}, request_ids


# 3 ---------------------------------------------------------------------------------------------

def test_expired_entry_served_when_persona_refuses_connections(fake, start_proxy):
    connection_id = "cxn_ABC123"
    proxy = start_proxy(fake.base_url, CACHE_TTL_SECONDS="1", CACHE_STALE_WHILE_REVALIDATE_SECONDS="0")
    first = proxy.get(path_for(connection_id))
    assert first.status == 200 and "stored" in cache_status_params(first.header("Cache-Status")), first.header("Cache-Status")
    time.sleep(1.3)  # expired, and no stale-while-revalidate window
    fake.stop()

    result = proxy.get(path_for(connection_id), timeout=30)

    cache_status = result.header("Cache-Status")
    assert result.status == 200, f"{result.status} {result.body[:300]!r} Cache-Status: {cache_status}"
    assert result.body == first.body
    assert "fwd=stale" in cache_status_params(cache_status), cache_status
    assert "stale-if-error" in cache_status, cache_status


# 4 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("connection_id", ["cxn_Active7Qm2", "cxn_Unknown42"], ids=["known-to-persona", "unknown"])
def test_only_if_cached_for_an_uncached_id_is_504_without_upstream_call(fake, start_proxy, connection_id):
    proxy = start_proxy(fake.base_url)
    result = proxy.get(path_for(connection_id), {"Cache-Control": "only-if-cached"})
    assert_persona_error(result, 504)
    assert fake.requests == [], f"the fake saw {[(r.method, r.path) for r in fake.requests]}"


# 5 ---------------------------------------------------------------------------------------------

def test_stale_while_revalidate_serves_at_once_and_refreshes_once(fake, start_proxy):
    connection_id = "cxn_ABC123"
    path = path_for(connection_id)
    proxy = start_proxy(fake.base_url, CACHE_TTL_SECONDS="1", CACHE_STALE_WHILE_REVALIDATE_SECONDS="60")
    first = proxy.get(path)
    assert first.status == 200 and "stored" in cache_status_params(first.header("Cache-Status"))
    time.sleep(1.3)  # expired, well inside the 60 s stale-while-revalidate window
    fake.latency = 0.5

    quick = [proxy.get(path) for _ in range(5)]

    for index, result in enumerate(quick):
        cache_status = result.header("Cache-Status")
        assert result.status == 200, f"request {index}: {result.status} {result.body[:200]!r}"
        assert result.body == first.body, f"request {index}: not the stored body"
        assert result.elapsed < 0.1, f"request {index} took {result.elapsed * 1000:.0f} ms (Cache-Status: {cache_status})"
        assert "stale-while-revalidate" in cache_status, f"request {index}: Cache-Status {cache_status}"

    wait_for(lambda: len(fake.requests_for(path)) >= 2 and fake.requests_for(path)[1].status is not None, 5,
             "the background refresh to reach the fake")
    time.sleep(0.2)  # the proxy stores the refreshed entry (fresh for 1 s)
    later = proxy.get(path)

    calls = fake.requests_for(path)
    assert len(calls) == 2, f"expected one miss and exactly one refresh, the fake saw {len(calls)} calls"
    refresh = calls[1]
    assert refresh.status == 200
    later_status = cache_status_params(later.header("Cache-Status"))
    assert later.status == 200 and "hit" in later_status, later.header("Cache-Status")
    assert not any(p.startswith(("fwd=", "detail=")) for p in later_status), later.header("Cache-Status")
    assert later.header("Request-Id") == refresh.request_id, (
        f"Request-Id {later.header('Request-Id')!r} is not the refresh's {refresh.request_id!r} "
        f"(the miss was {calls[0].request_id!r})")


# 6 ---------------------------------------------------------------------------------------------

def test_reset_beyond_max_wait_gives_429_at_once_with_retry_after(fake, start_proxy):
    fake.force_rate_limited(1, reset=30)
    proxy = start_proxy(fake.base_url, RATE_LIMIT_MAX_WAIT_SECONDS="2")

    result = proxy.get(path_for("cxn_Active7Qm2"), timeout=15)

    assert_persona_error(result, 429)
    assert result.elapsed < 1.0, f"the 429 took {result.elapsed:.2f} s"
    values = {name: result.header(name) for name in ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}
    for name, value in values.items():
        assert value is not None and value.isdigit(), f"{name}: {value!r} (headers {result.headers})"
    assert 1 <= int(values["Retry-After"]) <= 31, values
    assert int(values["RateLimit-Remaining"]) == 0, values
    assert int(values["RateLimit-Limit"]) == fake.rate_limit, values
    assert len(fake.requests) == 1, [(r.path, r.status) for r in fake.requests]

    # Another cold id while the window is closed: refused at once, Persona not called again.
    other = proxy.get(path_for("cxn_Inactive9Zx"), timeout=15)
    assert_persona_error(other, 429)
    assert other.elapsed < 1.0, f"the second 429 took {other.elapsed:.2f} s"
    assert len(fake.requests) == 1, [(r.path, r.status) for r in fake.requests]


# 7 ---------------------------------------------------------------------------------------------

def test_deactivate_forwarded_with_idempotency_key_and_purges_cached_variants(fake, start_proxy):
    connection_id = "cxn_Active7Qm2"
    path = path_for(connection_id)
    proxy = start_proxy(fake.base_url)
    variants = [{}, {"Key-Inflection": "camel"}]
    for headers in variants:
        assert "fwd=miss" in cache_status_params(proxy.get(path, headers).header("Cache-Status"))
        assert "hit" in cache_status_params(proxy.get(path, headers).header("Cache-Status"))
    assert len(fake.requests_for(path)) == 2

    result = proxy.post(f"{path}/deactivate")

    assert result.status == 200, f"{result.status} {result.body[:300]!r}"
    assert result.json()["data"]["attributes"]["status"] == "inactive", result.body
    posts = [r for r in fake.requests if r.method == "POST"]
    assert [(r.path, r.status) for r in posts] == [(f"{path}/deactivate", 200)]
    key = posts[0].idempotency_key
    assert key and key.strip(), f"the proxy sent no Idempotency-Key: {posts[0].headers}"

    for headers in variants:
        after = proxy.get(path, headers)
        assert after.status == 200
        assert "fwd=miss" in cache_status_params(after.header("Cache-Status")), (
            f"{headers or 'default'} variant not purged: {after.header('Cache-Status')}")
        assert b"inactive" in after.body, after.body
    assert len(fake.requests_for(path)) == 4


def test_callers_idempotency_key_is_forwarded_unchanged(fake, start_proxy):
    path = path_for("cxn_Inactive9Zx")
    proxy = start_proxy(fake.base_url)
    result = proxy.post(f"{path}/reactivate", headers={"Idempotency-Key": "caller-key-7f3a"})
    assert result.status == 200, f"{result.status} {result.body[:300]!r}"
    assert json.loads(result.body)["data"]["attributes"]["status"] == "pending"
    assert fake.idempotency_keys() == ["caller-key-7f3a"]


def test_retrieve_in_flight_during_deactivate_does_not_cache_the_old_status(fake, start_proxy):
    """A miss that Persona answered from before the deactivate must not refill the purged cache: after a
    successful deactivate, a caller must not read the old status back through the proxy."""
    connection_id = "cxn_Active7Qm2"
    path = path_for(connection_id)
    proxy = start_proxy(fake.base_url)
    # One answer first, so the governor knows the budget: with it unknown, the POST would wait for the
    # GET (one probe at a time) and the two would not overlap.
    assert proxy.get(path_for("cxn_ABC123")).status == 200
    fake.get_latency = 1.0  # the retrieve reads `active` on arrival and answers a second later
    in_flight: list[HTTPResult] = []
    reader = threading.Thread(target=lambda: in_flight.append(proxy.get(path, timeout=15)), daemon=True)
    reader.start()
    wait_for(lambda: fake.requests_for(path), 5, "the retrieve to reach the fake")

    deactivated = proxy.post(f"{path}/deactivate")
    assert deactivated.status == 200 and b'"inactive"' in deactivated.body, deactivated.body
    reader.join(15)
    assert in_flight and in_flight[0].status == 200 and b'"active"' in in_flight[0].body  # it asked before the write
    get, post = fake.requests_for(path)[0], fake.requests_for(f"{path}/deactivate")[0]
    assert post.answered_monotonic < get.answered_monotonic, "not the scenario: the deactivate did not overlap the retrieve"

    after = proxy.get(path, timeout=15)
    assert b'"inactive"' in after.body, (
        f"the old status was served after a successful deactivate: Cache-Status {after.header('Cache-Status')!r}, "
        f"body {after.body!r}")
