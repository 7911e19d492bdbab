#!/usr/bin/env python3
"""A fair share of Persona's budget between clients, and what client tokens cost on a hit.

Fairness. The simulator allows 20 calls per 5 s window. Client A sends 200 distinct misses at
once (200 threads, one pre-opened connection each); one second later client B sends 5 distinct
misses. Both clients have weight 1. Two runs, each with a fresh proxy and a fresh simulator
window (RATE_LIMIT_MAX_WAIT_SECONDS=120, so A's backlog of 50 s is answered, not refused):

  fair     A and B are different clients: B's calls get every other permit
  shared   B sends with A's token: one share, first come first served (what B would get
           without per-client queueing, as before issue 12)

Reports B's worst wait (sent -> answered), A's total (release -> last answer), caller errors
and the 429s the simulator sent. Floors (fair run): every B request answered within one window
(5 s) of being sent, 0 caller errors, <= 1 upstream 429.

Cost. Two proxies in one run, one with clients configured (every request sends a Bearer token,
checked against every client's hash) and one without; alternating `wrk -t1 -c16` rounds on a
cached id. Floor: tokens-on / tokens-off hit throughput >= 0.95.

    python3 Benchmarks/fairness.py                         # ~2 min
    python3 Benchmarks/fairness.py --skip-cost             # fairness only (no wrk needed)
    python3 Benchmarks/fairness.py --bin .build/debug/persona-proxy

Cost needs wrk (apt-get install -y wrk). Everything stays on 127.0.0.1; every process started
here is stopped before exit.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import secrets
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from bench_common import (
    Processes, binary_description, list_connection_ids, machine_info, metric_total, proxy_metrics, report_floors, resolve_binary,
    simulator_control, simulator_stats, stop,
)
from latency import run_wrk

LIMIT, WINDOW = 20, 5


def config(path: Path, tokens: dict[str, str]) -> Path:
    lines = ["clients:"]
    for name, token in tokens.items():
        lines += [f"  - name: {name}", f"    token_sha256: {hashlib.sha256(token.encode()).hexdigest()}",
                  "    scopes: [read]", "    weight: 1"]
    path.write_text("\n".join(lines) + "\n")
    return path


def send_all(port: int, paths: list[str], token: str, timeout: float, results: list, start_gate: threading.Event | None):
    """One thread and one pre-opened connection per path; each result is (status, sent, answered)."""
    connections = []
    for _ in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.connect()
        connections.append(connection)
    barrier = threading.Barrier(len(paths))

    def run(index: int) -> None:
        connection = connections[index]
        try:
            barrier.wait(timeout=30)
            if start_gate is not None:
                start_gate.wait(timeout=30)
            sent = time.monotonic()
            connection.request("GET", paths[index], headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            results.append((response.status, sent, time.monotonic()))
        except Exception as error:  # reported as a caller error
            results.append((f"{type(error).__name__}: {error}", time.monotonic(), time.monotonic()))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    return threads


def fairness_run(processes: Processes, simulator_port: int, paths: list[str], name: str, shared: bool) -> dict:
    tokens = {"a": "ppt_a_" + secrets.token_urlsafe(24), "b": "ppt_b_" + secrets.token_urlsafe(24)}
    file = config(processes.workdir / f"{name}.yaml", tokens)
    port, proxy = processes.proxy(
        simulator_port, name, args=["--config", str(file)], RATE_LIMIT_MAX_WAIT_SECONDS="120", CACHE_TTL_SECONDS="3600")
    simulator_control(simulator_port, "/_simulator/reset")
    a_results: list = []
    b_results: list = []
    go = threading.Event()
    a_threads = send_all(port, paths[:200], tokens["a"], 150, a_results, go)
    released = time.monotonic()
    go.set()
    time.sleep(1)
    b_threads = send_all(port, paths[200:205], tokens["a" if shared else "b"], 150, b_results, None)
    for thread in a_threads + b_threads:
        thread.join(160)
    stats = simulator_stats(simulator_port)
    metrics = proxy_metrics(port)
    processes.started.remove(proxy)
    stop(proxy)
    everything = a_results + b_results
    errors = [r[0] for r in everything if r[0] != 200]
    return {
        "name": name, "b_worst": max(r[2] - r[1] for r in b_results), "b_waits": sorted(r[2] - r[1] for r in b_results),
        "a_total": max(r[2] for r in a_results) - released, "errors": errors, "answered": len(everything),
        "upstream_429": stats["by_status"].get("429", 0), "upstream": stats["requests"],
        "b_calls": metric_total(metrics, "persona_proxy_client_upstream_calls_total", 'client="b"'),
    }


def cost(processes: Processes, simulator_port: int, connection_id: str, rounds: int, duration: int) -> dict:
    # Ten clients, so a token is compared with ten hashes, as a real deployment would.
    tokens = {f"service-{i}": "ppt_" + secrets.token_urlsafe(32) for i in range(10)}
    file = config(processes.workdir / "cost.yaml", tokens)
    on_port, _ = processes.proxy(simulator_port, "tokens-on", args=["--config", str(file)], CACHE_TTL_SECONDS="3600")
    off_port, _ = processes.proxy(simulator_port, "tokens-off", CACHE_TTL_SECONDS="3600")
    path = f"/api/v1/connect/connections/{quote(connection_id)}"
    token = {"Authorization": f"Bearer {tokens['service-7']}"}
    setups = {"on": (on_port, token), "off": (off_port, {})}
    for port, headers in setups.values():
        for _ in range(2):  # a miss, then a hit
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                raise SystemExit(f"warming {port}: {response.status}")
        run_wrk(f"http://127.0.0.1:{port}{path}", headers, 1, 16, 2)  # unmeasured warm-up
    rps: dict[str, list[float]] = {"on": [], "off": []}
    for index in range(rounds):
        order = ["on", "off"] if index % 2 == 0 else ["off", "on"]
        for which in order:
            port, headers = setups[which]
            result = run_wrk(f"http://127.0.0.1:{port}{path}", headers, 1, 16, duration)
            if result["non2xx"]:
                raise SystemExit(f"{which}: {result['non2xx']} non-2xx answers under wrk")
            rps[which].append(result["rps"])
    return {which: statistics.median(values) for which, values in rps.items()} | {"rounds": rps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    binary = resolve_binary(args.bin)
    if not args.skip_cost and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk), or pass --skip-cost")
    print("\n".join(machine_info(binary)[:1]))
    print(binary_description(binary))
    print(f"simulator: {LIMIT} calls per {WINDOW} s; A: 200 distinct misses at once; B: 5 distinct misses 1 s later; weights 1:1\n",
          flush=True)
    missed: list[str] = []
    with Processes(binary, "persona-proxy-fairness-") as processes:
        simulator_port = processes.simulator(LIMIT, WINDOW, 0, 210)
        ids = list_connection_ids(simulator_port)
        if len(ids) < 205:
            raise SystemExit(f"the simulator has {len(ids)} ids; need 205")
        paths = [f"/api/v1/connect/connections/{quote(i)}" for i in ids[:205]]
        runs = [fairness_run(processes, simulator_port, paths, "fair", shared=False),
                fairness_run(processes, simulator_port, paths, "shared", shared=True)]
        print(f"{'run':<8} {'B worst wait s':>14} {'B waits s':>34} {'A total s':>9} {'errors':>6} {'upstream':>8} {'429s':>4}")
        for r in runs:
            waits = " ".join(f"{w:.2f}" for w in r["b_waits"])
            print(f"{r['name']:<8} {r['b_worst']:>14.2f} {waits:>34} {r['a_total']:>9.2f} {len(r['errors']):>6} "
                  f"{r['upstream']:>8} {r['upstream_429']:>4}")
        fair = runs[0]
        print(f"\nB's worst wait, shared / fair: {runs[1]['b_worst'] / fair['b_worst']:.1f} x")
        if fair["b_worst"] > WINDOW:
            missed.append(f"B waited {fair['b_worst']:.2f} s > one window ({WINDOW} s)")
        if fair["errors"]:
            missed.append(f"{len(fair['errors'])} caller errors (first: {fair['errors'][0]})")
        if fair["upstream_429"] > 1:
            missed.append(f"{fair['upstream_429']} upstream 429s")
        if fair["answered"] != 205:
            missed.append(f"{fair['answered']} of 205 answered")

        if not args.skip_cost:
            result = cost(processes, simulator_port, ids[0], args.rounds, args.duration)
            ratio = result["on"] / result["off"]
            print(f"\nhit throughput, wrk -t1 -c16 -d{args.duration}s x {args.rounds} rounds each, alternating:")
            for which in ("on", "off"):
                print(f"  tokens {which:<3}  median {result[which]:>9.0f} req/s   rounds: "
                      + " ".join(f"{v:.0f}" for v in result["rounds"][which]))
            print(f"  on / off = {ratio:.3f}")
            if ratio < 0.95:
                missed.append(f"tokens cost {1 - ratio:.1%} of hit throughput (floor: ratio >= 0.95)")
    return report_floors("fair run: B worst wait <= 5 s, 0 errors, <= 1 upstream 429; tokens on/off >= 0.95", missed)


if __name__ == "__main__":
    sys.exit(main())
