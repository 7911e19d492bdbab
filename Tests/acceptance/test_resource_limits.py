"""Resource limits: anyone who can connect must not be able to take the proxy down or lock out the
services that call it.

Measured before this existed: under systemd's default 1024 open files, 1 100 idle TCP connections
either killed the process (SIGILL) or left /healthz, hits and misses timing out until the sockets
closed. Now `server.max_connections` closes the longest-idle connection to make room (refusing a
new one only when every connection is busy), `server.idle_timeout_seconds` closes connections that
send nothing, and `server.max_header_bytes` bounds what a request may make the proxy buffer.
"""

from __future__ import annotations

import resource
import socket
import time

from conftest import ProxyProcess, clean_env, http_get

CONNECTION_PATH = "/api/v1/connect/connections/cxn_ABC123"


def systemd_default_fd_limit() -> None:
    """In the child, before exec: the open-file limit a unit gets without LimitNOFILE=."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def start(binary, tmp_path, api_key, fake, **env: str) -> ProxyProcess:
    full = clean_env(
        PERSONA_API_KEY=api_key, UPSTREAM_BASE_URL=fake.base_url, CACHE_PATH=str(tmp_path / "cache.sqlite"), LOG_LEVEL="warning", **env)
    return ProxyProcess(binary, tmp_path, full, preexec_fn=systemd_default_fd_limit).start()


def test_two_thousand_idle_connections_do_not_lock_out_callers(binary, tmp_path, api_key, fake):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    proxy = start(binary, tmp_path, api_key, fake, SERVER_MAX_CONNECTIONS="512")
    try:
        assert proxy.get(CONNECTION_PATH).status == 200  # the entry is cached
        idle: list[socket.socket] = []
        try:
            for _ in range(2000):
                sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
                idle.append(sock)
            slowest = 0.0
            for _ in range(20):
                started = time.monotonic()
                hit = proxy.get(CONNECTION_PATH, timeout=5)
                slowest = max(slowest, time.monotonic() - started)
                assert hit.status == 200, hit.status
            print(f"\nlimits: 20 hits beside 2000 idle connections, slowest {slowest * 1000:.1f} ms")
            assert slowest < 1.0
            assert http_get(proxy.port, "/healthz", timeout=5).status == 200
            assert proxy.process.poll() is None, "the proxy died"
            evicted = proxy.metric("persona_proxy_connections_closed_total")
            assert evicted >= 2000 - 512, f"only {evicted} connections were closed to make room"
        finally:
            for sock in idle:
                sock.close()
    finally:
        proxy.stop()


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(binary, tmp_path, api_key, fake):
    proxy = start(binary, tmp_path, api_key, fake, SERVER_IDLE_TIMEOUT_SECONDS="1")
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            started = time.monotonic()
            assert sock.recv(1) == b"", "the server sent something to a silent connection"
            waited = time.monotonic() - started
        assert 0.5 <= waited <= 3.0, f"closed after {waited:.2f} s"
    finally:
        proxy.stop()


def test_a_connection_busy_with_cached_hits_stays_open_and_closes_once_idle(binary, tmp_path, api_key, fake):
    """Hits answered on the event loop never reach the handler that keeps the idle timeout: they
    must still count as activity, and the timeout must still fire once they stop."""
    proxy = start(binary, tmp_path, api_key, fake, SERVER_IDLE_TIMEOUT_SECONDS="1")
    try:
        request = f"GET {CONNECTION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            statuses = []
            for _ in range(8):  # 8 x 0.4 s: well past the 1 s timeout, never idle for 1 s
                sock.sendall(request)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(65536)
                    assert chunk, "the connection was closed while in use"
                    head += chunk
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                body = head.split(b"\r\n\r\n", 1)[1]
                while len(body) < length:
                    body += sock.recv(65536)
                statuses.append(b"hit" in head and head.startswith(b"HTTP/1.1 200"))
                time.sleep(0.4)
            assert statuses[1:] == [True] * 7, "every request after the first was a hit"
            started = time.monotonic()
            assert sock.recv(1) == b"", "the server sent something unasked"
            waited = time.monotonic() - started
        assert waited <= 3.0, f"closed {waited:.2f} s after the last request"
    finally:
        proxy.stop()


def test_oversized_headers_are_refused_and_the_process_stays_up(binary, tmp_path, api_key, fake):
    proxy = start(binary, tmp_path, api_key, fake, SERVER_MAX_HEADER_BYTES="4096")
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(f"GET {CONNECTION_PATH} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 8000}\r\n\r\n".encode())
            answer = b""
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert proxy.get(CONNECTION_PATH).status == 200
        assert proxy.process.poll() is None
    finally:
        proxy.stop()
