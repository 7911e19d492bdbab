#!/usr/bin/env python3
"""Request-log queries at size: every /admin/requests filter over a large log (10 M rows by default).

Lays out the audit database with the proxy's own schema (one short `serve` run), fills it with N
rows straight through sqlite3 (a day of traffic: callers, statuses, connections, one upstream
attempt per miss), starts the proxy on it and times each filter through the admin API, the way an
operator would run it. Reports the median and the worst of 5 runs per filter; the floor is 50 ms.

    python3 Benchmarks/request_log_queries.py                     # release build, 10 M rows
    python3 Benchmarks/request_log_queries.py --rows 1000000 --bin .build/debug/persona-proxy

Everything stays on 127.0.0.1; the proxy started here is killed before exit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "Benchmarks"))
from latency import CONFIG_ENV, free_port  # noqa: E402

DAY = 86_400.0
START = 1_800_000_000.0


def proxy_env(workdir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_ENV}
    env.update(
        PERSONA_API_KEY="persona_sandbox_benchmark", UPSTREAM_BASE_URL="http://127.0.0.1:9", SERVER_HOST="127.0.0.1",
        SERVER_PORT=str(port), CACHE_PATH=str(workdir / "cache.sqlite"), REQUEST_LOG_RETENTION_DAYS="36500",
        REQUEST_LOG_MAX_ROWS="0", LOG_LEVEL="error")
    return env


def wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"persona-proxy exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("persona-proxy did not start")


def fill(database: Path, rows: int, span: float) -> None:
    """Rows as the proxy commits them: misses one by one with their attempt into `request_log_rows`,
    hits packed, one `request_log_hit_batches` row per 100 ms of traffic (at most 2048 records, the
    proxy's `RequestLogHitBatch.maxRecords`), named by `request_log_groups` ranges."""
    rng = random.Random(7)
    callers = [f"service-{n}" for n in range(20)]
    db = sqlite3.connect(database)
    db.execute("PRAGMA synchronous = OFF")
    step = span / rows
    per_commit = min(2048, max(1, round(0.1 / step)))
    batch = 200_000
    fills: dict[str, str] = {}
    for first in range(1, rows + 1, batch):
        last = min(rows, first + batch - 1)
        requests, attempts, groups, batches = [], [], [], []
        ranges: dict[tuple[str, str], list[int]] = {}
        hits: list[list] = []
        for rid in range(first, last + 1):
            hit = rng.random() < 0.8
            status = 404 if rng.random() < 0.05 else 200
            caller, connection = rng.choice(callers), f"cxn_{rng.randrange(50_000):06d}"
            persona = fills.get(connection, f"req_{rid:012d}") if hit else f"req_{rid:012d}"
            received = START + rid * step
            if not hit:
                fills[connection] = persona
                attempts.append((rid, 1, persona, status, None, 20.0, 0.0))
                requests.append((
                    rid, f"ppx_{rid:012d}", received, caller, "GET", "/api/v1/connect/connections/x",
                    connection, "miss", status, persona, 1.0, None, 0))
            else:
                for kind, value in (("persona", persona), ("connection", connection), ("caller", caller), ("status", str(status))):
                    ranges.setdefault((kind, value), [rid, rid])[1] = rid
                hits.append([rid, f"ppx_{rid:012d}", received, caller, "GET", "/api/v1/connect/connections/x",
                             connection, "hit", status, persona, 1.0, None])
            if rid % per_commit == 0 or rid == last:
                groups += [(kind, value, low, high) for (kind, value), (low, high) in ranges.items()]
                ranges = {}
                if hits:
                    batches.append((hits[0][0], hits[-1][0], hits[0][1], hits[-1][1], hits[0][2], hits[-1][2], len(hits),
                                    json.dumps(hits, separators=(",", ":"))))
                    hits = []
        db.executemany("INSERT INTO request_log_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", requests)
        db.executemany("INSERT INTO request_log_hit_batches VALUES (?,?,?,?,?,?,?,?)", batches)
        db.executemany("INSERT INTO upstream_attempts VALUES (?,?,?,?,?,?,?)", attempts)
        db.executemany("INSERT INTO request_log_groups VALUES (?,?,?,?)", groups)
        db.commit()
        print(f"  {last:>11,} rows", end="\r", flush=True)
    db.execute("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('request_log_rows', ?)", (rows,))
    db.commit()
    db.close()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / ".build/release/persona-proxy")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=float, default=None,
                        help="requests per second the log was written at (default: the rows spread over a day); "
                             "50000 gives the largest batches the proxy writes")
    args = parser.parse_args()
    span = DAY if args.rate is None else args.rows / args.rate
    hour = min(3600.0, span / 24)
    workdir = Path(tempfile.mkdtemp(prefix="ppx-request-log-"))
    database = workdir / "requests.sqlite"
    port = free_port()
    # The proxy lays out its own schema, then stops.
    process = subprocess.Popen([str(args.bin), "serve"], env=proxy_env(workdir, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, process)
    process.terminate()
    process.wait(timeout=30)
    started = time.monotonic()
    print(f"filling {args.rows:,} rows into {database}")
    fill(database, args.rows, span)
    print(f"filled in {time.monotonic() - started:.0f} s, {database.stat().st_size / 2**20:.0f} MiB")

    process = subprocess.Popen([str(args.bin), "serve"], env=proxy_env(workdir, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, process)
        middle = START + span / 2
        filters = {
            "request_id": f"request_id=ppx_{args.rows // 2:012d}",
            "persona_request_id": f"persona_request_id=req_{args.rows // 3:012d}",
            "connection_id": "connection_id=cxn_012345",
            "caller": "caller=service-7",
            "status": "status=404",
            "since (recent)": f"since={START + span - hour:.0f}",
            "since (empty)": f"since={START + 2 * span:.0f}",
            "until (midday)": f"until={middle:.0f}",
            "since+until (an hour)": f"since={middle:.0f}&until={middle + hour:.0f}",
            "caller+status": "caller=service-3&status=404",
            "before (paging)": f"before={args.rows // 2}",
            "nothing matches": "caller=nobody",
        }
        print(f"\n{'filter':24} {'median ms':>10} {'worst ms':>10}  rows")
        worst_all = 0.0
        for name, query in filters.items():
            times = []
            count = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/requests?{query}&limit=50", timeout=60) as response:
                    body = response.read()
                times.append((time.perf_counter() - t0) * 1000)
                count = body.count(b'"request_id"')
            worst_all = max(worst_all, max(times))
            print(f"{name:24} {statistics.median(times):10.1f} {max(times):10.1f}  {count}")
        print(f"\nworst of all: {worst_all:.1f} ms (floor: 50 ms) over {args.rows:,} rows; load {os.getloadavg()[0]:.2f}")
    finally:
        process.kill()
        process.wait(timeout=10)
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
