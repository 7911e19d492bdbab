#!/usr/bin/env python3
"""The cost of recording cache hits in the request log: hit throughput with
`request_log.record_hits` on and off, measured side by side in one run.

Starts the Persona simulator and TWO `persona-proxy serve` processes in front of it, each with its own
fresh database: `on` (REQUEST_LOG_RECORD_HITS=true, every hit queued and written in 100 ms batches)
and `off` (REQUEST_LOG_RECORD_HITS=false, only calls to Persona recorded). It warms one id in each
(one miss, then a hit), runs an unmeasured wrk warm-up against both, then alternates measured rounds
of `wrk -t1 -c16 -d5s` against each proxy's hit URL (the order flips every round, so a drift in the
machine's load falls on both). Reports requests/s per round, the median per configuration, and the
on/off ratio: the share of hit throughput that logging hits keeps.

After both proxies have stopped (SIGTERM, exit 0 required) it counts the rows in each database, to
show the hits were really recorded by `on` (one row per request it answered) and not by `off`.

    python3 Benchmarks/hit_logging.py                    # 6 rounds x 5 s per proxy (~70 s)
    python3 Benchmarks/hit_logging.py --rounds 10 --duration 10
    python3 Benchmarks/hit_logging.py --bin .build/debug/persona-proxy

Needs wrk (apt-get install -y wrk). Everything stays on 127.0.0.1; every process started here is
stopped before exit (SIGTERM, then SIGKILL after 5 s).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latency import (
    REPO_ROOT, SIMULATOR_KEY, clean_env, default_binary, free_port, machine_info, simulator_requests, wait_until,
)

HOT_ID = "cxn_ABC123"
HOT_PATH = f"/api/v1/connect/connections/{HOT_ID}"
CONFIGURATIONS = ("on", "off")


def stop(process: subprocess.Popen | None) -> int | None:
    """SIGTERM, then SIGKILL after 5 s; the exit code (negative: killed by that signal)."""
    if process is None:
        return None
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode


def cache_status(port: int) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", HOT_PATH, headers={"X-Client-Name": "warm-up"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Cache-Status") or ""
    finally:
        connection.close()


def run_wrk(url: str, threads: int, connections: int, duration: int) -> dict:
    """wrk against url: requests/s, completed requests, p50/p99 ms, non-2xx, socket errors."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-H", "X-Client-Name: wrk", url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\b", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    if not rps or not total:
        raise SystemExit(f"could not parse wrk output:\n{output}")
    return {
        "rps": float(rps.group(1)), "requests": int(total.group(1)), "p50": ms("50"), "p99": ms("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(0) if errors else "",
    }


def count_rows(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        rows = dict(db.execute("SELECT cache_outcome, count(*) FROM request_log GROUP BY cache_outcome").fetchall())
        rows["total"] = db.execute("SELECT count(*) FROM request_log").fetchone()[0]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None, help="persona-proxy binary (default: release if built, else debug)")
    parser.add_argument("--rounds", type=int, default=6, help="measured rounds (each: one wrk run per proxy)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured wrk per proxy first")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wrk-connections", type=int, default=16)
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    binary = args.bin or default_binary()
    if not binary.is_absolute():
        binary = (Path.cwd() / binary) if (Path.cwd() / binary).exists() else REPO_ROOT / binary
    if not binary.is_file():
        raise SystemExit(f"no binary at {binary}: swift build -c release --product persona-proxy")

    workdir = Path(tempfile.mkdtemp(prefix="persona-proxy-hit-logging-"))
    reported_binary = binary
    simulator = None
    proxies: dict[str, subprocess.Popen] = {}
    ports: dict[str, int] = {}
    databases = {name: workdir / f"{name}.sqlite" for name in CONFIGURATIONS}
    try:
        # A private copy, so that a rebuild during the run changes nothing (reported under its original path).
        binary = Path(shutil.copy2(binary, workdir / "persona-proxy"))
        simulator_port = free_port()
        simulator = subprocess.Popen(
            [str(binary), "simulate", "--host", "127.0.0.1", "--port", str(simulator_port), "--api-key", SIMULATOR_KEY,
             "--rate-limit", "1000000000", "--window-seconds", "60", "--latency-ms", "0", "--seed", "10"],
            cwd=workdir, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(workdir / "simulator.stderr", "wb"))
        wait_until(simulator_port, "/_simulator/stats", "the simulator", simulator)

        for name in CONFIGURATIONS:
            ports[name] = free_port()
            proxies[name] = subprocess.Popen(
                [str(binary), "serve"], cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(workdir / f"proxy-{name}.stderr", "wb"),
                env=clean_env(
                    PERSONA_API_KEY=SIMULATOR_KEY, SERVER_HOST="127.0.0.1", SERVER_PORT=str(ports[name]),
                    UPSTREAM_BASE_URL=f"http://127.0.0.1:{simulator_port}", CACHE_PATH=str(databases[name]),
                    CACHE_TTL_SECONDS="3600", LOG_LEVEL="warning",
                    REQUEST_LOG_RECORD_HITS="true" if name == "on" else "false",
                    REQUEST_LOG_RETENTION_DAYS="30", REQUEST_LOG_MAX_ROWS="0"))
            wait_until(ports[name], "/readyz", f"persona-proxy ({name})", proxies[name])

        # One miss fills the entry, then a hit proves it is cached.
        for name in CONFIGURATIONS:
            for expected in ("fwd=miss", "hit"):
                status, value = cache_status(ports[name])
                params = [p.strip() for p in value.split(";")]
                if status != 200 or expected not in params:
                    raise SystemExit(f"{name}: warming {HOT_PATH}: {status} Cache-Status {value!r}, expected {expected}")
        urls = {name: f"http://127.0.0.1:{ports[name]}{HOT_PATH}" for name in CONFIGURATIONS}
        answered = {name: 2 for name in CONFIGURATIONS}  # the warm-up miss and hit
        if args.warmup > 0:
            for name in CONFIGURATIONS:
                answered[name] += run_wrk(urls[name], args.wrk_threads, args.wrk_connections, args.warmup)["requests"]

        upstream_before = simulator_requests(simulator_port)
        runs: dict[str, list[dict]] = {name: [] for name in CONFIGURATIONS}
        orders: list[tuple[str, ...]] = []
        print(f"wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.duration}s --latency, same id, "
              f"{args.rounds} rounds (order flips each round)", flush=True)
        for round_index in range(args.rounds):
            order = CONFIGURATIONS if round_index % 2 == 0 else tuple(reversed(CONFIGURATIONS))
            orders.append(order)
            for name in order:
                run = run_wrk(urls[name], args.wrk_threads, args.wrk_connections, args.duration)
                runs[name].append(run)
                answered[name] += run["requests"]
            print(f"  round {round_index + 1}: on {runs['on'][-1]['rps']:.0f} req/s, off {runs['off'][-1]['rps']:.0f} req/s",
                  flush=True)
        upstream_calls = simulator_requests(simulator_port) - upstream_before

        exit_codes = {name: stop(proxies[name]) for name in CONFIGURATIONS}
        rows = {name: count_rows(databases[name]) for name in CONFIGURATIONS}
        sizes = {name: sum(p.stat().st_size for p in workdir.glob(f"{name}.sqlite*")) for name in CONFIGURATIONS}
        dropped = {name: "dropped" in (workdir / f"proxy-{name}.stderr").read_text(errors="replace") for name in CONFIGURATIONS}

        build = "release" if "/release/" in str(reported_binary) else ("debug" if "/debug/" in str(reported_binary) else "?")
        digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
        lines = machine_info(reported_binary)[:1] + [
            f"binary: {reported_binary} ({build} build, sha256 {digest}…); client: wrk -t{args.wrk_threads} "
            f"-c{args.wrk_connections} (keep-alive), X-Client-Name: wrk; simulator latency 0 ms; all on 127.0.0.1"]
        lines.append("")
        lines.append(f"{'round':<6} {'order':<8} {'on req/s':>10} {'off req/s':>10} {'on/off':>7}   "
                     f"{'on p50/p99 ms':>14} {'off p50/p99 ms':>15}")
        for index in range(args.rounds):
            on, off = runs["on"][index], runs["off"][index]
            lines.append(f"{index + 1:<6} {','.join(orders[index]):<8} {on['rps']:>10.0f} {off['rps']:>10.0f} "
                         f"{on['rps'] / off['rps']:>7.3f}   {on['p50']:>6.3f}/{on['p99']:<7.3f} {off['p50']:>7.3f}/{off['p99']:<7.3f}")
        median = {name: statistics.median(r["rps"] for r in runs[name]) for name in CONFIGURATIONS}
        median_p50 = {name: statistics.median(r["p50"] for r in runs[name]) for name in CONFIGURATIONS}
        median_p99 = {name: statistics.median(r["p99"] for r in runs[name]) for name in CONFIGURATIONS}
        per_round = [runs["on"][i]["rps"] / runs["off"][i]["rps"] for i in range(args.rounds)]
        lines.append(f"{'median':<15} {median['on']:>10.0f} {median['off']:>10.0f} {statistics.median(per_round):>7.3f}   "
                     f"{median_p50['on']:>6.3f}/{median_p99['on']:<7.3f} {median_p50['off']:>7.3f}/{median_p99['off']:<7.3f}")
        lines.append("")
        lines.append(f"on/off, ratio of the medians: {median['on'] / median['off']:.3f} "
                     f"(hit logging costs {100 * (1 - median['on'] / median['off']):.1f} % of hit throughput); "
                     f"per-round ratios {min(per_round):.3f}–{max(per_round):.3f}")
        non2xx = {name: sum(r["non2xx"] for r in runs[name]) for name in CONFIGURATIONS}
        errors = {name: sorted({r["errors"] for r in runs[name] if r["errors"]}) for name in CONFIGURATIONS}
        lines.append(f"non-2xx: on {non2xx['on']}, off {non2xx['off']}; socket errors: on {errors['on'] or 'none'}, "
                     f"off {errors['off'] or 'none'}; simulator calls during the rounds: {upstream_calls} (must be 0)")
        lines.append("")
        lines.append("after SIGTERM (exit codes: " + ", ".join(f"{n} {exit_codes[n]}" for n in CONFIGURATIONS) + "):")
        for name in CONFIGURATIONS:
            counts = rows[name]
            lines.append(f"  {name:<3} SELECT count(*) FROM request_log = {counts['total']} "
                         f"(hit {counts.get('hit', 0)}, miss {counts.get('miss', 0)}); responses wrk and the warm-up "
                         f"read: {answered[name]}; database {sizes[name] / 1e6:.1f} MB"
                         + ("; 'dropped' in its log" if dropped[name] else ""))
        print("\n".join(lines), flush=True)

        failures = []
        if upstream_calls:
            failures.append("the simulator was called during the rounds")
        if any(code != 0 for code in exit_codes.values()):
            failures.append(f"a proxy did not exit 0 on SIGTERM: {exit_codes}")
        if rows["on"]["total"] < answered["on"]:
            failures.append(f"on: {rows['on']['total']} rows for {answered['on']} answered requests")
        if rows["off"]["total"] != 1:
            failures.append(f"off: {rows['off']['total']} rows (expected 1: the warm-up miss)")
        if any(non2xx.values()):
            failures.append("non-2xx answers")
        for failure in failures:
            print(f"FAILED: {failure}", flush=True)
        return 1 if failures else 0
    finally:
        for process in proxies.values():
            stop(process)
        stop(simulator)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
