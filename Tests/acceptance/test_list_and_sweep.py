"""The connection list through the proxy, and the sweep that holds cached connections against it,
checked against the separately written fake: Persona's bytes, cached and coalesced; a status
changed where no API call shows it is served changed within one sweep interval while the TTL is an
hour; and the sweep never makes a caller's miss wait when budget is short."""

from __future__ import annotations

import json
import threading
import time

from conftest import assert_persona_error, cache_status_params, http_get

LIST = "/api/v1/connect/connections"
ACTIVE = "cxn_Active7Qm2"


def direct(fake, path: str) -> bytes:
    result = http_get(fake.port, path, {"Authorization": f"Bearer {fake.api_key}"})
    assert result.status == 200, result.body
    return result.body


def status_of(body: bytes) -> str:
    return json.loads(body)["data"]["attributes"]["status"]


def sweep_calls(fake) -> list:
    return [r for r in fake.requests if "caller=persona-proxy/sweep" in (r.header("User-Agent") or "")]


def test_list_pages_are_the_fakes_bytes_cached_per_query_and_coalesced(fake, start_proxy):
    proxy = start_proxy(fake.base_url, SWEEP_INTERVAL_SECONDS="0")
    first_page = f"{LIST}?page%5Bsize%5D=2"
    expected = direct(fake, first_page)
    next_link = json.loads(expected)["links"]["next"]
    assert next_link is not None, "the fake has more than two connections"
    expected_next = direct(fake, next_link)
    fake.clear_requests()

    miss = proxy.get(first_page)
    assert miss.status == 200 and miss.body == expected
    assert "fwd=miss" in cache_status_params(miss.header("Cache-Status"))
    # The relative link works against the proxy's base URL, and is its own cached page.
    following = proxy.get(next_link)
    assert following.status == 200 and following.body == expected_next
    hit = proxy.get(first_page)
    assert hit.body == expected and "hit" in cache_status_params(hit.header("Cache-Status"))
    assert len(fake.requests) == 2, "one call per page, none for the hit"

    # Eight callers ask for a page nobody has cached while Persona is slow: one call.
    fake.get_latency = 1.0
    fake.clear_requests()
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(proxy.get(f"{LIST}?filter%5Bstatus%5D=active"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fake.get_latency = None
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert len(fake.requests) == 1, f"{len(fake.requests)} calls for one page"


def test_malformed_list_requests_are_refused_before_any_call(fake, start_proxy):
    proxy = start_proxy(fake.base_url, SWEEP_INTERVAL_SECONDS="0")
    for query in ("page%5Bsize%5D=0", "page%5Bsize%5D=101", "page%5Bsize%5D=ten", "filter%5Bcolour%5D=red",
                  "filter%5Bstatus%5D=a%20b", "page%5Bafter%5D=cxn%2F..%2Fx"):
        assert_persona_error(proxy.get(f"{LIST}?{query}"), 400)
    assert fake.requests == []


def test_a_write_through_the_proxy_drops_cached_pages(fake, start_proxy):
    proxy = start_proxy(fake.base_url, SWEEP_INTERVAL_SECONDS="0")
    before = proxy.get(f"{LIST}?filter%5Bstatus%5D=active")
    assert ACTIVE in before.body.decode()
    assert proxy.post(f"{LIST}/{ACTIVE}/deactivate").status == 200
    after = proxy.get(f"{LIST}?filter%5Bstatus%5D=active")
    assert "fwd=miss" in cache_status_params(after.header("Cache-Status"))
    assert ACTIVE not in after.body.decode()


def test_a_status_changed_behind_the_api_is_served_changed_within_one_sweep_interval(fake, start_proxy):
    interval = 2.0
    proxy = start_proxy(fake.base_url, CACHE_TTL_SECONDS="3600", SWEEP_INTERVAL_SECONDS=str(interval),
                        SWEEP_MAX_BUDGET_FRACTION="0.5")
    assert status_of(proxy.get(f"{LIST}/{ACTIVE}").body) == "active"
    assert status_of(proxy.get(f"{LIST}/cxn_ABC123").body) == "pending"
    fake.set_status(ACTIVE, "inactive")
    changed_at = time.monotonic()
    seen = None
    while time.monotonic() - changed_at < interval + 5:
        body = proxy.get(f"{LIST}/{ACTIVE}").body
        if status_of(body) == "inactive":
            seen = time.monotonic() - changed_at
            break
        time.sleep(0.1)
    assert seen is not None, "the change was never served"
    # One interval, plus the time one page takes (well under a second here).
    assert seen <= interval + 1.0, f"visible after {seen:.2f} s"
    # Once that walk is complete, the unchanged connection is served from the cache, confirmed by it.
    deadline = time.monotonic() + 5
    while json.loads(proxy.get("/admin/sweep").body)["data"].get("last_complete") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    unchanged = proxy.get(f"{LIST}/cxn_ABC123")
    assert "detail=revalidated-by-sweep" in cache_status_params(unchanged.header("Cache-Status"))
    assert int(unchanged.header("Age")) <= interval + 1
    admin = json.loads(proxy.get("/admin/sweep").body)["data"]
    assert admin["last_complete"]["changed"] >= 1 and admin["last_complete"]["pages"] >= 1
    assert proxy.metric("persona_proxy_sweep_changes_total") >= 1
    assert proxy.metric("persona_proxy_sweep_last_complete_age_seconds") <= interval + 1
    assert len(sweep_calls(fake)) >= 1


def test_the_sweep_never_makes_a_callers_miss_wait_when_budget_is_short(fake, start_proxy):
    # Six calls a minute, five of them needed below: the sweep's share (0.1) is one call per window.
    fake.rate_limit = 6
    proxy = start_proxy(fake.base_url, CACHE_TTL_SECONDS="3600", SWEEP_INTERVAL_SECONDS="1",
                        RATE_LIMIT_MAX_WAIT_SECONDS="2", RATE_LIMIT_RESERVE_FRACTION="0")
    assert proxy.get(f"{LIST}/cxn_ABC123").status == 200
    time.sleep(1.5)  # the sweep's first walk is due: its one call per window goes out
    misses = [proxy.get(f"{LIST}/{cid}") for cid in ("cxn_Active7Qm2", "cxn_Inactive9Zx", "cxn_Novel3Status")]
    assert [m.status for m in misses] == [200, 200, 200]
    assert max(m.elapsed for m in misses) < 1.0, [round(m.elapsed, 3) for m in misses]
    for miss in misses:
        assert "fwd=miss" in cache_status_params(miss.header("Cache-Status"))
    time.sleep(1.5)  # more walks fall due within the same minute: they must wait, not spend
    assert len(sweep_calls(fake)) == 1, [r.path for r in sweep_calls(fake)]
