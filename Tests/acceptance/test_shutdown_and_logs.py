"""Shutdown that fits systemd's TimeoutStopSec, and logging that cannot stall requests.

- SIGTERM while a background refresh waits for rate-limit budget (it may wait up to two minutes)
  and while callers are sending hits: the proxy answers what it accepted, gives fetches
  `server.shutdown_grace_seconds`, cancels the rest, writes every queued request-log row and exits
  0 well within the unit's 30 s.
- A stopped stderr reader (a stalled journal): log lines go through a bounded queue written off
  the request path, so requests keep being answered and the excess lines are dropped and counted.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import clean_env, free_port, http_get, wait_for_health

CONNECTION_PATH = "/api/v1/connect/connections/cxn_ABC123"


@pytest.fixture
def start(start_proxy, fake):
    def run(**env: str):
        return start_proxy(fake.base_url, **env)
    return run


def test_sigterm_under_load_with_a_refresh_waiting_for_budget_exits_0_within_the_grace(start, fake, tmp_path):
    proxy = start(
        CACHE_TTL_SECONDS="0.3", CACHE_STALE_WHILE_REVALIDATE_SECONDS="3600", SERVER_SHUTDOWN_GRACE_SECONDS="1",
        RATE_LIMIT_BACKOFF_MAX_SECONDS="60")
    assert proxy.get(CONNECTION_PATH).status == 200
    time.sleep(0.4)  # the entry expires (a real process: no test clock to advance)
    fake.force_rate_limited(50, reset=100)
    stale = proxy.get(CONNECTION_PATH)  # served stale; its refresh now waits ~60 s for budget
    assert stale.status == 200 and "stale-while-revalidate" in (stale.header("Cache-Status") or "")

    received: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                result = http_get(proxy.port, CONNECTION_PATH, timeout=5)
            except OSError:
                return
            if result.status == 200 and result.header("X-Request-Id"):
                received.append(result.header("X-Request-Id"))

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    proxy.process.send_signal(signal.SIGTERM)
    try:
        code = proxy.process.wait(timeout=20)
    finally:
        stop.set()
        worker.join(timeout=10)
    took = time.monotonic() - started
    print(f"\nshutdown: exit {code} {took:.2f} s after SIGTERM, {len(received)} hits answered under load")
    assert code == 0, proxy.stderr_path.read_text(errors="replace")[-2000:]
    assert took < 1 + 5, f"exit took {took:.2f} s with a 1 s grace"
    assert received, "the load got no answer at all"
    with sqlite3.connect(f"file:{tmp_path / 'requests.sqlite'}?mode=ro", uri=True) as db:
        logged = {row[0] for row in db.execute("SELECT request_id FROM request_log")}
    missing = [rid for rid in received if rid not in logged]
    assert not missing, f"{len(missing)} answered requests have no request-log row, e.g. {missing[:3]}"


def test_a_stopped_stderr_reader_does_not_stall_requests(binary, api_key, fake, tmp_path):
    port = free_port()
    env = clean_env(
        PERSONA_API_KEY=api_key, UPSTREAM_BASE_URL=fake.base_url, CACHE_PATH=str(tmp_path / "cache.sqlite"),
        SERVER_HOST="127.0.0.1", SERVER_PORT=str(port), LOG_LEVEL="info")
    # stderr is a pipe nobody reads: once its 64 KiB buffer is full, every write to it blocks.
    process = subprocess.Popen([str(binary), "serve"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_health(port, process)
        slowest = 0.0
        for _ in range(6000):  # one info line each: far more than the pipe and the 4096-line queue hold
            started = time.monotonic()
            result = http_get(port, CONNECTION_PATH, timeout=5)
            slowest = max(slowest, time.monotonic() - started)
            assert result.status == 200
        metrics = http_get(port, "/metrics", timeout=5).body.decode()
        dropped = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("persona_proxy_log_lines_dropped_total"))
        print(f"\nlogs: 6000 requests with stderr unread, slowest {slowest * 1000:.1f} ms, {dropped:.0f} lines dropped")
        assert slowest < 1.0
        assert dropped > 0, "with nobody reading stderr, some lines must have been dropped"
        assert process.poll() is None
    finally:
        process.kill()
        process.wait(timeout=10)
