#!/usr/bin/env python3
"""A burst bigger than Persona's rate-limit window, through the proxy and directly.

Starts the simulator with a small budget (`simulate --rate-limit 20 --window-seconds 5 --seed 100`)
and, for each run, a fresh `persona-proxy serve` (fresh cache, fresh governor) with
RATE_LIMIT_MAX_WAIT_SECONDS=30 in front of it. The simulator is reset before each burst (counters
and rate-limit window). A burst is N distinct connection ids sent at once: N threads, each with its
own keep-alive connection opened beforehand, released together by a barrier.

Per run it reports:
  caller errors   answers other than 200 the callers got                         (floor: 0)
  upstream 429s   the simulator's by_status["429"]: 429s Persona would have sent  (floor: <= 1)
  total time      barrier release -> last answer, and its ratio to the theoretical minimum
                  (requests / limit - 1) x window = 5 s for 40 / 20 / 5 s: the moment the last
                  window needed opens                                             (floor: <= 1.05)
  requests / rate (requests / limit x window = 10 s) is printed for reference.

Then the same burst sent DIRECTLY to the simulator (no proxy), for comparison: how many 429s the
callers get when nobody governs the shared budget.

    python3 Benchmarks/rate_limit_burst.py                 # 3 runs + 1 direct, ~30 s
    python3 Benchmarks/rate_limit_burst.py --runs 1 --bin .build/debug/persona-proxy
    python3 Benchmarks/rate_limit_burst.py --runs 1 --no-direct --proxy-env RATE_LIMIT_RESERVE_FRACTION=0

Exits 1 if a floor is missed in any run. Everything stays on 127.0.0.1; every process started here
is stopped before exit.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench_common import (
    SIMULATOR_KEY, Processes, binary_description, list_connection_ids, machine_info, metric_total, percentile,
    proxy_metrics, report_floors, resolve_binary, simulator_control, simulator_stats, stop,
)


@dataclass
class Answer:
    status: int
    cache_status: str
    done_at: float  # seconds after the barrier released the burst


def burst(port: int, paths: list[str], headers: dict[str, str], timeout: float) -> tuple[list[Answer | str], float]:
    """Every path at once (one thread and one pre-opened connection each). Returns the answers (or an
    error text for a request that got no answer) and the time from release to the last answer."""
    connections = []
    for _ in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.connect()
        connections.append(connection)
    released: list[float] = []
    barrier = threading.Barrier(len(paths), action=lambda: released.append(time.monotonic()))
    answers: list[Answer | str] = ["not run"] * len(paths)

    def run(index: int) -> None:
        connection = connections[index]
        try:
            barrier.wait(timeout=30)
            connection.request("GET", paths[index], headers=headers)
            response = connection.getresponse()
            response.read()
            answers[index] = Answer(response.status, response.getheader("Cache-Status") or "",
                                    time.monotonic() - released[0])
        except Exception as error:  # a caller error, reported as such
            answers[index] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)
    total = max((a.done_at for a in answers if isinstance(a, Answer)), default=float("nan"))
    return answers, total


def completions_per_second(answers: list[Answer | str]) -> str:
    buckets: dict[int, int] = {}
    for answer in answers:
        if isinstance(answer, Answer):
            buckets[int(answer.done_at)] = buckets.get(int(answer.done_at), 0) + 1
    return " ".join(f"[{s},{s + 1}):{n}" for s, n in sorted(buckets.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None, help="persona-proxy binary (default: release if built, else debug)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40, help="distinct ids in the burst")
    parser.add_argument("--limit", type=int, default=20, help="simulator requests per window")
    parser.add_argument("--window", type=int, default=5, help="simulator window in seconds")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--max-wait", default="30", help="RATE_LIMIT_MAX_WAIT_SECONDS for the proxy")
    parser.add_argument("--no-direct", action="store_true", help="skip the burst sent directly to the simulator")
    parser.add_argument("--proxy-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra proxy configuration, e.g. RATE_LIMIT_MAX_CONCURRENCY=64 (repeatable)")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.proxy_env)

    binary = resolve_binary(args.bin)
    # The theoretical minimum is requests / rate; the last window can open no sooner than
    # (requests / limit - 1) windows in, which is printed for reference.
    last_window_opens = (args.requests / args.limit - 1) * args.window
    theoretical = args.requests / args.limit * args.window
    max_wait = float(args.max_wait)

    print("\n".join(machine_info(binary)[:1]))
    print(binary_description(binary))
    print(f"simulator: --rate-limit {args.limit} --window-seconds {args.window} --seed {args.seed}, no added latency; "
          f"proxy: RATE_LIMIT_MAX_WAIT_SECONDS={args.max_wait} {' '.join(args.proxy_env)}, other rate_limit.* at their defaults; "
          f"burst: {args.requests} distinct ids, {args.requests} threads, one pre-opened connection each")
    print(f"theoretical minimum requests / rate = {theoretical:g} s; the last window opens at "
          f"(requests/limit - 1) x window = {last_window_opens:g} s (reference)\n", flush=True)

    rows = []
    floors_missed: list[str] = []
    with Processes(binary, "persona-proxy-burst-") as processes:
        simulator_port = processes.simulator(args.limit, args.window, 0, args.seed)
        ids = list_connection_ids(simulator_port)  # spends budget: the reset below gives it back
        if len(ids) < args.requests:
            raise SystemExit(f"the simulator has {len(ids)} ids; need {args.requests} (raise --seed)")
        paths = [f"/api/v1/connect/connections/{quote(i)}" for i in ids[:args.requests]]

        for run in range(1, args.runs + 1):
            proxy_port, proxy = processes.proxy(
                simulator_port, f"run{run}", **{"RATE_LIMIT_MAX_WAIT_SECONDS": args.max_wait, "CACHE_TTL_SECONDS": "3600", **extra_env})
            simulator_control(simulator_port, "/_simulator/reset")
            answers, total = burst(proxy_port, paths, {"X-Client-Name": "burst-benchmark"}, timeout=max_wait + 30)
            stats = simulator_stats(simulator_port)
            metrics = proxy_metrics(proxy_port)
            processes.started.remove(proxy)
            stop(proxy)

            errors = [a if isinstance(a, str) else f"{a.status} ({a.cache_status})"
                      for a in answers if not (isinstance(a, Answer) and a.status == 200)]
            upstream_429 = stats["by_status"].get("429", 0)
            ratio = total / theoretical if theoretical > 0 else float("nan")
            done = sorted(a.done_at for a in answers if isinstance(a, Answer))
            row = {
                "run": run, "errors": len(errors), "upstream_429": upstream_429, "upstream": stats["requests"],
                "total": total, "ratio": ratio, "p50": percentile(done, 50),
                "retries": metric_total(metrics, "persona_proxy_upstream_retries_total"),
                "waits": metric_total(metrics, "persona_proxy_rate_limit_wait_seconds_count"),
                "timeline": completions_per_second(answers),
            }
            rows.append(row)
            missed = []
            if errors:
                missed.append(f"{len(errors)} caller errors (first: {errors[0]})")
            if upstream_429 > 1:
                missed.append(f"{upstream_429} upstream 429s")
            if not ratio <= 1.05:
                missed.append(f"time {total:.2f} s = {ratio:.2f} x theoretical")
            floors_missed += [f"run {run}: {m}" for m in missed]

        direct = None
        if not args.no_direct:
            simulator_control(simulator_port, "/_simulator/reset")
            answers, total = burst(simulator_port, paths, {"Authorization": f"Bearer {SIMULATOR_KEY}"}, timeout=30)
            stats = simulator_stats(simulator_port)
            statuses = [a.status if isinstance(a, Answer) else a for a in answers]
            direct = {
                "ok": statuses.count(200), "caller_429": statuses.count(429),
                "other": len([s for s in statuses if s not in (200, 429)]), "upstream_429": stats["by_status"].get("429", 0),
                "total": total,
            }

    print(f"{'run':<8} {'caller errors':>13} {'upstream 429':>12} {'upstream calls':>14} {'total s':>8} "
          f"{'/ theoretical':>13} {'p50 s':>6} {'retries':>7}  answers per second after release")
    for r in rows:
        print(f"{'proxy ' + str(r['run']):<8} {r['errors']:>13} {r['upstream_429']:>12} {r['upstream']:>14} "
              f"{r['total']:>8.3f} {r['ratio']:>13.3f} {r['p50']:>6.2f} {r['retries']:>7.0f}  {r['timeline']}")
    if direct is not None:
        print(f"{'direct':<8} {direct['caller_429']:>13} {direct['upstream_429']:>12} {args.requests:>14} "
              f"{direct['total']:>8.3f} {'-':>13} {'-':>6} {'-':>7}  "
              f"(callers: {direct['ok']} x 200, {direct['caller_429']} x 429, {direct['other']} other)")
    return report_floors(f"0 caller errors, <= 1 upstream 429, total <= 1.05 x {theoretical:g} s = {1.05 * theoretical:.2f} s", floors_missed)


if __name__ == "__main__":
    sys.exit(main())
