"""A hostile upstream: an HTTP/1.1 server on raw sockets that answers like Persona until told to
misbehave, for acceptance tests of what the proxy does when the thing in front of it lies, stalls,
trickles, truncates, resets or sends nonsense rate-limit headers.

Separate from fake_persona.py (a faithful fake) and from the Swift simulator: those are built on
HTTP servers that always send well-formed answers, and the point here is answers that are not.
Written on socketserver + raw sockets so that every byte (and every missing byte) is chosen here.
Standard library only.

    server = HostileUpstream(api_key="persona_sandbox_...").start()   # 127.0.0.1, port 0
    server.base_url                   # point the proxy here
    server.fault = "stall_after_head" # one switch, read when each request arrives; None = behave
    server.rate_limit_override = {"RateLimit-Reset": "inf"}   # on well-behaved answers only
    server.bump_version()             # the documents change (updated-at moves on)
    server.document("cxn_X")          # the exact bytes a well-behaved retrieve answers now
    server.requests                   # every request received, in order (RecordedRequest)
    server.stop()                     # listener and every held connection closed, threads joined

With no fault, `GET /api/v1/connect/connections/{id}` answers 200 for any id, like Persona for a
connection that exists: `Content-Type: application/json; charset=utf-8`, `Request-Id: req_...`
(unique), `RateLimit-Limit: 300`, `RateLimit-Remaining: 299`, `RateLimit-Reset: 60`,
`Persona-Environment-Id: env_hostile`, `Persona-Organization-Id: org_hostile`, Persona's
`Cache-Control`, and a compact JSON:API `connect/connection` whose `updated-at` carries the
document version. Connections are kept alive (HTTP/1.1) between well-formed answers. Another path
answers Persona's 404 `Record not found`; a wrong or missing `Authorization: Bearer <api_key>`
(when an api_key is given) answers Persona's title-only 401 without Request-Id or RateLimit-*.

Faults (`server.fault`), each applied to every request that arrives while it is set:
  stall_after_head    200 head with the Content-Length of a full document, then nothing: the socket
                      stays open until the client closes it or the server stops
  slow_trickle        200 head, then the body one byte per second
  garbage_200         200 `Content-Type: text/html` with an HTML page
  wrong_id_200        200, a valid connection document, but for another connection id
  html_502, html_503  that status with a load balancer's HTML page (no Persona headers)
  truncated_body      200 head with `Content-Length: 500`, 100 bytes of body, then a normal close
  reset_mid_body      200 head, part of the body, then an abortive close (SO_LINGER 0 -> TCP RST)
  ratelimit_inf, ratelimit_nan, ratelimit_huge, ratelimit_negative, ratelimit_text
                      Persona's 429 with `RateLimit-Limit: 300`, `RateLimit-Remaining: 0` and
                      `RateLimit-Reset:` inf, nan, 1e300, -5 or soon

Every loop is bounded by the stop event (waits of at most POLL_SECONDS), so `stop()` ends a stall
or a trickle within a fraction of a second, and nothing listens on anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

CONNECTIONS_PREFIX = "/api/v1/connect/connections/"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html"
CACHE_CONTROL = "no-cache, no-store, max-age=0, must-revalidate"
ENVIRONMENT_ID = "env_hostile"
ORGANIZATION_ID = "org_hostile"
DESTINATION_ORGANIZATION_ID = "org_dest"
CREATED_AT = "2026-01-01T00:00:00.000Z"
# The id a `wrong_id_200` document names instead of the one asked for.
WRONG_ID = "cxn_NotTheOneAskedFor"

# Persona's bodies (docs/persona-api.md), copied rather than imported: this server shares no code
# with fake_persona.py.
UNAUTHENTICATED_BODY = b'{"errors":[{"title":"Must be authenticated to access this endpoint"}]}'
NOT_FOUND_BODY = b'{"errors":[{"title":"Record not found"}]}'
RATE_LIMITED_BODY = (
    b'{"errors":[{"title":"Rate limit exceeded","details":"You have hit your rate limit of 300 requests / min. '
    b'Please reach out to support@withpersona.com if you need this changed."}]}'
)
# What a CDN or maintenance page might put in front of Persona: HTML, and a 200 at that.
GARBAGE_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Persona</title></head>"
    b"<body><h1>We'll be right back</h1><p>Scheduled maintenance.</p></body></html>\n"
)
# A load balancer's own error pages (nginx's wording): no Persona headers, no JSON.
LOAD_BALANCER_PAGES = {
    502: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
         b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    503: b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
         b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
}
REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 502: "Bad Gateway",
           503: "Service Unavailable"}

# fault -> the RateLimit-Reset value its 429 carries.
RATE_LIMIT_FAULTS = {
    "ratelimit_inf": "inf",
    "ratelimit_nan": "nan",
    "ratelimit_huge": "1e300",
    "ratelimit_negative": "-5",
    "ratelimit_text": "soon",
}
FAULTS = (
    "stall_after_head",
    "slow_trickle",
    "garbage_200",
    "wrong_id_200",
    "html_502",
    "html_503",
    "truncated_body",
    "reset_mid_body",
    *RATE_LIMIT_FAULTS,
)

# How long any wait lasts before the stop event is looked at again.
POLL_SECONDS = 0.05
# Bounds on what a request may send before the server gives up on it.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
# truncated_body: the Content-Length announced, and the bytes actually sent.
TRUNCATED_ANNOUNCED = 500
TRUNCATED_SENT = 100
# A pause before a close or a reset, so that the client has read what came before it: the fault
# is "the body stopped", not "the connection died before the head".
PAUSE_BEFORE_CLOSE_SECONDS = 0.1


@dataclass
class RecordedRequest:
    method: str
    path: str  # raw path, without the query
    query: str
    headers: list[tuple[str, str]]  # as received, in order
    fault: str | None  # the fault this request was answered with (None: behaved)
    received_monotonic: float = field(default_factory=time.monotonic)
    status: int | None = None  # the status line sent (None: nothing sent yet)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


class _ClientGone(Exception):
    """The client closed its end (or the server is stopping): drop the connection."""


class _Server(socketserver.ThreadingTCPServer):
    # Threads are tracked and joined (with a bound) by HostileUpstream.stop(), not by server_close(),
    # which would wait without one.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: "HostileUpstream") -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: socket.socket, client_address) -> None:
        # Tracked before it starts, so that stop() cannot miss a connection accepted just before it.
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name="hostile-upstream-connection", daemon=True)
        self.owner._track(thread, request)
        thread.start()

    def shutdown_request(self, request: socket.socket) -> None:
        # The handler closes its own socket, sometimes abortively (reset_mid_body): the default
        # here, shutdown(SHUT_WR), would send a FIN first and turn the reset into a clean close.
        try:
            request.close()
        except OSError:
            pass

    def handle_error(self, request, client_address) -> None:  # a dying client is not news
        pass


class HostileUpstream:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self._fault: str | None = None
        # Replaces the healthy RateLimit-* values on well-behaved answers, e.g. {"RateLimit-Reset": "inf"}.
        self.rate_limit_override: dict[str, str] = {}
        self._version = 1
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._request_counter = 0
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self.port: int | None = None
        # Handler threads still alive after stop() gave up waiting for them (should stay empty).
        self.leftover_threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "HostileUpstream":
        self._stop.clear()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name="hostile-upstream",
            daemon=True)
        self._serve_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every connection still held (stalls, trickles, keep-alives) and
        wait for every handler thread; the ones still running after `timeout` are kept in
        `leftover_threads`."""
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            # shutdown() wakes a thread blocked on this socket; the handler closes it on its way out.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.leftover_threads = [t for t in threads if t.is_alive()]
        if self._serve_thread is not None:
            self._serve_thread.join(max(0.0, deadline - time.monotonic()))
            if self._serve_thread.is_alive():
                self.leftover_threads.append(self._serve_thread)
            self._serve_thread = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets)

    # -- knobs -----------------------------------------------------------------------------

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, value: str | None) -> None:
        if value is not None and value not in FAULTS:
            raise ValueError(f"unknown fault {value!r}; one of {', '.join(FAULTS)}")
        self._fault = value

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def bump_version(self) -> int:
        """Every document changes (its updated-at moves on); returns the new version."""
        with self._lock:
            self._version += 1
            return self._version

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def document(self, connection_id: str, version: int | None = None) -> bytes:
        """The exact bytes a well-behaved retrieve of `connection_id` answers (at `version`, default now)."""
        version = self.version if version is None else version
        updated_at = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=version)
        document = {
            "data": {
                "type": "connect/connection",
                "id": connection_id,
                "attributes": {
                    "status": "active",
                    "source-organization-id": ORGANIZATION_ID,
                    "destination-organization-id": DESTINATION_ORGANIZATION_ID,
                    "created-at": CREATED_AT,
                    "updated-at": updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                },
            }
        }
        return json.dumps(document, separators=(",", ":")).encode()

    # -- used by the handler ---------------------------------------------------------------

    def _track(self, thread: threading.Thread, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._threads.add(thread)
        if self._stop.is_set():  # accepted while stopping: stop() may already have looked
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
            self._threads.discard(threading.current_thread())

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _new_request_id(self) -> str:
        with self._lock:
            self._request_counter += 1
            return f"req_hostile{self._request_counter:04d}{uuid.uuid4().hex[:16]}"

    def _persona_headers(self, remaining: str = "299", reset: str = "60") -> list[tuple[str, str]]:
        return [
            ("Cache-Control", CACHE_CONTROL),
            ("Request-Id", self._new_request_id()),
            ("RateLimit-Limit", "300"),
            ("RateLimit-Remaining", remaining),
            ("RateLimit-Reset", reset),
            ("Persona-Environment-Id", ENVIRONMENT_ID),
            ("Persona-Organization-Id", ORGANIZATION_ID),
        ]


class _Handler(socketserver.BaseRequestHandler):
    server: _Server
    request: socket.socket

    def setup(self) -> None:
        self.owner = self.server.owner
        self.stop = self.owner._stop
        self.buffer = b""
        # Short timeouts everywhere: every blocking call comes back to look at the stop event.
        self.request.settimeout(POLL_SECONDS)

    def finish(self) -> None:
        self.owner._unregister(self.request)

    def handle(self) -> None:
        try:
            # Keep-alive: one request after another, until a fault ends the connection.
            while not self.stop.is_set():
                request = self._read_request()
                if request is None:
                    return
                if not self._answer(request):
                    return
        except (_ClientGone, OSError):
            return
        finally:
            self._close()

    # -- reading ---------------------------------------------------------------------------

    def _recv(self) -> bytes:
        """Some bytes from the client; b"" when it closed. Raises _ClientGone when stopping."""
        while not self.stop.is_set():
            try:
                return self.request.recv(65536)
            except socket.timeout:
                continue
        raise _ClientGone

    def _read_request(self) -> RecordedRequest | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES:
                return None
            chunk = self._recv()
            if not chunk:
                return None
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        method, target, _ = parts
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name.strip(), value.strip()))
        split = urlsplit(target)
        request = RecordedRequest(method=method, path=split.path, query=split.query, headers=headers,
                                  fault=self.owner.fault)
        self.owner._record(request)
        length = int(request.header("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        while len(self.buffer) < length:
            chunk = self._recv()
            if not chunk:
                return None
            self.buffer += chunk
        self.buffer = self.buffer[length:]  # the body itself is not needed
        return request

    # -- writing ---------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.stop.is_set():
                raise _ClientGone
            try:
                sent = self.request.send(view)
            except socket.timeout:
                continue
            view = view[sent:]

    def _head(self, record: RecordedRequest, status: int, headers: list[tuple[str, str]]) -> bytes:
        record.status = status
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _respond(self, record: RecordedRequest, status: int, content_type: str, body: bytes,
                 headers: list[tuple[str, str]]) -> bool:
        """A complete, well-framed answer; the connection stays open for the next request."""
        head = self._head(record, status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers])
        self._send(head + body)
        return True

    def _wait_for_client_close(self) -> None:
        """Hold the connection, sending nothing, until the client closes it or the server stops."""
        while not self.stop.is_set():
            try:
                if not self.request.recv(65536):
                    return
            except socket.timeout:
                continue

    def _close(self, abortive: bool = False) -> None:
        try:
            if abortive:
                # SO_LINGER on with a zero timeout: close() sends a RST instead of a FIN.
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            self.request.close()
        except OSError:
            pass

    # -- answering -------------------------------------------------------------------------

    def _answer(self, record: RecordedRequest) -> bool:
        """Answers one request; False when the connection is finished with."""
        owner = self.owner
        if owner.api_key is not None and record.header("Authorization") != f"Bearer {owner.api_key}":
            # Persona's 401: title only, no Request-Id, RateLimit-* or Persona-* headers.
            return self._respond(record, 401, JSON_CONTENT_TYPE, UNAUTHENTICATED_BODY, [])
        if record.method != "GET" or not record.path.startswith(CONNECTIONS_PREFIX):
            return self._respond(record, 404, JSON_CONTENT_TYPE, NOT_FOUND_BODY, owner._persona_headers())
        connection_id = unquote(record.path[len(CONNECTIONS_PREFIX):])
        if not connection_id or "/" in connection_id:
            return self._respond(record, 404, JSON_CONTENT_TYPE, NOT_FOUND_BODY, owner._persona_headers())

        fault = record.fault
        document = owner.document(connection_id)
        if fault is None:
            headers = [(name, owner.rate_limit_override.get(name, value)) for name, value in owner._persona_headers()]
            return self._respond(record, 200, JSON_CONTENT_TYPE, document, headers)
        if fault in RATE_LIMIT_FAULTS:
            headers = owner._persona_headers(remaining="0", reset=RATE_LIMIT_FAULTS[fault])
            return self._respond(record, 429, JSON_CONTENT_TYPE, RATE_LIMITED_BODY, headers)
        if fault == "garbage_200":
            return self._respond(record, 200, HTML_CONTENT_TYPE, GARBAGE_HTML, owner._persona_headers())
        if fault == "wrong_id_200":
            return self._respond(record, 200, JSON_CONTENT_TYPE, owner.document(WRONG_ID), owner._persona_headers())
        if fault in ("html_502", "html_503"):
            status = int(fault[-3:])
            return self._respond(record, status, HTML_CONTENT_TYPE, LOAD_BALANCER_PAGES[status], [])

        # The rest break the framing: the head promises a body that never (fully) comes.
        if fault == "truncated_body":
            body = document.ljust(TRUNCATED_ANNOUNCED)  # trailing spaces: still valid JSON, had it all come
            announced = TRUNCATED_ANNOUNCED
        else:
            body = document
            announced = len(document)
        head = self._head(record, 200, [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(announced)),
                                        *owner._persona_headers()])
        if fault == "stall_after_head":
            self._send(head)
            self._wait_for_client_close()
        elif fault == "slow_trickle":
            self._send(head)
            for byte in body:
                if self.stop.wait(1.0):
                    break
                self._send(bytes([byte]))
            else:
                return True  # the whole body arrived, if slowly: the framing held
        elif fault == "truncated_body":
            self._send(head + body[:TRUNCATED_SENT])
            self.stop.wait(PAUSE_BEFORE_CLOSE_SECONDS)
        elif fault == "reset_mid_body":
            self._send(head + body[:len(body) // 2])
            self.stop.wait(PAUSE_BEFORE_CLOSE_SECONDS)
            self._close(abortive=True)
        return False
