#!/usr/bin/env python3
"""Hit/miss latency baseline for persona-proxy, measured against the Persona simulator.

Starts `persona-proxy simulate` and `persona-proxy serve` (fresh cache) on free loopback ports and
measures, interleaved in rounds so that all three see the same machine conditions:

  direct      GET the simulator itself (the same id, with the simulator key)
  proxy miss  GET through the proxy, a distinct id every time (each one a call to the simulator)
  proxy hit   GET through the proxy, the same (cached) id every time

Each series uses one keep-alive connection (http.client.HTTPConnection), requests strictly sequential,
after a warm-up. Prints p50/p90/p99 in ms and the proxy/direct ratios. With --throughput it also runs
wrk (-t1 -c16 -d10s by default) against a hit URL and against the simulator directly.

    python3 Benchmarks/latency.py                       # release build if present, else debug
    python3 Benchmarks/latency.py --bin .build/debug/persona-proxy --hits 500 --misses 200
    python3 Benchmarks/latency.py --throughput

Everything stays on 127.0.0.1; every process started here is killed before exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]
SIMULATOR_KEY = "persona_sandbox_simulator-key"
HOT_ID = "cxn_ABC123"
CONFIG_ENV = (
    "SERVER_HOST", "SERVER_PORT", "UPSTREAM_BASE_URL", "UPSTREAM_API_KEY_FILE", "UPSTREAM_PERSONA_VERSION",
    "UPSTREAM_TIMEOUT_SECONDS", "CACHE_PATH", "CACHE_TTL_SECONDS", "CACHE_NOT_FOUND_TTL_SECONDS",
    "CACHE_MEMORY_ENTRIES", "CACHE_STALE_WHILE_REVALIDATE_SECONDS", "CACHE_STALE_IF_ERROR_SECONDS",
    "RATE_LIMIT_MAX_WAIT_SECONDS", "RATE_LIMIT_RESERVE_FRACTION", "RATE_LIMIT_MAX_CONCURRENCY",
    "RATE_LIMIT_BACKOFF_BASE_SECONDS", "RATE_LIMIT_BACKOFF_MAX_SECONDS",
    "LOG_LEVEL", "PERSONA_API_KEY", "CREDENTIALS_DIRECTORY",
)


def default_binary() -> Path:
    release = REPO_ROOT / ".build/release/persona-proxy"
    return release if release.is_file() else REPO_ROOT / ".build/debug/persona-proxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_ENV}
    env.update(extra)
    return env


def wait_until(port: int, path: str, what: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before it answered {path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{what} did not answer {path} within {timeout} s")


class Series:
    """One keep-alive connection and the latencies measured on it."""

    def __init__(self, name: str, port: int, headers: dict[str, str], expect_cache: str | None) -> None:
        self.name = name
        self.port = port
        self.headers = headers
        self.expect_cache = expect_cache  # a Cache-Status parameter every answer must carry
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.samples_ms: list[float] = []

    def get(self, path: str, record: bool = True) -> None:
        started = time.perf_counter_ns()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if response.status != 200:
            raise SystemExit(f"{self.name}: {path} answered {response.status}: {body[:300]!r}")
        if self.expect_cache is not None:
            params = [p.strip() for p in (response.getheader("Cache-Status") or "").split(";")]
            if self.expect_cache not in params:
                raise SystemExit(f"{self.name}: {path}: Cache-Status {response.getheader('Cache-Status')!r}, "
                                 f"expected {self.expect_cache}")
        if record:
            self.samples_ms.append(elapsed)

    def close(self) -> None:
        self.connection.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]


def summary(samples: list[float]) -> dict[str, float]:
    values = sorted(samples)
    return {
        "n": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90), "p99": percentile(values, 99),
        "mean": sum(values) / len(values), "max": values[-1],
    }


def list_connection_ids(port: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = "/api/v1/connect/connections?page%5Bsize%5D=100"
    ids: list[str] = []
    try:
        while path:
            connection.request("GET", path, headers={"Authorization": f"Bearer {SIMULATOR_KEY}"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"listing connections: {response.status} {body[:300]!r}")
            document = json.loads(body)
            ids.extend(item["id"] for item in document["data"])
            path = (document.get("links") or {}).get("next")
    finally:
        connection.close()
    return ids


def simulator_requests(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/_simulator/stats")
        return json.loads(connection.getresponse().read())["requests"]
    finally:
        connection.close()


def machine_info(binary: Path) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    build = "release" if "/release/" in str(binary) else ("debug" if "/debug/" in str(binary) else "?")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: nproc={nproc}, cpu={cpu}, {platform.system()} {platform.release()} {platform.machine()}, "
        f"load average {load}",
        f"binary: {binary} ({build} build); client: Python {platform.python_version()} http.client, "
        "sequential, one keep-alive connection per series, all on 127.0.0.1",
    ]


def run_wrk(url: str, headers: dict[str, str], threads: int, connections: int, duration: int) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    p50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)", output, re.M)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", output, re.M)

    def ms(match) -> float:
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    if not rps:
        raise SystemExit(f"could not parse wrk output:\n{output}")
    return {
        "rps": float(rps.group(1)), "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "", "p50": ms(p50), "p99": ms(p99),
    }


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None, help="persona-proxy binary (default: release if built, else debug)")
    parser.add_argument("--hits", type=int, default=2000, help="measured hits (and direct requests)")
    parser.add_argument("--misses", type=int, default=500, help="measured misses (distinct ids)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per series first (misses: a quarter)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaving rounds")
    parser.add_argument("--seed", type=int, default=2000, help="connections the simulator seeds besides cxn_ABC123")
    parser.add_argument("--simulator-latency-ms", type=int, default=0, help="latency the simulator adds to each answer")
    parser.add_argument("--throughput", action="store_true", help="also run wrk against a hit URL and the simulator")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wrk-connections", type=int, default=16)
    parser.add_argument("--wrk-duration", type=int, default=10)
    args = parser.parse_args()

    binary = args.bin or default_binary()
    if not binary.is_absolute():
        binary = (Path.cwd() / binary) if (Path.cwd() / binary).exists() else REPO_ROOT / binary
    if not binary.is_file():
        raise SystemExit(f"no binary at {binary}: swift build -c release --product persona-proxy")
    miss_warmup = max(1, args.warmup // 4)

    workdir = Path(tempfile.mkdtemp(prefix="persona-proxy-bench-"))
    simulator = proxy = None
    series: list[Series] = []
    try:
        simulator_port = free_port()
        simulator = subprocess.Popen(
            [str(binary), "simulate", "--host", "127.0.0.1", "--port", str(simulator_port), "--api-key", SIMULATOR_KEY,
             "--rate-limit", "1000000000", "--window-seconds", "60", "--latency-ms", str(args.simulator_latency_ms),
             "--seed", str(args.seed)],
            cwd=workdir, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(workdir / "simulator.stderr", "wb"))
        wait_until(simulator_port, "/_simulator/stats", "the simulator", simulator)

        ids = [i for i in list_connection_ids(simulator_port) if i != HOT_ID]
        if len(ids) < args.misses + miss_warmup:
            raise SystemExit(f"the simulator has {len(ids)} other ids; need {args.misses + miss_warmup} (raise --seed)")

        proxy_port = free_port()
        proxy = subprocess.Popen(
            [str(binary), "serve"], cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(workdir / "proxy.stderr", "wb"),
            env=clean_env(
                PERSONA_API_KEY=SIMULATOR_KEY, SERVER_HOST="127.0.0.1", SERVER_PORT=str(proxy_port),
                UPSTREAM_BASE_URL=f"http://127.0.0.1:{simulator_port}", CACHE_PATH=str(workdir / "cache.sqlite"),
                CACHE_TTL_SECONDS="3600", LOG_LEVEL="warning"))
        wait_until(proxy_port, "/readyz", "persona-proxy", proxy)

        hot_path = f"/api/v1/connect/connections/{HOT_ID}"
        direct = Series("direct", simulator_port, {"Authorization": f"Bearer {SIMULATOR_KEY}"}, None)
        miss = Series("proxy miss", proxy_port, {"X-Client-Name": "benchmark"}, "fwd=miss")
        hit = Series("proxy hit", proxy_port, {"X-Client-Name": "benchmark"}, "hit")
        series = [direct, miss, hit]

        # Warm-up: the first hit request is the miss that fills the entry.
        prime = Series("prime", proxy_port, {}, "fwd=miss")
        prime.get(hot_path, record=False)
        prime.close()
        miss_ids = iter(ids)
        for _ in range(args.warmup):
            direct.get(hot_path, record=False)
            hit.get(hot_path, record=False)
        for _ in range(miss_warmup):
            miss.get(f"/api/v1/connect/connections/{quote(next(miss_ids))}", record=False)

        upstream_during_hits = 0
        for round_index in range(args.rounds):
            def share(total: int) -> int:
                return total // args.rounds + (1 if round_index < total % args.rounds else 0)
            for _ in range(share(args.hits)):
                direct.get(hot_path)
            for _ in range(share(args.misses)):
                miss.get(f"/api/v1/connect/connections/{quote(next(miss_ids))}")
            before = simulator_requests(simulator_port)
            for _ in range(share(args.hits)):
                hit.get(hot_path)
            upstream_during_hits += simulator_requests(simulator_port) - before

        results = {s.name: summary(s.samples_ms) for s in series}
        lines = machine_info(binary)
        lines.append(f"simulator: {args.seed + 1} connections, added latency {args.simulator_latency_ms} ms; "
                     f"{args.rounds} interleaved rounds; warm-up {args.warmup} direct/hit, {miss_warmup} miss")
        lines.append("")
        lines.append(f"{'series':<12} {'n':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}")
        for name in ("direct", "proxy miss", "proxy hit"):
            r = results[name]
            lines.append(f"{name:<12} {r['n']:>6} {r['p50']:>8.3f} {r['p90']:>8.3f} {r['p99']:>8.3f} "
                         f"{r['mean']:>8.3f} {r['max']:>8.3f}")
        lines.append("")
        lines.append(f"{'ratio':<20} {'p50':>6} {'p90':>6} {'p99':>6}")
        for name in ("proxy hit", "proxy miss"):
            r, d = results[name], results["direct"]
            lines.append(f"{name + ' / direct':<20} " + " ".join(f"{r[p] / d[p]:>6.2f}" for p in ("p50", "p90", "p99")))
        lines.append("")
        lines.append(f"simulator calls made while measuring hits: {upstream_during_hits} (must be 0)")
        print("\n".join(lines), flush=True)
        for s in series:
            s.close()
        if upstream_during_hits:
            return 1

        if args.throughput:
            if shutil.which("wrk") is None:
                print("\n--throughput: wrk is not installed (apt-get install -y wrk); skipped")
            else:
                print(f"\nthroughput: wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.wrk_duration}s "
                      "--latency (same id each request)", flush=True)
                before = simulator_requests(simulator_port)
                hit_run = run_wrk(f"http://127.0.0.1:{proxy_port}{hot_path}", {"X-Client-Name": "wrk"},
                                  args.wrk_threads, args.wrk_connections, args.wrk_duration)
                upstream = simulator_requests(simulator_port) - before
                direct_run = run_wrk(f"http://127.0.0.1:{simulator_port}{hot_path}",
                                     {"Authorization": f"Bearer {SIMULATOR_KEY}"},
                                     args.wrk_threads, args.wrk_connections, args.wrk_duration)
                print(f"{'target':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}  socket errors")
                for name, run in (("proxy hit", hit_run), ("direct", direct_run)):
                    print(f"{name:<12} {run['rps']:>10.0f} {run['p50']:>8.3f} {run['p99']:>8.3f} {run['non2xx']:>8}  "
                          f"{run['errors'] or 'none'}")
                print(f"proxy hit / direct req/s: {hit_run['rps'] / direct_run['rps']:.2f}; "
                      f"simulator calls during the proxy run: {upstream}")
        return 0
    finally:
        for s in series:
            s.close()
        stop(proxy)
        stop(simulator)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
