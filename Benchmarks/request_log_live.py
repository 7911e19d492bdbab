#!/usr/bin/env python3
"""Request-log queries on a log the proxy itself wrote under load, with batches as large as its writer makes them.

`request_log_queries.py` fills ten million rows straight through sqlite3, spread over a day: a few
rows per commit. A proxy answering tens of thousands of hits a second writes batches of thousands of
hits (at most 2048 records each), and a Bloom filter instead of group rows when a batch names many
connections; a query that needs one hit of a batch decodes that batch. This script makes such a log
the real way: a simulator with `--connections` connections, one persona-proxy (one event loop, every
hit recorded), each connection fetched once, then `wrk -t1 -c32` on one connection for `--one`
seconds and over all of them for `--random` seconds. Then it times each `/admin/requests` filter
through the admin API (median and worst of 5; the floor is 50 ms), the connection of the first phase
last: its hits lie behind every filtered batch of the second.

    python3 Benchmarks/request_log_live.py                     # release build, 40 s + 40 s
    python3 Benchmarks/request_log_live.py --one 90 --random 60 --bin /tmp/persona-proxy

Needs wrk (installed from Debian's packages if missing, as root). Never run by CI. Everything stays
on 127.0.0.1; every process started here is stopped before exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench_common import Processes, binary_description, machine_info, resolve_binary, stop
from latency import list_connection_ids

PROXY_ENV = {"LOG_LEVEL": "warning", "REQUEST_LOG_RECORD_HITS": "true", "SWEEP_INTERVAL_SECONDS": "0", "SERVER_EVENT_LOOP_THREADS": "1"}
PREFIX = "/api/v1/connect/connections/"


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("missing wrk: apt-get install -y wrk")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def wrk(port: int, script: Path, seconds: int) -> float:
    text = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
                          capture_output=True, text=True, timeout=seconds + 60).stdout
    return float(text.split("Requests/sec:")[1].split()[0])


def get(port: int, query: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/requests?{query}", timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--one", type=int, default=40, help="seconds of hits on one connection")
    parser.add_argument("--random", type=int, default=40, help="seconds of hits spread over every connection")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", type=Path, default=None, help="keep a copy of the log made here")
    parser.add_argument("--log", type=Path, default=None, help="time the filters on this log (one --save made) instead of making one")
    args = parser.parse_args()
    ensure_wrk()
    binary = resolve_binary(args.bin)
    for line in machine_info(binary):
        print(line)
    print(binary_description(binary))
    with Processes(binary, "ppx-log-live-") as processes:
        assert processes.workdir is not None
        simulator = processes.simulator(rate_limit=1_000_000, window_seconds=60, latency_ms=1, seed=args.connections)
        if args.log:
            shutil.copy(args.log, processes.workdir / "requests.sqlite")
        port, proxy = processes.proxy(simulator, "live", **PROXY_ENV)
        ids = list_connection_ids(simulator)
        if not args.log:
            load(port, ids, processes.workdir, args)
        if args.save:
            processes.started.remove(proxy)
            stop(proxy)
            shutil.copy(processes.workdir / "requests.sqlite", args.save)
            port, _ = processes.proxy(simulator, "live", **PROXY_ENV)
        report(processes.workdir / "requests.sqlite")
        return time_filters(port, ids, args.runs)


def load(port: int, ids: list[str], workdir: Path, args: argparse.Namespace) -> None:
    """Each connection's miss, then hits on one id, then hits spread over every id."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for connection_id in ids:  # each one's miss, so that the load below is hits
        connection.request("GET", PREFIX + connection_id)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{connection_id}: {response.status}")
    connection.close()
    one, spread = workdir / "one.lua", workdir / "random.lua"
    one.write_text(f'request = function() return wrk.format("GET", "{PREFIX}{ids[0]}") end\n')
    spread.write_text("local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\nmath.randomseed(42)\n"
                      f'request = function() return wrk.format("GET", "{PREFIX}" .. ids[math.random(#ids)]) end\n')
    print(f"\nload: one id {wrk(port, one, args.one):,.0f} req/s for {args.one} s, "
          f"{len(ids):,} ids {wrk(port, spread, args.random):,.0f} req/s for {args.random} s")
    time.sleep(0.5)  # the writer's last 100 ms


def report(log: Path) -> None:
    db = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    batches, hits, largest = db.execute("SELECT count(*), sum(count), max(count) FROM request_log_hit_batches").fetchone()
    filtered = db.execute("SELECT count(*) FROM request_log_batch_filters").fetchone()[0]
    db.close()
    print(f"log: {hits:,} packed hits in {batches:,} batches (largest {largest}), {filtered:,} with a filter")


def time_filters(port: int, ids: list[str], runs: int) -> int:
    _, body = get(port, "limit=1")
    newest = json.loads(body)["data"][0]
    _, body = get(port, f"limit=1&before={newest['id'] // 2}")
    middle = json.loads(body)["data"][0]
    filters = {
        "recent": "limit=50",
        "before (middle)": f"before={newest['id'] // 2}&limit=50",
        "request_id (middle)": f"request_id={middle['request_id']}",
        "status=200": "status=200&limit=50",
        "status=404 (none)": "status=404&limit=50",
        "caller": f"caller={newest['caller']}&limit=50",
        "caller+status": f"caller={newest['caller']}&status=200&limit=50",
        "persona_request_id": f"persona_request_id={newest['persona_request_id']}&limit=50",
        "connection (spread)": f"connection_id={ids[len(ids) // 2]}&limit=50",
        "connection (absent)": "connection_id=cxn_NoSuchConnection&limit=50",
        "connection (one id)": f"connection_id={ids[0]}&limit=50",
    }
    print(f"\n{'filter':24} {'median ms':>10} {'worst ms':>10}  rows")
    worst_all = 0.0
    for name, query in filters.items():
        times, count = [], 0
        for _ in range(runs):
            elapsed, body = get(port, query)
            times.append(elapsed)
            count = len(json.loads(body)["data"])
        worst_all = max(worst_all, max(times))
        print(f"{name:24} {statistics.median(times):10.1f} {max(times):10.1f}  {count}")
    print(f"\nworst of all: {worst_all:.1f} ms (floor: 50 ms); load {os.getloadavg()[0]:.2f}")
    return 0 if worst_all <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
