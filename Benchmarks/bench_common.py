"""Process and HTTP helpers shared by rate_limit_burst.py and coalescing.py.

Built on latency.py's process handling (free ports, a scrubbed environment, waiting for a port to
answer, SIGTERM then SIGKILL). Everything runs on 127.0.0.1; every process started through
`Processes` is stopped when its `with` block ends, whatever happens inside.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from latency import (  # noqa: F401  (re-exported for the benchmarks)
    REPO_ROOT, SIMULATOR_KEY, clean_env, default_binary, free_port, list_connection_ids, machine_info, percentile,
    stop, wait_until,
)


def resolve_binary(raw: Path | None) -> Path:
    binary = raw or default_binary()
    if not binary.is_absolute():
        binary = (Path.cwd() / binary) if (Path.cwd() / binary).exists() else REPO_ROOT / binary
    if not binary.is_file():
        raise SystemExit(f"no binary at {binary}: swift build -c release --product persona-proxy")
    return binary


def binary_description(binary: Path) -> str:
    build = "release" if "/release/" in str(binary) else ("debug" if "/debug/" in str(binary) else "?")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(binary.stat().st_mtime))
    return f"binary: {binary} ({build} build, built {built}, sha256 {digest}…)"


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def simulator_control(port: int, path: str) -> dict:
    status, body = request(port, "POST", path)
    if status != 200:
        raise SystemExit(f"simulator control {path}: {status} {body[:200]!r}")
    return json.loads(body)


def simulator_stats(port: int) -> dict:
    """{"requests": n, "by_status": {"200": n, "429": n}}"""
    status, body = request(port, "GET", "/_simulator/stats")
    if status != 200:
        raise SystemExit(f"simulator stats: {status} {body[:200]!r}")
    return json.loads(body)


def proxy_metrics(port: int) -> dict[str, float]:
    """`GET /metrics` as {"name{labels}": value} (Prometheus text format, comments dropped)."""
    status, body = request(port, "GET", "/metrics")
    if status != 200:
        raise SystemExit(f"/metrics: {status}")
    samples: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                pass
    return samples


def metric_total(samples: dict[str, float], name: str, label: str | None = None) -> float:
    """Sum of the samples of `name` (every label set), or only those whose labels contain `label`."""
    total = 0.0
    for key, value in samples.items():
        base, _, labels = key.partition("{")
        if base == name and (label is None or label in labels):
            total += value
    return total


class Processes:
    """A temporary work directory, a private copy of the binary (a rebuild while the benchmark runs
    cannot change what is measured), and every process started from it, stopped at exit."""

    def __init__(self, binary: Path, prefix: str) -> None:
        self.source_binary = binary
        self.prefix = prefix
        self.workdir: Path | None = None
        self.binary: Path | None = None
        self.started: list[subprocess.Popen] = []

    def __enter__(self) -> "Processes":
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.binary = self.workdir / "persona-proxy"
        shutil.copy2(self.source_binary, self.binary)
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self.started):
            stop(process)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def simulator(self, rate_limit: int, window_seconds: int, latency_ms: int, seed: int) -> int:
        """Starts `persona-proxy simulate`; returns its port."""
        assert self.workdir is not None and self.binary is not None
        port = free_port()
        process = subprocess.Popen(
            [str(self.binary), "simulate", "--host", "127.0.0.1", "--port", str(port), "--api-key", SIMULATOR_KEY,
             "--rate-limit", str(rate_limit), "--window-seconds", str(window_seconds), "--latency-ms", str(latency_ms),
             "--seed", str(seed)],
            cwd=self.workdir, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "simulator.stderr", "ab"))
        self.started.append(process)
        wait_until(port, "/_simulator/stats", "the simulator", process)
        return port

    def proxy(self, upstream_port: int, name: str, args: list[str] | None = None, **env: str) -> tuple[int, subprocess.Popen]:
        """Starts `persona-proxy serve [args]` with a fresh cache; returns its port and process."""
        assert self.workdir is not None and self.binary is not None
        port = free_port()
        full_env = clean_env(
            PERSONA_API_KEY=SIMULATOR_KEY, SERVER_HOST="127.0.0.1", SERVER_PORT=str(port),
            UPSTREAM_BASE_URL=f"http://127.0.0.1:{upstream_port}", CACHE_PATH=str(self.workdir / f"{name}.sqlite"),
            LOG_LEVEL="warning")
        full_env.update(env)
        process = subprocess.Popen(
            [str(self.binary), "serve", *(args or [])], cwd=self.workdir, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.workdir / f"{name}.stderr", "ab"))
        self.started.append(process)
        wait_until(port, "/readyz", "persona-proxy", process)
        return port, process


def report_floors(floors: str, missed: list[str]) -> int:
    """Prints the floors and what was missed; the exit status (1 if any floor was missed)."""
    print(f"\nfloors: {floors}")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("all floors met")
    return 0
