#!/usr/bin/env python3
"""Reproduction: misses that arrive just as a coalesced fetch completes can start a second fetch.

Not a benchmark: a check of one race, kept here because it needs the same processes. Each trial
sends one request for a cold id (the leader) and, timed around the moment its 200 ms upstream call
completes, N more requests for the same id (one thread and pre-opened connection each, spread over
`--spread-ms` starting `--offset-ms` after the leader). Every one of them should be `collapsed`
(joined the fetch) or a `hit` (came after the entry was stored): the simulator must see exactly one
call per trial.

The suspected window (see Benchmarks/README.md): a request whose cache read runs while the leader's
SQLite write is being committed reads the old snapshot (a miss), and if the leader's flight has been
removed from the coalescer by the time that request joins, it starts a new upstream fetch.

    python3 Benchmarks/coalescing_race.py                # 40 trials, ~20 s; exits 1 if any trial refetched
    python3 Benchmarks/coalescing_race.py --trials 10 --requests 300

Everything stays on 127.0.0.1; every process started here is stopped before exit.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from bench_common import (
    Processes, binary_description, list_connection_ids, machine_info, resolve_binary, simulator_stats,
)


def trial(port: int, path: str, requests: int, latency: float, offset: float, spread: float) -> list[str]:
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(requests + 1)]
    for connection in connections:
        connection.connect()
    start = time.monotonic() + 0.05
    statuses: list[str] = [""] * (requests + 1)

    def run(index: int) -> None:
        connection = connections[index]
        at = start if index == 0 else start + offset + (index / requests) * spread
        time.sleep(max(0.0, at - time.monotonic()))
        try:
            connection.request("GET", path, headers={"X-Client-Name": "coalescing-race"})
            response = connection.getresponse()
            response.read()
            statuses[index] = f"{response.status} {response.getheader('Cache-Status')}"
        except Exception as error:
            statuses[index] = f"error {type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(requests + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--requests", type=int, default=150, help="followers per trial")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--offset-ms", type=float, default=195, help="first follower, after the leader")
    parser.add_argument("--spread-ms", type=float, default=40, help="followers spread over this")
    args = parser.parse_args()

    binary = resolve_binary(args.bin)
    print("\n".join(machine_info(binary)[:1]))
    print(binary_description(binary))
    print(f"simulator --latency-ms {args.latency_ms}; per trial: 1 leader + {args.requests} followers sent "
          f"{args.offset_ms:g}..{args.offset_ms + args.spread_ms:g} ms after it, a fresh cold id per trial\n", flush=True)
    refetched = 0
    with Processes(binary, "persona-proxy-race-") as processes:
        simulator_port = processes.simulator(1_000_000_000, 60, args.latency_ms, max(60, args.trials + 5))
        ids = [i for i in list_connection_ids(simulator_port) if i != "cxn_ABC123"]
        proxy_port, _ = processes.proxy(simulator_port, "proxy", CACHE_TTL_SECONDS="3600")
        for number, connection_id in enumerate(ids[:args.trials], start=1):
            path = f"/api/v1/connect/connections/{quote(connection_id)}"
            before = simulator_stats(simulator_port)["requests"]
            statuses = trial(proxy_port, path, args.requests, args.latency_ms / 1000, args.offset_ms / 1000,
                             args.spread_ms / 1000)
            calls = simulator_stats(simulator_port)["requests"] - before
            fetchers = [s for s in statuses if "fwd=" in s and "collapsed" not in s]
            collapsed = sum("collapsed" in s for s in statuses)
            hits = sum("; hit" in s for s in statuses)
            errors = [s for s in statuses if not s.startswith("200 ")]
            if calls != 1 or errors:
                refetched += calls != 1
                print(f"trial {number:>2}: {calls} upstream calls; {len(fetchers)} answers fetched "
                      f"({', '.join(sorted(set(fetchers)))}), {collapsed} collapsed, {hits} hits"
                      + (f", {len(errors)} errors: {errors[0]}" if errors else ""), flush=True)
    print(f"\ntrials with more than one upstream call: {refetched} of {args.trials} (must be 0)")
    return 1 if refetched else 0


if __name__ == "__main__":
    sys.exit(main())
