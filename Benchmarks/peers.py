#!/usr/bin/env python3
"""Cache hits side by side: persona-proxy, nginx `proxy_cache` and Varnish, one run.

Each is put in front of the same upstream (the Persona simulator) with the same 5-minute TTL, set
up as `../shared/docs/peers.md` describes (nginx: one worker, access_log off, proxy_cache with a
keys_zone, proxy_ignore_headers Cache-Control Expires, upstream keepalive; Varnish: -s malloc,128m,
TTL forced in vcl_backend_response). Each target is warmed with two requests, then measured with
`wrk -t1 -c32 -d{duration}s --latency` on one cached URL, interleaved A B C then C B A per round;
the median per target is reported with p50/p99 and the ratio to nginx. persona-proxy runs with
its request log recording every hit (the default) and LOG_LEVEL=warning (no per-request stderr
line, as nginx runs with access_log off); a second persona-proxy with
REQUEST_LOG_RECORD_HITS=false runs in the same rounds, to show what the request log costs.

Then, persona-proxy alone:
  1M entries   a cache file with 1 000 000 fresh entries (written directly with sqlite3 in the
               proxy's schema, which its own code created), only `cache.memory_entries` of them in
               memory: hits on random ids versus hits on one id (wrk with a Lua script), RSS after.
  start-up     time from exec to the first answered /healthz and /readyz with that file.

    python3 Benchmarks/peers.py                    # installs nginx, varnish, wrk if missing (root, apt)
    python3 Benchmarks/peers.py --rounds 3 --duration 6 --skip-million
    python3 Benchmarks/peers.py --bin .build/release/persona-proxy

Never run by CI. Everything stays on 127.0.0.1; every process started here is stopped before exit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import Processes, binary_description, machine_info, report_floors, resolve_binary, stop
from latency import SIMULATOR_KEY, free_port, run_wrk

PATH = "/api/v1/connect/connections/cxn_ABC123"
PROXY_ENV = {"LOG_LEVEL": "warning", "REQUEST_LOG_RECORD_HITS": "true"}


def ensure_installed() -> None:
    missing = [package for package, command in (("nginx", "nginx"), ("varnish", "varnishd"), ("wrk", "wrk"))
               if shutil.which(command) is None and not Path(f"/usr/sbin/{command}").exists()]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install -y {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def start_nginx(workdir: Path, upstream_port: int) -> tuple[int, Path]:
    port = free_port()
    root = workdir / "nginx"
    (root / "cache").mkdir(parents=True)
    (root / "logs").mkdir()
    conf = root / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    proxy_cache_path {root}/cache levels=1:2 keys_zone=persona:10m max_size=1g inactive=1h;
    upstream persona {{ server 127.0.0.1:{upstream_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://persona;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer {SIMULATOR_KEY}";
            proxy_cache persona;
            proxy_cache_valid 200 5m;
            proxy_ignore_headers Cache-Control Expires;
            proxy_cache_lock on;
        }}
    }}
}}
""")
    subprocess.run(["nginx", "-p", str(root), "-c", str(conf)], check=True)
    return port, root / "nginx.pid"


def start_varnish(workdir: Path, upstream_port: int) -> tuple[int, subprocess.Popen]:
    port = free_port()
    root = workdir / "varnish"
    root.mkdir()
    os.chmod(workdir, 0o755)
    os.chmod(root, 0o755)
    vcl = root / "default.vcl"
    vcl.write_text(f"""vcl 4.1;
backend persona {{ .host = "127.0.0.1"; .port = "{upstream_port}"; }}
sub vcl_recv {{ unset req.http.Cookie; unset req.http.Authorization; return (hash); }}
sub vcl_backend_fetch {{ set bereq.http.Authorization = "Bearer {SIMULATOR_KEY}"; }}
sub vcl_backend_response {{
    set beresp.ttl = 5m; set beresp.grace = 1h; unset beresp.http.Cache-Control; return (deliver);
}}
""")
    os.chmod(vcl, 0o644)
    process = subprocess.Popen(
        ["varnishd", "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-s", "malloc,128m", "-n", str(root / "state")],
        stdout=subprocess.DEVNULL, stderr=open(root / "varnishd.log", "ab"))
    return port, process


def warm(port: int, path: str = PATH) -> None:
    import http.client
    for _ in range(2):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise SystemExit(f"warming port {port}: {response.status}")


def wait_for_port(port: int, timeout: float = 20) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def side_by_side(targets: dict[str, int], rounds: int, duration: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {name: [] for name in targets}
    names = list(targets)
    for index in range(rounds):
        for name in (names if index % 2 == 0 else list(reversed(names))):
            result = run_wrk(f"http://127.0.0.1:{targets[name]}{PATH}", {}, 1, 32, duration)
            if result["non2xx"]:
                raise SystemExit(f"{name}: {result['non2xx']} non-2xx answers")
            results[name].append(result)
    return results


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_to_ready(processes: Processes, simulator_port: int, cache: Path) -> float:
    """Seconds from exec to the first `/readyz` 200, polled every 2 ms (median of 3 starts)."""
    import http.client
    from latency import clean_env
    times = []
    for _ in range(3):
        port = free_port()
        env = clean_env(
            PERSONA_API_KEY=SIMULATOR_KEY, SERVER_HOST="127.0.0.1", SERVER_PORT=str(port),
            UPSTREAM_BASE_URL=f"http://127.0.0.1:{simulator_port}", CACHE_PATH=str(cache), **PROXY_ENV, SWEEP_INTERVAL_SECONDS="0")
        started = time.monotonic()
        process = subprocess.Popen([str(processes.binary), "serve"], env=env, cwd=processes.workdir,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.monotonic() - started < 30:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    connection.request("GET", "/readyz")
                    response = connection.getresponse()
                    response.read()
                    if response.status == 200:
                        times.append(time.monotonic() - started)
                        break
                except OSError:
                    pass
                time.sleep(0.002)
        finally:
            stop(process)
    return statistics.median(times)


def wait_for_verify(pid: int, timeout: float = 300) -> None:
    """Waits until the proxy's start-up `PRAGMA quick_check` (its thread `ppx-verify`, nice 19) has
    read the whole file: over a million entries it runs for tens of seconds, and measured beside it
    the first one-id run was 53.6k req/s against 63.3k after."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        names = set()
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                names.add((task / "comm").read_text().strip())
            except OSError:
                pass
        if "ppx-verify" not in names:
            return
        time.sleep(0.2)


def key_hash(key: str) -> int:
    """`CacheKey.storageHash`: FNV-1a (64-bit, signed) of the storage key, the row's id."""
    value = 0xcbf29ce484222325
    for byte in key.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def million(processes: Processes, simulator_port: int, entries: int, duration: int) -> dict:
    """Fills a cache file with `entries` fresh entries in the proxy's own schema, then measures."""
    assert processes.workdir is not None
    cache = processes.workdir / "million.sqlite"
    port, proxy = processes.proxy(simulator_port, "million-seed", CACHE_PATH=str(cache))
    warm(port)  # one real entry, to copy its row
    processes.started.remove(proxy)
    stop(proxy)
    db = sqlite3.connect(cache)
    columns = [row[1] for row in db.execute("PRAGMA table_info(cache_entries)")]
    template = dict(zip(columns, db.execute("SELECT * FROM cache_entries LIMIT 1").fetchone()))
    far = time.time() + 86_400
    ids = [f"cxn_Bench{index:08d}" for index in range(entries)]

    def rows():
        for connection_id in ids:
            row = dict(template)
            row["connection_id"] = connection_id
            row["key"] = template["key"].replace("cxn_ABC123", connection_id)
            row["id"] = key_hash(row["key"])
            if "body" in row and isinstance(row["body"], bytes):
                row["body"] = row["body"].replace(b"cxn_ABC123", connection_id.encode())
            row["expires_at"] = far
            yield tuple(row[c] for c in columns)

    db.execute("PRAGMA journal_mode=WAL")
    db.executemany(f"INSERT OR REPLACE INTO cache_entries ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", rows())
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    # The fixture's ~1 GB is still being written back when the checkpoint returns, and opening the
    # cache creates a new WAL whose header SQLite syncs (strace: pwrite, fdatasync of the WAL and
    # of its directory): that fdatasync then waits behind the fixture's writeback (ext4's ordered
    # journal). Measured 112 ms to ready that way against 51-58 ms with the fixture on disk; it is
    # start-up that is measured here, not the fixture's writeback.
    os.sync()

    ready = time_to_ready(processes, simulator_port, cache)
    # The sweep off: these entries exist only in the file, so a sweep would find each one missing
    # from Persona's list, fetch it (404) and purge it, turning hits into misses mid-run.
    port, proxy = processes.proxy(simulator_port, "million", CACHE_PATH=str(cache), **{**PROXY_ENV, "SWEEP_INTERVAL_SECONDS": "0"})
    # Both runs go through the same Lua request function, so wrk does the same work per request
    # whether it spreads its requests over every id or sends one id.
    scripts = {}
    for name, count in (("random", entries), ("one", 1)):
        scripts[name] = processes.workdir / f"{name}.lua"
        scripts[name].write_text(f"""
math.randomseed(42)
request = function()
  return wrk.format("GET", string.format("/api/v1/connect/connections/cxn_Bench%08d", math.random(0, {count - 1})))
end
""")
    single = f"/api/v1/connect/connections/{ids[0]}"
    warm(port, single)  # two reads: an entry read from SQLite reaches memory on its second
    wait_for_verify(proxy.pid)
    out: dict = {"ready_s": ready}
    for label, script in (("one id", "one"), ("random ids", "random"), ("one id again", "one")):
        command = ["wrk", "-t1", "-c32", f"-d{duration}s", "--latency", "-s", str(scripts[script]), f"http://127.0.0.1:{port}{single}"]
        text = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30).stdout
        rps = float(text.split("Requests/sec:")[1].split()[0])
        non2xx = int(text.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in text else 0
        out[label] = rps
        if non2xx:
            raise SystemExit(f"{label}: {non2xx} non-2xx answers")
    out["rss_mib"] = rss_mib(proxy.pid)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of A B C (then C B A)")
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="only the million-entry case and start-up")
    parser.add_argument("--proxy-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for every proxy started (e.g. SERVER_EVENT_LOOP_THREADS=1)")
    args = parser.parse_args()
    ensure_installed()
    binary = resolve_binary(args.bin)
    PROXY_ENV.update(dict(pair.split("=", 1) for pair in args.proxy_env))
    print("\n".join(machine_info(binary)[:1]))
    print(binary_description(binary), flush=True)
    with Processes(binary, "persona-proxy-peers-") as processes:
        assert processes.workdir is not None
        simulator_port = processes.simulator(1_000_000, 60, 0, 25)
        missed = []
        if not args.skip_peers:
            proxy_port, proxy = processes.proxy(simulator_port, "proxy", **PROXY_ENV)
            quiet_port, quiet = processes.proxy(
                simulator_port, "proxy-no-hit-log", CACHE_PATH=str(processes.workdir / "quiet" / "cache.sqlite"),
                **{**PROXY_ENV, "REQUEST_LOG_RECORD_HITS": "false"})
            nginx_port, nginx_pid = start_nginx(processes.workdir, simulator_port)
            varnish_port, varnish = start_varnish(processes.workdir, simulator_port)
            processes.started.append(varnish)
            try:
                wait_for_port(nginx_port)
                wait_for_port(varnish_port)
                targets = {"persona-proxy": proxy_port, "nginx": nginx_port, "varnish": varnish_port, "proxy, no hit log": quiet_port}
                for port in targets.values():
                    warm(port)
                for port in targets.values():  # unmeasured warm-up under load
                    run_wrk(f"http://127.0.0.1:{port}{PATH}", {}, 1, 32, 2)
                results = side_by_side(targets, args.rounds, args.duration)
            finally:
                if nginx_pid.exists():
                    subprocess.run(["kill", "-QUIT", nginx_pid.read_text().strip()], check=False)
            for process in (proxy, quiet):
                processes.started.remove(process)
                stop(process)
            print(f"\nhits, wrk -t1 -c32 -d{args.duration}s, {args.rounds} rounds interleaved; "
                  f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print(f"{'target':<18} {'req/s':>9} {'x nginx':>8} {'p50 ms':>7} {'p99 ms':>7}  rounds req/s")
            nginx_rps = statistics.median(r["rps"] for r in results["nginx"])
            nginx_p99 = statistics.median(r["p99"] for r in results["nginx"])
            summary = {}
            for name, runs in results.items():
                rps = statistics.median(r["rps"] for r in runs)
                p50 = statistics.median(r["p50"] for r in runs)
                p99 = statistics.median(r["p99"] for r in runs)
                summary[name] = (rps, p99)
                print(f"{name:<18} {rps:>9.0f} {rps / nginx_rps:>8.2f} {p50:>7.2f} {p99:>7.2f}  "
                      + " ".join(f"{r['rps']:.0f}" for r in runs))
            if summary["persona-proxy"][0] < nginx_rps:
                missed.append(f"throughput {summary['persona-proxy'][0] / nginx_rps:.2f} x nginx (floor 1.0)")
            if summary["persona-proxy"][1] > nginx_p99:
                missed.append(f"p99 {summary['persona-proxy'][1]:.2f} ms > nginx {nginx_p99:.2f} ms")

        if not args.skip_million:
            m = million(processes, simulator_port, args.entries, args.duration)
            ratio = m["random ids"] / statistics.mean([m["one id"], m["one id again"]])
            print(f"\n{args.entries:,} entries in SQLite (memory tier at its default size):")
            print(f"  one id {m['one id']:.0f} req/s, random ids {m['random ids']:.0f} req/s (ratio {ratio:.2f}), "
                  f"one id again {m['one id again']:.0f} req/s")
            print(f"  RSS after {m['rss_mib']:.0f} MiB; ready (exec -> /readyz 200) {m['ready_s'] * 1000:.0f} ms")
            if ratio < 0.9:
                missed.append(f"random/one id {ratio:.2f} (floor 0.9)")
            if m["rss_mib"] > 150:
                missed.append(f"RSS {m['rss_mib']:.0f} MiB (floor 150)")
            if m["ready_s"] > 0.1:
                missed.append(f"ready after {m['ready_s'] * 1000:.0f} ms (floor 100)")
    return report_floors(
        "throughput >= 1.0 x nginx, p99 <= nginx; 1M: random >= 0.9 x one id, RSS <= 150 MiB, ready <= 100 ms", missed)


if __name__ == "__main__":
    sys.exit(main())
