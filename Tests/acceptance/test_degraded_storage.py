"""Degrade, don't die: a database that refuses writes must not stop the proxy from serving.

- Another process (an operator's sqlite3 session) holds the write lock on both databases for 30 s:
  hits keep being served, misses are forwarded without being stored, /readyz says why (503), and
  once the lock is gone the proxy recovers by itself and writes the request-log rows it queued.
- The disk fills up while serving (here: a file-size limit on the process, as `ulimit -f` sets):
  the same, and when space returns (the limit is lifted) it recovers by itself.
Nothing committed is lost in either case, and the process stays up.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import ProxyProcess, clean_env, http_get

HIT_PATH = "/api/v1/connect/connections/cxn_ABC123"


def ready(proxy) -> tuple[int, str]:
    result = http_get(proxy.port, "/readyz", timeout=5)
    return result.status, result.body.decode(errors="replace")


def wait_for(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def logged_ids(path) -> set[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return {row[0] for row in db.execute("SELECT request_id FROM request_log")}


def stop(proxy) -> None:
    proxy.process.send_signal(signal.SIGTERM)
    assert proxy.process.wait(timeout=30) == 0, proxy.stderr_path.read_text(errors="replace")[-2000:]


def test_databases_locked_by_another_process_for_30_s(start_proxy, fake, tmp_path):
    proxy = start_proxy(fake.base_url, LOG_LEVEL="error")
    assert proxy.get(HIT_PATH).status == 200
    answered: list[str] = []
    release = threading.Event()
    locked = threading.Event()

    def hold_locks() -> None:
        connections = [sqlite3.connect(tmp_path / name, isolation_level=None, timeout=10) for name in ("cache.sqlite", "requests.sqlite")]
        for connection in connections:
            connection.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(60)
        for connection in connections:
            connection.execute("ROLLBACK")
            connection.close()

    holder = threading.Thread(target=hold_locks)
    holder.start()
    assert locked.wait(10)
    started = time.monotonic()
    try:
        slowest_hit, misses, n = 0.0, 0, 0
        while time.monotonic() - started < 30:
            t0 = time.monotonic()
            hit = proxy.get(HIT_PATH, timeout=10)
            slowest_hit = max(slowest_hit, time.monotonic() - t0)
            assert hit.status == 200
            answered.append(hit.header("X-Request-Id"))
            if n % 10 == 0:  # a miss now and then: forwarded, answered, not stored
                miss = proxy.get(f"/api/v1/connect/connections/cxn_Locked{n}", timeout=15)
                assert miss.status in (200, 404), miss.status
                answered.append(miss.header("X-Request-Id"))
                misses += 1
            n += 1
            time.sleep(0.05)
        status, body = ready(proxy)
        assert status == 503 and "degraded" in body, body
        assert proxy.process.poll() is None
        print(f"\nlocked 30 s: {n} hits (slowest {slowest_hit * 1000:.0f} ms), {misses} misses, /readyz 503 degraded")
    finally:
        release.set()
        holder.join(timeout=30)
    recovered = wait_for(lambda: ready(proxy)[0] == 200, 10, "/readyz back to 200 after the lock")
    print(f"locked 30 s: ready again {recovered:.1f} s after the lock was released")
    stop(proxy)
    missing = set(answered) - logged_ids(tmp_path / "requests.sqlite")
    assert not missing, f"{len(missing)} answered requests were never recorded"


def test_the_disk_fills_up_while_serving(binary, api_key, fake, tmp_path):
    limit = 512 * 1024

    def small_disk() -> None:
        # The process cannot grow a file past `limit` bytes: writes fail with EFBIG, as on a full
        # disk they fail with ENOSPC. (SIGXFSZ ignored, so it is an error, not a kill.)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    env = clean_env(
        PERSONA_API_KEY=api_key, UPSTREAM_BASE_URL=fake.base_url, CACHE_PATH=str(tmp_path / "cache.sqlite"), LOG_LEVEL="error")
    proxy = ProxyProcess(binary, tmp_path, env, preexec_fn=small_disk).start()
    try:
        assert proxy.get(HIT_PATH).status == 200
        answered_before_full: list[str] = []
        n = 0
        while ready(proxy)[0] == 200:  # misses until a write is refused
            assert n < 5000, "the databases never filled up"
            result = proxy.get(f"/api/v1/connect/connections/cxn_Fill{n:05d}", timeout=15)
            assert result.status in (200, 404)
            n += 1
        print(f"\ndisk full after {n} misses")
        for _ in range(50):
            hit = proxy.get(HIT_PATH, timeout=5)
            assert hit.status == 200 and hit.elapsed < 1.0
        miss = proxy.get("/api/v1/connect/connections/cxn_WhileFull", timeout=15)
        assert miss.status in (200, 404), "a miss is still forwarded while the disk is full"
        status, body = ready(proxy)
        assert status == 503 and "degraded" in body, body
        # Space comes back.
        subprocess.run(["prlimit", f"--pid={proxy.process.pid}", "--fsize=unlimited"], check=True)
        recovered = wait_for(lambda: ready(proxy)[0] == 200, 10, "/readyz back to 200 once there is space")
        print(f"disk full: ready again {recovered:.1f} s after space returned")
        assert proxy.get(HIT_PATH).status == 200
        stop(proxy)
    finally:
        proxy.stop()
