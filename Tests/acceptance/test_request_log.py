"""Acceptance tests of the request-ID log (issue 5): the real persona-proxy binary in front of the fake
Persona, checked through `GET /admin/requests…`, `persona-proxy requests` and the SQLite file itself.

Run: python3 -m pytest Tests/acceptance/test_request_log.py -q
"""

from __future__ import annotations

import calendar
import json
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from conftest import assert_persona_error, cache_status_params, clean_env

CONNECTION = "cxn_ABC123"
CONNECTION_PATH = f"/api/v1/connect/connections/{CONNECTION}"
# Text that only the fake's body for cxn_ABC123 contains (its destination organization and created-at).
BODY_ONLY_TEXT = (b"org_XYZ789", b"2018-06-01T00:00:00.000Z")
CALLER_SECRET = "caller-secret-token"

# The request_log.* settings, pinned so that a developer's shell cannot change a result
# (conftest scrubs the other configuration variables, not these).
REQUEST_LOG_ENV = {
    "REQUEST_LOG_RECORD_HITS": "true", "REQUEST_LOG_RETENTION_DAYS": "30", "REQUEST_LOG_MAX_ROWS": "10000000",
}


@pytest.fixture
def start(start_proxy, fake):
    """start(**env) -> a proxy in front of the fake, hit logging on unless env says otherwise."""
    def run(**env: str):
        return start_proxy(fake.base_url, **{**REQUEST_LOG_ENV, **env})
    return run


def sigterm(proxy, timeout: float = 10.0) -> None:
    """SIGTERM, wait for the exit, require 0."""
    proxy.process.send_signal(signal.SIGTERM)
    try:
        code = proxy.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"persona-proxy did not exit within {timeout} s of SIGTERM")
    assert code == 0, f"exit code {code}; stderr: {proxy.stderr_path.read_text(errors='replace')[-2000:]}"


def admin(proxy, path: str) -> dict:
    result = proxy.get(path)
    assert result.status == 200, f"GET {path}: {result.status} {result.body[:500]!r}"
    assert (result.header("Content-Type") or "").startswith("application/json"), result.header("Content-Type")
    return result.json()


def admin_list(proxy, query: str = "") -> list[dict]:
    document = admin(proxy, "/admin/requests" + (f"?{query}" if query else ""))
    assert set(document) == {"data", "links"}, document
    return document["data"]


def wait_for_rows(proxy, query: str, count: int, timeout: float = 3.0) -> list[dict]:
    """Hit rows are written in 100 ms batches: poll the admin API until `count` rows match."""
    deadline = time.monotonic() + timeout
    while True:
        rows = admin_list(proxy, query)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def db_rows(db_path: Path, sql: str, parameters: tuple = ()) -> list[tuple]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute(sql, parameters).fetchall()


def run_cli(binary: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "requests", *arguments], cwd=cwd, capture_output=True, text=True, timeout=30,
                          env=clean_env())


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# 1 ---------------------------------------------------------------------------------------------

def test_persona_request_id_finds_the_caller(fake, start):
    proxy = start()
    miss = proxy.get(CONNECTION_PATH, {"X-Client-Name": "billing-service"})
    assert miss.status == 200 and "fwd=miss" in cache_status_params(miss.header("Cache-Status"))
    proxy_request_id = miss.header("X-Request-Id")
    assert proxy_request_id, "no X-Request-Id on the miss"

    calls = fake.requests_for(CONNECTION_PATH)
    assert len(calls) == 1, f"the fake saw {len(calls)} calls"
    persona_request_id = calls[0].request_id
    assert miss.header("Request-Id") == persona_request_id
    user_agent = calls[0].header("User-Agent") or ""
    assert "caller=billing-service" in user_agent, f"User-Agent: {user_agent!r}"
    assert f"request-id={proxy_request_id}" in user_agent, f"User-Agent: {user_agent!r} (X-Request-Id {proxy_request_id})"
    assert user_agent.startswith("persona-proxy/"), user_agent

    found = admin_list(proxy, f"persona_request_id={persona_request_id}")
    assert len(found) == 1, f"{len(found)} records for {persona_request_id}: {found}"
    record = found[0]
    assert record["request_id"] == proxy_request_id
    assert record["caller"] == "billing-service"
    assert (record["method"], record["path"], record["connection_id"]) == ("GET", CONNECTION_PATH, CONNECTION)
    assert (record["cache_outcome"], record["status"], record["persona_request_id"]) == ("miss", 200, persona_request_id)
    assert [(a["attempt"], a["persona_request_id"], a["status"]) for a in record["attempts"]] == [(1, persona_request_id, 200)]

    single = admin(proxy, f"/admin/requests/{proxy_request_id}")
    assert single == {"data": record}, single
    assert admin_list(proxy, "persona_request_id=req_000000000000000000000000") == []


# 2 ---------------------------------------------------------------------------------------------

def test_cli_reads_the_log_with_the_proxy_stopped(fake, start, binary, tmp_path):
    proxy = start()
    miss = proxy.get(CONNECTION_PATH, {"X-Client-Name": "billing-service"})
    assert miss.status == 200
    proxy_request_id = miss.header("X-Request-Id")
    persona_request_id = miss.header("Request-Id")
    assert proxy_request_id and persona_request_id
    sigterm(proxy)
    database = tmp_path / "requests.sqlite"

    table = run_cli(binary, tmp_path, "--db", str(database), "--persona-request-id", persona_request_id)
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if line.strip()]
    assert len(lines) == 2, f"expected a header and one row:\n{table.stdout}"
    assert "REQUEST ID" in lines[0] and "CALLER" in lines[0], lines[0]
    assert proxy_request_id in lines[1] and "billing-service" in lines[1], lines[1]
    assert persona_request_id in lines[1] and CONNECTION in lines[1], lines[1]

    as_json = run_cli(binary, tmp_path, "--db", str(database), "--persona-request-id", persona_request_id, "--json")
    assert as_json.returncode == 0, as_json.stderr
    json_lines = as_json.stdout.splitlines()
    assert len(json_lines) == 1, as_json.stdout
    record = json.loads(json_lines[0])
    assert record["request_id"] == proxy_request_id and record["caller"] == "billing-service"
    assert record["persona_request_id"] == persona_request_id
    assert [(a["attempt"], a["persona_request_id"], a["status"]) for a in record["attempts"]] == [(1, persona_request_id, 200)]

    nothing = run_cli(binary, tmp_path, "--db", str(database), "--caller", "nobody", "--json")
    assert (nothing.returncode, nothing.stdout) == (0, ""), (nothing.returncode, nothing.stdout)


def test_cli_exits_66_without_a_database(binary, tmp_path):
    missing = tmp_path / "no-such.sqlite"
    result = run_cli(binary, tmp_path, "--db", str(missing))
    assert result.returncode == 66, (result.returncode, result.stdout, result.stderr)
    assert str(missing) in result.stderr, result.stderr
    assert not missing.exists(), "requests created the database it was asked to read"


# 3 ---------------------------------------------------------------------------------------------

def test_hits_recorded_and_flushed_on_sigterm(fake, start, tmp_path):
    proxy = start()
    headers = {"X-Client-Name": "hit-counter"}
    miss = proxy.get(CONNECTION_PATH, headers)
    assert miss.status == 200 and "fwd=miss" in cache_status_params(miss.header("Cache-Status"))
    persona_request_id = miss.header("Request-Id")
    hit_ids = []
    for _ in range(20):
        hit = proxy.get(CONNECTION_PATH, headers)
        assert hit.status == 200 and "hit" in cache_status_params(hit.header("Cache-Status")), hit.header("Cache-Status")
        hit_ids.append(hit.header("X-Request-Id"))
    sigterm(proxy)  # at once: the last hits are still queued for the batched writer

    rows = db_rows(tmp_path / "requests.sqlite",
                   "SELECT request_id, cache_outcome, persona_request_id, caller, status FROM request_log "
                   "WHERE connection_id = ? ORDER BY id", (CONNECTION,))
    outcomes = [row[1] for row in rows]
    assert len(rows) == 21, f"{len(rows)} rows after SIGTERM (expected 21): outcomes {outcomes}"
    assert rows[0][:3] == (miss.header("X-Request-Id"), "miss", persona_request_id), rows[0]
    hits = rows[1:]
    assert [row[1] for row in hits] == ["hit"] * 20, outcomes
    assert [row[0] for row in hits] == hit_ids, "hit rows are not the hits' X-Request-Ids, in order"
    assert all(row[2] == persona_request_id for row in hits), (
        f"hit rows must name the miss's Request-Id {persona_request_id}: {sorted({row[2] for row in hits}, key=str)}")
    assert all(row[3:] == ("hit-counter", 200) for row in hits), hits
    assert len(fake.requests_for(CONNECTION_PATH)) == 1


# 4 ---------------------------------------------------------------------------------------------

def test_record_hits_false_keeps_only_calls_to_persona(fake, start, tmp_path):
    proxy = start(REQUEST_LOG_RECORD_HITS="false")
    miss = proxy.get(CONNECTION_PATH)
    assert miss.status == 200 and "fwd=miss" in cache_status_params(miss.header("Cache-Status"))
    for _ in range(5):
        hit = proxy.get(CONNECTION_PATH)
        assert hit.status == 200 and "hit" in cache_status_params(hit.header("Cache-Status"))
    sigterm(proxy)

    rows = db_rows(tmp_path / "requests.sqlite", "SELECT request_id, cache_outcome FROM request_log")
    assert rows == [(miss.header("X-Request-Id"), "miss")], f"rows with record_hits=false: {rows}"


# 5 ---------------------------------------------------------------------------------------------

def test_admin_filters_and_pagination(fake, start):
    proxy = start()
    alpha = proxy.get(CONNECTION_PATH, {"X-Client-Name": "alpha"})
    beta = proxy.get("/api/v1/connect/connections/cxn_Active7Qm2", {"X-Client-Name": "beta"})
    missing = proxy.get("/api/v1/connect/connections/cxn_Unknown42", {"X-Client-Name": "beta"})
    assert (alpha.status, beta.status, missing.status) == (200, 200, 404)
    early = [alpha, beta, missing]

    # A whole-second boundary between the first three requests and the next five.
    boundary = int(time.time()) + 1
    time.sleep(boundary - time.time() + 0.05)
    pages_of = [proxy.get(CONNECTION_PATH, {"X-Client-Name": "pager"}) for _ in range(5)]  # hits, batched
    assert all(r.status == 200 for r in pages_of)
    late_ids = [r.header("X-Request-Id") for r in reversed(pages_of)]  # newest first
    assert len(wait_for_rows(proxy, "caller=pager", 5)) == 5

    everything = admin_list(proxy)
    assert [r["request_id"] for r in everything] == late_ids + [r.header("X-Request-Id") for r in reversed(early)]
    assert [r["id"] for r in everything] == sorted((r["id"] for r in everything), reverse=True), "not newest first"

    def ids(query: str) -> list[str]:
        return [r["request_id"] for r in admin_list(proxy, query)]

    assert ids(f"request_id={beta.header('X-Request-Id')}") == [beta.header("X-Request-Id")]
    assert ids("connection_id=cxn_Active7Qm2") == [beta.header("X-Request-Id")]
    assert ids("caller=beta") == [missing.header("X-Request-Id"), beta.header("X-Request-Id")]
    assert ids("status=404") == [missing.header("X-Request-Id")]
    assert ids("caller=beta&status=200") == [beta.header("X-Request-Id")]
    assert ids(f"since={quote(iso(boundary))}") == late_ids
    assert ids(f"until={quote(iso(boundary))}") == [r.header("X-Request-Id") for r in reversed(early)]
    assert ids(f"since={quote(iso(boundary - 3600))}&until={quote(iso(boundary))}&caller=alpha") == [alpha.header("X-Request-Id")]
    assert ids(f"since={quote(iso(boundary + 3600))}") == []
    assert ids("caller=nobody") == []

    # limit + links.next: 3 pages of 2 over the 5 pager requests.
    seen: list[str] = []
    path = "/admin/requests?caller=pager&limit=2"
    pages = []
    while path is not None:
        document = admin(proxy, path)
        pages.append([r["request_id"] for r in document["data"]])
        seen += pages[-1]
        path = document["links"]["next"]
        if path is not None:
            assert path.startswith("/admin/requests?"), path
            query = parse_qs(urlsplit(path).query)
            assert query.get("caller") == ["pager"] and query.get("limit") == ["2"] and "before" in query, path
        assert len(pages) <= 3, f"more than 3 pages: {pages}"
    assert [len(p) for p in pages] == [2, 2, 1], pages
    assert seen == late_ids, f"pages {pages} are not the 5 pager requests newest first, once each"

    for bad in ("status=abc", "since=yesterday", "until=tomorrow", "limit=abc", "before=abc"):
        result = proxy.get(f"/admin/requests?{bad}")
        document = assert_persona_error(result, 400)
        name = bad.split("=")[0]
        assert any(name in (e.get("details", "") + e["title"]) for e in document["errors"]), (
            f"the 400 for {bad} does not name {name}: {document}")


def test_since_accepts_a_records_own_received_at(fake, start):
    """The received_at the log shows (ms precision) can be pasted back as since/until."""
    proxy = start()
    first = proxy.get(CONNECTION_PATH, {"X-Client-Name": "paste"})
    second = proxy.get("/api/v1/connect/connections/cxn_Active7Qm2", {"X-Client-Name": "paste"})
    records = admin_list(proxy, "caller=paste")
    assert [r["request_id"] for r in records] == [second.header("X-Request-Id"), first.header("X-Request-Id")]
    oldest = records[-1]["received_at"]
    since = [r["request_id"] for r in admin_list(proxy, f"caller=paste&since={quote(oldest)}")]
    assert first.header("X-Request-Id") in since, (
        f"since={oldest} (the record's own received_at) leaves the record out: {since}")


# 6 ---------------------------------------------------------------------------------------------

def test_persona_log_joins_personas_api_log_and_keeps_a_copy(fake, start, api_key):
    proxy = start()
    miss = proxy.get(CONNECTION_PATH, {"X-Client-Name": "support-desk"})
    assert miss.status == 200
    proxy_request_id = miss.header("X-Request-Id")
    persona_request_id = miss.header("Request-Id")
    api_log_path = f"/api/v1/api-logs/{persona_request_id}"
    expected_api_log = json.loads(fake.api_log_body(persona_request_id))

    first = admin(proxy, f"/admin/requests/{proxy_request_id}/persona-log")
    assert set(first) == {"data"} and set(first["data"]) == {"request", "persona_api_logs"}, first
    assert first["data"]["request"] == admin(proxy, f"/admin/requests/{proxy_request_id}")["data"]
    assert first["data"]["persona_api_logs"] == [{
        "persona_request_id": persona_request_id, "status": 200, "source": "persona", "api_log": expected_api_log,
    }], first["data"]["persona_api_logs"]
    user_agent = first["data"]["persona_api_logs"][0]["api_log"]["data"]["attributes"]["request"]["headers"]["User-Agent"]
    assert "caller=support-desk" in user_agent and f"request-id={proxy_request_id}" in user_agent, user_agent

    calls = fake.requests_for(api_log_path)
    assert len(calls) == 1, f"{len(calls)} calls to {api_log_path}"
    assert calls[0].method == "GET" and calls[0].header("Authorization") == f"Bearer {api_key}"

    second = admin(proxy, f"/admin/requests/{proxy_request_id}/persona-log")
    assert second["data"]["persona_api_logs"] == [{
        "persona_request_id": persona_request_id, "status": 200, "source": "copy", "api_log": expected_api_log,
    }], second["data"]["persona_api_logs"]
    assert len(fake.requests_for(api_log_path)) == 1, "the second lookup called Persona again"

    before = len(fake.requests)
    for path in ("/admin/requests/ppx_no-such-request/persona-log", "/admin/requests/ppx_no-such-request"):
        assert_persona_error(proxy.get(path), 404)
    assert len(fake.requests) == before, "an unknown request id caused a call to Persona"


def test_persona_log_of_a_hit_and_after_personas_retention(fake, start):
    proxy = start()
    miss = proxy.get(CONNECTION_PATH)
    hit = proxy.get(CONNECTION_PATH)
    persona_request_id = miss.header("Request-Id")
    assert "hit" in cache_status_params(hit.header("Cache-Status"))
    wait_for_rows(proxy, f"request_id={hit.header('X-Request-Id')}", 1)

    # A hit made no call: the join shows the entry of the fetch behind the bytes it served.
    joined = admin(proxy, f"/admin/requests/{hit.header('X-Request-Id')}/persona-log")["data"]
    assert joined["request"]["cache_outcome"] == "hit" and joined["request"]["attempts"] == []
    assert [(e["persona_request_id"], e["status"], e["source"]) for e in joined["persona_api_logs"]] == [
        (persona_request_id, 200, "persona")], joined["persona_api_logs"]

    # Persona no longer has an entry (two-week retention): its 404 is passed on inside the join.
    other = proxy.get("/api/v1/connect/connections/cxn_Active7Qm2")
    fake.forget_api_logs()
    gone = admin(proxy, f"/admin/requests/{other.header('X-Request-Id')}/persona-log")["data"]["persona_api_logs"]
    assert len(gone) == 1, gone
    assert (gone[0]["persona_request_id"], gone[0]["status"]) == (other.header("Request-Id"), 404), gone
    assert "api_log" not in gone[0] and gone[0].get("error") == {"errors": [{"title": "Record not found"}]}, gone


# 7 ---------------------------------------------------------------------------------------------

def test_request_log_keeps_no_secret_and_no_body(fake, start, api_key, tmp_path):
    proxy = start()
    headers = {"Authorization": f"Bearer {CALLER_SECRET}", "X-Client-Name": "privacy-check"}
    miss = proxy.get(CONNECTION_PATH, headers)
    assert miss.status == 200 and all(text in miss.body for text in BODY_ONLY_TEXT), "the fake's body changed"
    hits = [proxy.get(CONNECTION_PATH, headers) for _ in range(3)]
    assert all(h.status == 200 for h in hits)
    proxy.get("/api/v1/connect/connections/cxn_Unknown42", headers)
    assert proxy.get(f"/admin/requests/{miss.header('X-Request-Id')}/persona-log").status == 200
    wait_for_rows(proxy, "caller=privacy-check", 5)
    sigterm(proxy)

    # Nowhere in the files: neither the key nor the caller's token.
    files = [tmp_path / f"{name}.sqlite{suffix}" for name in ("cache", "requests") for suffix in ("", "-wal", "-shm")]
    for path in files:
        if path.exists():
            data = path.read_bytes()
            assert api_key.encode() not in data, f"the API key is in {path.name}"
            assert CALLER_SECRET.encode() not in data, f"the caller's bearer token is in {path.name}"

    # The cache holds the body by design (cache_entries, in cache.sqlite); the request log
    # (requests.sqlite) must not. Copy its files and compact them: no free page keeps old bytes.
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    for path in files:
        if path.exists() and path.name.startswith("requests"):
            shutil.copy(path, copy_dir / path.name)
    compacted = tmp_path / "request-log-only.sqlite"
    with sqlite3.connect(copy_dir / "requests.sqlite") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        assert {"request_log", "upstream_attempts"} <= tables and "cache_entries" not in tables, tables
        assert db.execute("SELECT count(*) FROM request_log WHERE caller = 'privacy-check'").fetchone()[0] == 5
        db.execute(f"VACUUM INTO '{compacted}'")
    data = compacted.read_bytes()
    for secret in (api_key.encode(), CALLER_SECRET.encode(), *BODY_ONLY_TEXT):
        assert secret not in data, f"{secret!r} is in the request-log tables"
    with sqlite3.connect(compacted) as db:
        for table in tables - {"cache_entries"}:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                text = repr(row).encode()
                for secret in (api_key.encode(), CALLER_SECRET.encode(), *BODY_ONLY_TEXT):
                    assert secret not in text, f"{secret!r} in {table}: {row}"
