#!/usr/bin/env python3
"""1000 concurrent misses for one cold id: one upstream call, and how fast the waiters follow the leader.

Starts the simulator with 200 ms latency (`simulate --latency-ms 200`, rate limit lifted) and
`persona-proxy serve` in front of it (fresh cache), warms the proxy's upstream connection with one
unmeasured miss, then for each run sends N requests for one cold id (a fresh id per run) at once.

Client (default `--client epoll`): one Python thread, N non-blocking sockets connected (keep-alive)
before the start, the N requests written back to back in one loop (the "barrier": ~2-4 ms for 1000),
then one epoll loop reading every answer and timestamping it when its last byte arrives. On 2 cores
this keeps the client's own cost per answer to a few microseconds, so the spread of arrival times
is close to the spread of the proxy's writes. `--client threads` uses N threads with http.client
instead (connections opened first, a threading.Barrier releases them), for comparison: with 1000
threads on 2 cores the GIL and the scheduler, not the proxy, decide when each answer is read.

Per run it reports:
  upstream calls   simulator requests during the run                            (floor: exactly 1)
  leader           latency of the answer without `collapsed` in Cache-Status
  slowest waiter   the largest latency among the `collapsed` answers
  slowest-leader   (floor: <= 5 ms)
  p50 waiters      median latency of the collapsed answers
  arrival spread   first answer complete -> last answer complete (client clock)
  send spread      first request written -> last request written
and the proxy's own counters (GET /metrics, deltas over the run): persona_proxy_upstream_requests_total,
persona_proxy_coalesced_requests_total (expected 1 and N-1).

    python3 Benchmarks/coalescing.py                     # 3 runs of 1000, ~10 s
    python3 Benchmarks/coalescing.py --client threads    # the same with 1000 threads
    python3 Benchmarks/coalescing.py --requests 200 --runs 5

Exits 1 if a floor is missed in any run. Everything stays on 127.0.0.1; every process started here
is stopped before exit.
"""

from __future__ import annotations

import argparse
import http.client
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench_common import (
    Processes, binary_description, list_connection_ids, machine_info, metric_total, percentile, proxy_metrics,
    report_floors, request, resolve_binary, simulator_stats,
)

CLIENT_NAME = "coalescing-benchmark"


# SO_TIMESTAMPNS (Linux, not exported by Python's socket module): the kernel stamps each received
# segment with CLOCK_REALTIME; recvmsg hands the stamp over as SCM_TIMESTAMPNS (same number).
SO_TIMESTAMPNS = 35


@dataclass
class Answer:
    status: int
    cache_status: str
    body: bytes
    sent: int  # time.time_ns() just before the request was written
    done: int  # time.time_ns() when the client had read the answer's last byte
    wire: int | None = None  # kernel receive time of the answer's last segment (epoll client only)

    def params(self) -> list[str]:
        return [p.strip() for p in self.cache_status.split(";")]

    @property
    def kind(self) -> str:
        """`leader` (made the upstream call), `collapsed` (joined it), `hit` (came after it), or `other`."""
        params = self.params()
        if "collapsed" in params:
            return "collapsed"
        if "hit" in params:
            return "hit"
        return "leader" if any(p.startswith("fwd=") for p in params) else "other"

    def latency_ms(self, wire: bool = False) -> float:
        end = self.wire if wire and self.wire is not None else self.done
        return (end - self.sent) / 1e6


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """A complete HTTP/1.1 response with Content-Length, or None if more bytes are needed."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(data) < end + 4 + length:
        return None
    return status, headers, data[end + 4:end + 4 + length]


def epoll_burst(port: int, path: str, count: int, timeout: float, stats: dict) -> list[Answer]:
    payload = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Client-Name: {CLIENT_NAME}\r\n"
               "Accept: application/json\r\n\r\n").encode()
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sockets.append(sock)
        time.sleep(0.2)  # let the proxy finish accepting every connection
        for sock in sockets:
            sock.setblocking(False)
        poller = select.epoll()
        by_fd = {}
        for index, sock in enumerate(sockets):
            poller.register(sock.fileno(), select.EPOLLIN)
            by_fd[sock.fileno()] = index
        buffers = [b""] * count
        sent = [0] * count
        answers: list[Answer | None] = [None] * count
        clock = time.time_ns
        for index, sock in enumerate(sockets):  # the start: every request written back to back
            sent[index] = clock()
            sock.send(payload)
        pending = count
        deadline = clock() + int(timeout * 1e9)
        batches: list[int] = []
        while pending:
            if clock() > deadline:
                raise SystemExit(f"{pending} of {count} answers missing after {timeout} s")
            ready = poller.poll(1.0)
            if ready:
                batches.append(len(ready))
            for fd, _ in ready:
                index = by_fd[fd]
                chunk, ancillary, _, _ = sockets[index].recvmsg(65536, 256)
                now = clock()
                if not chunk:
                    raise SystemExit(f"request {index}: the proxy closed the connection without an answer")
                wire = None
                for level, kind, data in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                        seconds, nanoseconds = struct.unpack("qq", data[:16])
                        wire = seconds * 1_000_000_000 + nanoseconds
                buffers[index] += chunk
                parsed = parse_response(buffers[index])
                if parsed is not None:
                    status, headers, body = parsed
                    answers[index] = Answer(status, headers.get("cache-status", ""), body, sent[index], now, wire)
                    poller.unregister(fd)
                    pending -= 1
        poller.close()
        # How far behind the client was: answers already waiting in the kernel when it looked.
        stats["polls"] = len(batches)
        stats["max_batch"] = max(batches, default=0)
        return answers  # type: ignore[return-value]
    finally:
        for sock in sockets:
            sock.close()


def threads_burst(port: int, path: str, count: int, timeout: float, stats: dict) -> list[Answer]:
    connections = []
    for _ in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.connect()
        connections.append(connection)
    time.sleep(0.2)
    barrier = threading.Barrier(count)
    answers: list[Answer | str] = ["not run"] * count

    def run(index: int) -> None:
        connection = connections[index]
        try:
            barrier.wait(timeout=60)
            sent = time.time_ns()
            connection.request("GET", path, headers={"X-Client-Name": CLIENT_NAME})
            response = connection.getresponse()
            body = response.read()
            answers[index] = Answer(response.status, response.getheader("Cache-Status") or "", body, sent,
                                    time.time_ns())
        except Exception as error:
            answers[index] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 60)
    failed = [a for a in answers if not isinstance(a, Answer)]
    if failed:
        raise SystemExit(f"{len(failed)} requests failed in the client, first: {failed[0]}")
    return answers  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=None, help="persona-proxy binary (default: release if built, else debug)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000, help="concurrent requests per run")
    parser.add_argument("--latency-ms", type=int, default=200, help="simulator latency")
    parser.add_argument("--client", choices=("epoll", "threads"), default="epoll")
    args = parser.parse_args()

    binary = resolve_binary(args.bin)
    burst = epoll_burst if args.client == "epoll" else threads_burst
    print("\n".join(machine_info(binary)[:1]))
    print(binary_description(binary))
    print(f"simulator: --latency-ms {args.latency_ms}, rate limit lifted; proxy: defaults (fresh cache); "
          f"client: {args.client}, {args.requests} keep-alive connections opened before the start; "
          "latencies from each request's own write to its last byte read\n", flush=True)

    rows = []
    missed: list[str] = []
    with Processes(binary, "persona-proxy-coalescing-") as processes:
        simulator_port = processes.simulator(1_000_000_000, 60, args.latency_ms, 25)
        ids = [i for i in list_connection_ids(simulator_port) if i != "cxn_ABC123"]
        proxy_port, _ = processes.proxy(simulator_port, "proxy", CACHE_TTL_SECONDS="3600")
        # Warm-up: one unmeasured miss opens the proxy's pooled connection to the simulator.
        status, _ = request(proxy_port, "GET", f"/api/v1/connect/connections/{quote(ids[0])}", timeout=10)
        if status != 200:
            raise SystemExit(f"warm-up miss answered {status}")

        for run in range(1, args.runs + 1):
            path = f"/api/v1/connect/connections/{quote(ids[run])}"
            upstream_before = simulator_stats(simulator_port)["requests"]
            metrics_before = proxy_metrics(proxy_port)
            stats: dict = {}
            answers = burst(proxy_port, path, args.requests, timeout=60, stats=stats)
            upstream = simulator_stats(simulator_port)["requests"] - upstream_before
            metrics_after = proxy_metrics(proxy_port)

            def delta(name: str) -> float:
                return metric_total(metrics_after, name) - metric_total(metrics_before, name)

            statuses = {a.status for a in answers}
            bodies = {a.body for a in answers}
            kinds = {k: [a for a in answers if a.kind == k] for k in ("leader", "collapsed", "hit", "other")}
            problems = []
            if statuses != {200}:
                problems.append(f"statuses {sorted(statuses)}")
            if len(bodies) != 1:
                problems.append(f"{len(bodies)} distinct bodies")
            if upstream != 1:
                problems.append(f"{upstream} upstream calls")
            if len(kinds["leader"]) != 1 or kinds["other"]:
                problems.append(f"{len(kinds['leader'])} leaders, {len(kinds['other'])} other answers: "
                                f"{sorted({a.cache_status for a in kinds['leader'] + kinds['other']})[:3]}")
            if kinds["hit"]:
                problems.append(f"{len(kinds['hit'])} hits: those requests reached the proxy after the fetch ended "
                                "(the client could not put every request in flight)")
            first_sent = min(a.sent for a in answers)
            row = {"run": run, "upstream": upstream, "hits": len(kinds["hit"]),
                   "m_upstream": delta("persona_proxy_upstream_requests_total"),
                   "m_coalesced": delta("persona_proxy_coalesced_requests_total"),
                   "send": (max(a.sent for a in answers) - first_sent) / 1e6,
                   "polls": stats.get("polls"), "max_batch": stats.get("max_batch")}
            for clock_name, wire in (("read", False), ("wire", True)):
                if wire and any(a.wire is None for a in answers):
                    continue
                leader = kinds["leader"][0].latency_ms(wire) if len(kinds["leader"]) == 1 else float("nan")
                waiters = sorted(a.latency_ms(wire) for a in kinds["collapsed"])
                ends = sorted((a.wire if wire else a.done) for a in answers)
                row[clock_name] = {
                    "leader": leader, "slowest": waiters[-1] if waiters else float("nan"),
                    "p50": percentile(waiters, 50), "first": (ends[0] - first_sent) / 1e6,
                    "last": (ends[-1] - first_sent) / 1e6, "spread": (ends[-1] - ends[0]) / 1e6,
                }
                row[clock_name]["gap"] = row[clock_name]["slowest"] - leader
            # The floor is judged on the wire times when the client could take them: they leave out
            # the client's own delay in reading 1000 answers on the same 2 cores.
            judged = row.get("wire", row["read"])
            if not judged["gap"] <= 5.0:
                problems.append(f"slowest waiter - leader = {judged['gap']:.1f} ms "
                                f"({'wire' if 'wire' in row else 'read'} times)")
            rows.append(row)
            missed += [f"run {run}: {p}" for p in problems]

    print(f"{'run':<4} {'clock':<5} {'upstream':>8} {'hits':>4} {'leader ms':>9} {'slowest ms':>10} {'slow-lead':>9} "
          f"{'p50 wait':>8} {'first..last answer ms':>21} {'spread ms':>9} {'send spread':>11}  /metrics deltas")
    for r in rows:
        for clock_name in ("read", "wire"):
            if clock_name not in r:
                continue
            c = r[clock_name]
            extra = (f"upstream_requests_total +{r['m_upstream']:.0f}, coalesced_requests_total +{r['m_coalesced']:.0f}"
                     if clock_name == "read" else
                     (f"client: {r['polls']} epoll waits, up to {r['max_batch']} answers ready at once"
                      if r["polls"] is not None else ""))
            print(f"{r['run']:<4} {clock_name:<5} {r['upstream']:>8} {r['hits']:>4} {c['leader']:>9.1f} {c['slowest']:>10.1f} "
                  f"{c['gap']:>9.1f} {c['p50']:>8.1f} {c['first']:>10.1f} .. {c['last']:>7.1f} {c['spread']:>9.1f} "
                  f"{r['send']:>8.1f} ms  {extra}")
    print("\nclock: read = when the client had read the answer; wire = kernel receive time of its last segment "
          "(SO_TIMESTAMPNS),\n       i.e. when the proxy's bytes arrived, without the client's own delay. "
          "Times are from each request's own write;\n       first..last: answers completed, from the first request written.")
    return report_floors(
        "exactly 1 upstream call per run, one leader, no hits; slowest waiter - leader <= 5 ms (wire times when available)", missed)


if __name__ == "__main__":
    sys.exit(main())
