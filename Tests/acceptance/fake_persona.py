"""A small, independent fake of Persona's Connect connections API, for acceptance tests.

Written from the Persona facts in docs/persona-api.md (not from the Swift simulator), so that the
proxy is checked against a second, separately written idea of Persona. Standard library only.

    fake = FakePersona(api_key="persona_sandbox_...")
    fake.start()                     # 127.0.0.1, port chosen by the system -> fake.port, fake.base_url
    ...                              # point the proxy at fake.base_url
    fake.requests                    # every request received, in order (RecordedRequest)
    fake.latency = 3.0               # seconds added before every /api/v1 answer
    fake.get_latency = 1.0           # ... or before GET answers only (a GET reads state on arrival)
    fake.force_rate_limited(2, reset=17)   # the next 2 /api/v1 answers are Persona's 429
    fake.api_log_body("req_...")     # the API-log entry it serves for a Request-Id it issued
    fake.forget_api_logs()           # as after Persona's two-week retention: api-logs answer 404
    fake.stop()                      # refuse connections: listener and open connections closed

Besides retrieve, it accepts `POST /api/v1/connect/connections/{id}/deactivate` (from pending or
active -> inactive) and `.../reactivate` (from inactive -> pending), answering 200 with the connection,
or 409 `Conflict` for another transition (the code is not documented; 409 is one of the two listed).
Like Persona, a POST with an `Idempotency-Key` stores its first result and replays it for the same
key and parameters (no new state change), and answers 400 "Idempotency error" for the same key with
other parameters; 429s and 401s are never stored.

List: `GET /api/v1/connect/connections` answers `{"data":[...],"links":{"prev":...,"next":...}}`,
newest `created-at` first, with `page[size]` (1-100, default 10; else 400), `page[after]` /
`page[before]` (an id; an unknown one is 400), `filter[status]` and
`filter[destination-organization-id]`; links are relative, brackets percent-encoded, the size and
filters carried along, `null` at either end. `fake.set_status(id, status)` changes a connection
where no API call shows it (the dashboard, the other organization): `updated-at` moves.

API logs: every answer that carries a `Request-Id` becomes an API-log entry (a replayed idempotent
answer creates none, as at Persona), served by `GET /api/v1/api-logs/{request-id}` as
`{"data":{"type":"api-log","id":"req_...","attributes":{"request":{"method","path","headers",
"get-params","post-params","ip-address"},"response":{"status","headers"},"created-at","redacted-at"}}}`
(attribute keys follow `Key-Inflection`), and 404 `Record not found` for an id it never issued. The
request headers kept are the ones received minus `Authorization` (Persona never shows the key); no
response body is kept. The api-logs call is itself authenticated, rate limited and logged.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

UNAUTHENTICATED_BODY = b'{"errors":[{"title":"Must be authenticated to access this endpoint"}]}'
NOT_FOUND_BODY = b'{"errors":[{"title":"Record not found"}]}'
RATE_LIMITED_BODY = (
    b'{"errors":[{"title":"Rate limit exceeded","details":"You have hit your rate limit of 300 requests / min. '
    b'Please reach out to support@withpersona.com if you need this changed."}]}'
)
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CACHE_CONTROL = "no-cache, no-store, max-age=0, must-revalidate"
CONNECTIONS_PREFIX = "/api/v1/connect/connections/"
LIST_PATH = "/api/v1/connect/connections"
API_LOGS_PREFIX = "/api/v1/api-logs/"
# Request headers an API-log entry never shows.
API_LOG_HIDDEN_HEADERS = ("authorization", "proxy-authorization", "cookie")
CONFLICT_BODY = b'{"errors":[{"title":"Conflict"}]}'
IDEMPOTENCY_ERROR_BODY = (
    b'{"errors":[{"title":"Idempotency error","details":"The Idempotency-Key was used with different parameters."}]}')
# POST .../{id}/{action}: the statuses it may start from, and the status it leads to.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "deactivate": (("pending", "active"), "inactive"),
    "reactivate": (("inactive",), "pending"),
}

# Known connections, attributes in Persona's own (kebab) spelling.
DEFAULT_CONNECTIONS: dict[str, dict[str, str]] = {
    "cxn_ABC123": {
        "status": "pending",
        "source-organization-id": "org_ABC123",
        "destination-organization-id": "org_XYZ789",
        "created-at": "2018-06-01T00:00:00.000Z",
        "updated-at": "2018-06-01T00:00:00.000Z",
    },
    "cxn_Active7Qm2": {
        "status": "active",
        "source-organization-id": "org_ABC123",
        "destination-organization-id": "org_Dest4Kp9",
        "created-at": "2024-03-04T05:06:07.000Z",
        "updated-at": "2024-05-06T07:08:09.000Z",
    },
    "cxn_Inactive9Zx": {
        "status": "inactive",
        "source-organization-id": "org_ABC123",
        "destination-organization-id": "org_Dest8Rt1",
        "created-at": "2023-01-02T03:04:05.000Z",
        "updated-at": "2023-06-07T08:09:10.000Z",
    },
    # Persona warns that string attributes are not a closed set: a status the proxy has never seen.
    "cxn_Novel3Status": {
        "status": "paused-for-review",
        "source-organization-id": "org_ABC123",
        "destination-organization-id": "org_Dest2Ww5",
        "created-at": "2025-07-08T09:10:11.000Z",
        "updated-at": "2025-07-08T09:10:11.000Z",
    },
}


def inflect(kebab_key: str, inflection: str | None) -> str:
    """`source-organization-id` in the casing `Key-Inflection` asks for (kebab by default)."""
    parts = kebab_key.split("-")
    if inflection == "camel":
        return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if inflection == "snake":
        return "_".join(parts)
    return kebab_key


@dataclass
class RecordedRequest:
    method: str
    path: str  # raw path, without the query
    query: str  # raw query string ("" if none)
    headers: list[tuple[str, str]]  # as received, in order
    received_at: float = field(default_factory=time.time)
    # time.monotonic() when the request line and headers were read, and when the answer was sent.
    received_monotonic: float = field(default_factory=time.monotonic)
    answered_monotonic: float | None = None
    status: int | None = None  # what the fake answered (None: connection dropped)
    request_id: str | None = None  # the Request-Id the fake sent, if any
    body: bytes = b""  # the request body, if any
    replayed: bool = False  # a POST answered from the idempotency store

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self) -> list[str]:
        return [value for _, value in self.headers]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakePersona:
    def __init__(
        self,
        api_key: str,
        connections: dict[str, dict[str, str]] | None = None,
        environment_id: str = "env_FakeEnv0123456789abcdef",
        organization_id: str = "org_ABC123",
        rate_limit: int = 300,
        window_seconds: int = 60,
    ) -> None:
        self.api_key = api_key
        # Copied two levels deep: a deactivate replaces an entry, never touches the module's defaults.
        self.connections = {k: dict(v) for k, v in (connections if connections is not None else DEFAULT_CONNECTIONS).items()}
        self.environment_id = environment_id
        self.organization_id = organization_id
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.latency = 0.0
        self.get_latency: float | None = None  # for GETs only, instead of `latency`
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._forced_429 = 0
        self._forced_429_reset = 60
        # Idempotency-Key -> (method, path, body, status, answer body) of the first result.
        self._idempotent: dict[str, tuple[str, str, bytes, int, bytes]] = {}
        # Request-Id -> the API-log entry's attributes (kebab keys), in issue order.
        self._api_logs: dict[str, dict] = {}
        self._window_started: float | None = None
        self._window_count = 0
        self._refusing = False
        self._open_sockets: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "FakePersona":
        fake = self

        class Handler(_Handler):
            owner = fake

        self._refusing = False
        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-persona", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Refuse connections from now on: closes the listener and every open connection, so a
        client with pooled keep-alive connections sees them die and new ones refused."""
        self._refusing = True
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- knobs -----------------------------------------------------------------------------

    def force_rate_limited(self, count: int, reset: int = 60) -> None:
        """The next `count` authenticated /api/v1 answers are 429 with `RateLimit-Reset: reset`."""
        with self._lock:
            self._forced_429 = count
            self._forced_429_reset = reset

    def set_status(self, connection_id: str, status: str) -> None:
        """A change no API call shows the proxy; `updated-at` moves to now (to the millisecond)."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        with self._lock:
            self.connections[connection_id] = {**self.connections[connection_id], "status": status, "updated-at": stamp}

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def idempotency_keys(self, path: str | None = None) -> list[str | None]:
        """The Idempotency-Key of every POST received (None where it had none), in order."""
        return [r.idempotency_key for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def forget_api_logs(self) -> None:
        """Drop every API-log entry (as after Persona's two-week retention): api-logs answer 404."""
        with self._lock:
            self._api_logs.clear()

    def api_log_ids(self) -> list[str]:
        """The Request-Id of every API-log entry kept, in issue order."""
        with self._lock:
            return list(self._api_logs)

    def api_log_body(self, request_id: str, inflection: str | None = None) -> bytes | None:
        """The exact bytes `GET /api/v1/api-logs/{request_id}` answers, or None if unknown."""
        with self._lock:
            attributes = self._api_logs.get(request_id)
        if attributes is None:
            return None
        document = {
            "data": {
                "type": "api-log",
                "id": request_id,
                "attributes": {inflect(k, inflection): v for k, v in attributes.items()},
            }
        }
        return json.dumps(document, separators=(",", ":")).encode()

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def connection_body(self, connection_id: str, inflection: str | None = None,
                        attributes: dict[str, str] | None = None) -> bytes:
        """The exact bytes the fake answers for a known id (compact JSON, attribute keys inflected);
        `attributes`: as they were at some moment (default: now)."""
        attributes = attributes if attributes is not None else self.connections[connection_id]
        document = {
            "data": {
                "type": "connect/connection",
                "id": connection_id,
                "attributes": {inflect(k, inflection): v for k, v in attributes.items()},
            }
        }
        return json.dumps(document, separators=(",", ":")).encode()

    def list_body(self, query: str, inflection: str | None = None) -> tuple[int, bytes]:
        """(status, exact bytes) of the list for a raw query string."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        size_text = params.get("page[size]", "10")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            return 400, b'{"errors":[{"title":"Bad Request","details":"page[size] must be between 1 and 100"}]}'
        size = int(size_text)
        with self._lock:
            everything = sorted(self.connections.items(), key=lambda item: (item[1].get("created-at", ""), item[0]), reverse=True)
        ids = [connection_id for connection_id, _ in everything]

        def matches(attributes: dict[str, str]) -> bool:
            return all(attributes.get(name) == params[f"filter[{name}]"]
                       for name in ("status", "destination-organization-id") if f"filter[{name}]" in params)

        for cursor in ("page[after]", "page[before]"):
            if cursor in params and params[cursor] not in ids:
                return 400, b'{"errors":[{"title":"Bad Request","details":"Unknown cursor"}]}'
        indices = [i for i, (_, attributes) in enumerate(everything) if matches(attributes)]
        if "page[after]" in params:
            start = ids.index(params["page[after]"])
            picked = [i for i in indices if i > start][:size]
        elif "page[before]" in params:
            end = ids.index(params["page[before]"])
            picked = [i for i in indices if i < end][-size:]
        else:
            picked = indices[:size]
        carried = "".join(
            f"&{name.replace('[', '%5B').replace(']', '%5D')}={params[name]}"
            for name in ("page[size]", "filter[status]", "filter[destination-organization-id]") if name in params)

        def link(cursor_name: str, cursor: str) -> str:
            return f"{LIST_PATH}?{cursor_name.replace('[', '%5B').replace(']', '%5D')}={cursor}{carried}"

        newer = bool(picked) and any(i < picked[0] for i in indices)
        older = bool(picked) and any(i > picked[-1] for i in indices)
        document = {
            "data": [
                {"type": "connect/connection", "id": ids[i],
                 "attributes": {inflect(k, inflection): v for k, v in everything[i][1].items()}}
                for i in picked
            ],
            "links": {
                "prev": link("page[before]", ids[picked[0]]) if newer else None,
                "next": link("page[after]", ids[picked[-1]]) if older else None,
            },
        }
        return 200, json.dumps(document, separators=(",", ":")).encode()

    # -- used by the handler ---------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _rate_limit_state(self, forced: bool) -> tuple[int, int, int]:
        """(limit, remaining, reset) after counting this request in the fixed window."""
        with self._lock:
            now = time.monotonic()
            if self._window_started is None or now - self._window_started >= self.window_seconds:
                self._window_started = now
                self._window_count = 0
            self._window_count += 1
            reset = max(0, int(self._window_started + self.window_seconds - now))
            if forced:
                return self.rate_limit, 0, self._forced_429_reset
            return self.rate_limit, max(0, self.rate_limit - self._window_count), reset

    def _keep_api_log(self, record: RecordedRequest, client_ip: str, response_headers: dict[str, str]) -> None:
        if record.request_id is None or record.replayed:
            return
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.received_at)) + (
            f".{int(record.received_at * 1000) % 1000:03d}Z")
        attributes = {
            "request": {
                "method": record.method,
                "path": record.path,
                "headers": {k: v for k, v in record.headers if k.lower() not in API_LOG_HIDDEN_HEADERS},
                "get-params": dict(parse_qsl(record.query, keep_blank_values=True)),
                "post-params": {},
                "ip-address": client_ip,
            },
            "response": {"status": record.status, "headers": dict(response_headers)},
            "created-at": created,
            "redacted-at": None,
        }
        with self._lock:
            self._api_logs[record.request_id] = attributes

    def _take_forced_429(self) -> bool:
        with self._lock:
            if self._forced_429 > 0:
                self._forced_429 -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    owner: FakePersona
    protocol_version = "HTTP/1.1"  # keep-alive, as Persona's edge does
    server_version = "fake-persona"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._open_sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.owner._lock:
                self.owner._open_sockets.discard(self.connection)

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.owner
        split = urlsplit(self.path)
        received = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = RecordedRequest(
            method=self.command, path=split.path, query=split.query, headers=list(self.headers.items()),
            received_monotonic=received, body=body)
        owner._record(record)
        if owner._refusing:
            self.close_connection = True
            return
        # A retrieve reads the connection when it arrives: a write that lands while it is still
        # being answered does not change what it returns (as a read before a write, at Persona).
        with owner._lock:
            arrived_id = unquote(split.path[len(CONNECTIONS_PREFIX):]) if split.path.startswith(CONNECTIONS_PREFIX) else None
            snapshot = dict(owner.connections[arrived_id]) if self.command == "GET" and arrived_id in owner.connections else None
        latency = owner.get_latency if self.command == "GET" and owner.get_latency is not None else owner.latency
        if latency > 0:
            time.sleep(latency)
            if owner._refusing:
                self.close_connection = True
                return

        if self.headers.get("Authorization") != f"Bearer {owner.api_key}":
            # Title only, and no Request-Id / RateLimit-* / Persona-* headers.
            self._send(record, 401, UNAUTHENTICATED_BODY, {})
            return

        forced = owner._take_forced_429()
        limit, remaining, reset = owner._rate_limit_state(forced)
        request_id = "req_" + uuid.uuid4().hex[:24]
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "Request-Id": request_id,
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(reset),
            "Persona-Environment-Id": owner.environment_id,
            "Persona-Organization-Id": owner.organization_id,
        }
        record.request_id = request_id
        if forced:
            self._send(record, 429, RATE_LIMITED_BODY, headers)
            return

        inflection = (self.headers.get("Key-Inflection") or "").strip().lower() or None
        if inflection not in (None, "camel", "kebab", "snake"):
            inflection = None
        if self.command == "GET" and split.path.startswith(API_LOGS_PREFIX):
            api_log = owner.api_log_body(unquote(split.path[len(API_LOGS_PREFIX):]), inflection)
            if api_log is not None:
                self._send(record, 200, api_log, headers)
                return
        if self.command == "GET" and split.path == LIST_PATH:
            status, listed = owner.list_body(split.query, inflection)
            self._send(record, status, listed, headers)
            return
        rest = unquote(split.path[len(CONNECTIONS_PREFIX):]) if split.path.startswith(CONNECTIONS_PREFIX) else None
        if self.command == "GET" and rest in owner.connections:
            self._send(record, 200, owner.connection_body(rest, inflection, attributes=snapshot), headers)
            return
        if self.command == "POST" and rest is not None and rest.count("/") == 1:
            connection_id, action = rest.split("/")
            if action in TRANSITIONS and connection_id in owner.connections:
                self._transition(record, connection_id, action, inflection, headers)
                return
        self._send(record, 404, NOT_FOUND_BODY, headers)

    def _transition(self, record: RecordedRequest, connection_id: str, action: str, inflection: str | None,
                    headers: dict[str, str]) -> None:
        owner = self.owner
        key = record.idempotency_key
        with owner._lock:
            stored = owner._idempotent.get(key) if key else None
            if stored is not None:
                method, path, body, status, answer = stored
                if (method, path, body) != (record.method, record.path, record.body):
                    status, answer = 400, IDEMPOTENCY_ERROR_BODY
                else:
                    record.replayed = True
            else:
                allowed_from, to = TRANSITIONS[action]
                attributes = owner.connections[connection_id]
                if attributes.get("status") in allowed_from:
                    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
                    owner.connections[connection_id] = {**attributes, "status": to, "updated-at": now}
                    status, answer = 200, None
                else:
                    status, answer = 409, CONFLICT_BODY
        if answer is None:
            answer = owner.connection_body(connection_id, inflection)
        if key and stored is None:
            with owner._lock:
                owner._idempotent[key] = (record.method, record.path, record.body, status, answer)
        self._send(record, status, answer, headers)

    def _send(self, record: RecordedRequest, status: int, body: bytes, headers: dict[str, str]) -> None:
        record.status = status
        record.answered_monotonic = time.monotonic()
        if record.request_id is not None:  # kept before answering: the Request-Id is usable at once
            self.owner._keep_api_log(record, self.client_address[0], {"Content-Type": JSON_CONTENT_TYPE, **headers})
        self.send_response(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
