#!/usr/bin/env python3
"""The sweep: how soon a status changed behind the API is served changed, and what it costs.

5 000 cached connections (the simulator seeds them), Persona's budget of 300 calls a minute,
`cache.ttl_seconds` 3600 and the sweep on (`sweep.interval_seconds` 120, `max_budget_fraction` 0.1
by default). 50 connections have their status changed at the simulator (`/_simulator/connections/
{id}/status`, no API call the proxy sees) at random times; a poller per change reads it through the
proxy until the new status shows. Reports the time to visibility (p50, max), the sweep's calls per
minute, and, for comparison, what a TTL-only cache needs to promise the same staleness.

    python3 Benchmarks/sweep.py                      # release build, ~10 minutes
    python3 Benchmarks/sweep.py --interval 60 --changes-over 120    # quicker

Floors: every change visible within one sweep interval plus one page time; the sweep's calls at
most `max_budget_fraction` of the budget. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    Processes, binary_description, list_connection_ids, machine_info, metric_total, proxy_metrics, report_floors, request,
    resolve_binary, simulator_control,
)

LIST = "/api/v1/connect/connections"


def status_through(port: int, connection_id: str) -> str | None:
    code, body = request(port, "GET", f"{LIST}/{connection_id}")
    return json.loads(body)["data"]["attributes"]["status"] if code == 200 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--interval", type=float, default=120, help="sweep.interval_seconds")
    parser.add_argument("--fraction", type=float, default=0.1, help="sweep.max_budget_fraction")
    parser.add_argument("--changes-over", type=float, default=300, help="seconds over which the changes are spread")
    args = parser.parse_args()
    binary = resolve_binary(args.bin)
    budget = 300
    print("\n".join(machine_info(binary)))
    print(binary_description(binary))
    with Processes(binary, "ppx-sweep-") as processes:
        simulator = processes.simulator(rate_limit=100_000, window_seconds=60, latency_ms=20, seed=args.connections - 1)
        port, _ = processes.proxy(
            simulator, "sweep", CACHE_TTL_SECONDS="3600", SWEEP_INTERVAL_SECONDS=str(args.interval),
            SWEEP_MAX_BUDGET_FRACTION=str(args.fraction))
        ids = list_connection_ids(simulator)
        # Warm-up with the budget lifted (5 000 calls at 300 a minute would take 17 minutes).
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            statuses = dict(zip(ids, pool.map(lambda cid: status_through(port, cid), ids)))
        print(f"\n{len(ids):,} connections cached in {time.monotonic() - started:.1f} s")
        simulator_control(simulator, f"/_simulator/rate-limit?limit={budget}&window_seconds=60")
        simulator_control(simulator, "/_simulator/reset")  # a fresh window and counters; seeds restored as cached
        # Steady state: the first walk starts one interval after start-up; changes made before it
        # would measure the start-up delay, not the sweep.
        while not json.loads(request(port, "GET", "/admin/sweep")[1])["data"].get("current"):
            time.sleep(0.2)
        print(f"first walk under way {time.monotonic() - started:.0f} s after the warm-up began")
        before = proxy_metrics(port)
        measure_start = time.monotonic()

        rng = random.Random(11)
        changed = rng.sample(ids, args.changes)
        delays: dict[str, float] = {}
        failures: dict[str, str] = {}
        lock = threading.Lock()

        def change_and_watch(connection_id: str, at: float) -> None:
            try:
                watch(connection_id, at)
            except BaseException as error:  # noqa: BLE001  (SystemExit included: reported, not lost)
                with lock:
                    failures[connection_id] = repr(error)

        def watch(connection_id: str, at: float) -> None:
            time.sleep(max(0.0, measure_start + at - time.monotonic()))
            new = "inactive" if statuses[connection_id] != "inactive" else "active"
            simulator_control(simulator, f"/_simulator/connections/{connection_id}/status?value={new}")
            changed_at = time.monotonic()
            last = None
            while time.monotonic() - changed_at < args.interval * 3 + 120:
                last = status_through(port, connection_id)
                if last == new:
                    with lock:
                        delays[connection_id] = time.monotonic() - changed_at
                    return
                time.sleep(0.1)
            with lock:
                failures[connection_id] = f"changed to {new} at +{at:.0f} s, still {last}"

        threads = [threading.Thread(target=change_and_watch, args=(cid, rng.uniform(0, args.changes_over))) for cid in changed]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - measure_start
        after = proxy_metrics(port)
        _, admin = request(port, "GET", "/admin/sweep")
        walk = json.loads(admin)["data"].get("last_complete") or {}
        last = json.loads(admin)["data"].get("last") or {}
        stderr = (processes.workdir / "sweep.stderr").read_text(errors="replace")
        stops = [line for line in stderr.splitlines() if "sweep stopped" in line]

    sweep_calls = metric_total(after, "persona_proxy_sweep_upstream_calls_total") - metric_total(before, "persona_proxy_sweep_upstream_calls_total")
    per_minute = sweep_calls / (elapsed / 60)
    values = sorted(delays.values())
    pages = walk.get("pages") or 1
    walk_seconds = 0.0
    if walk.get("completed_at") and walk.get("started_at"):
        from datetime import datetime
        parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
        walk_seconds = (parse(walk["completed_at"]) - parse(walk["started_at"])).total_seconds()
    page_time = walk_seconds / pages if walk_seconds else 60 / (budget * args.fraction)
    bound = args.interval + page_time
    print(f"\n{args.changes} status changes behind the API over {args.changes_over:.0f} s; sweep every {args.interval:.0f} s, "
          f"max {args.fraction} of {budget}/min; ttl 3600 s; measured over {elapsed:.0f} s")
    print(f"  visible through the proxy after: p50 {statistics.median(values):.1f} s, max {max(values):.1f} s "
          f"({len(values)}/{args.changes} seen)")
    print(f"  last complete walk: {pages} pages, {walk.get('checked')} checked, {walk_seconds:.0f} s ({page_time:.2f} s a page)")
    complete = metric_total(after, "persona_proxy_sweeps_total", 'result="complete"') - metric_total(before, "persona_proxy_sweeps_total", 'result="complete"')
    stopped = metric_total(after, "persona_proxy_sweeps_total", 'result="stopped"') - metric_total(before, "persona_proxy_sweeps_total", 'result="stopped"')
    print(f"  walks: {complete:.0f} complete, {stopped:.0f} stopped; last walk stopped because: {last.get('stopped_because')}")
    for line in stops[:5]:
        print(f"    {line[:200]}")
    print(f"  sweep calls: {sweep_calls:.0f} in {elapsed / 60:.1f} min = {per_minute:.1f}/min "
          f"({per_minute / budget:.3f} of the budget)")
    ttl = max(values)
    ttl_only = len(ids) * 60 / ttl
    print(f"  a TTL-only cache promising the same staleness (ttl {ttl:.0f} s) re-fetches each of {len(ids):,} entries "
          f"once per ttl: {ttl_only:.0f} calls/min ({ttl_only / budget:.1f} x the budget), "
          f"{ttl_only / max(per_minute, 0.001):.0f} x the sweep's")
    for connection_id, why in list(failures.items())[:5]:
        print(f"  not seen: {connection_id}: {why}")
    slowest = sorted(delays.items(), key=lambda item: -item[1])[:3]
    print("  slowest: " + ", ".join(f"{cid} {delay:.1f} s" for cid, delay in slowest))
    missed = []
    if len(values) < args.changes:
        missed.append(f"{args.changes - len(values)} changes never seen")
    if max(values) > bound:
        missed.append(f"max visibility {max(values):.1f} s > interval + page time {bound:.1f} s")
    if per_minute > budget * args.fraction:
        missed.append(f"sweep calls {per_minute:.1f}/min > {budget * args.fraction:.0f}/min")
    return report_floors(f"visible within interval + one page ({bound:.1f} s); sweep calls <= {budget * args.fraction:.0f}/min", missed)


if __name__ == "__main__":
    raise SystemExit(main())
