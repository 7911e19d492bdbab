"""Fixtures for the acceptance tests: the fake Persona in a thread, and the real persona-proxy
binary as a subprocess. Every process started here is killed in teardown."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from fake_persona import FakePersona

REPO_ROOT = Path(__file__).resolve().parents[2]

# Environment variables the proxy reads as configuration: scrubbed from the inherited
# environment so that a developer's shell cannot change what the tests run.
CONFIG_ENV = (
    "SERVER_HOST", "SERVER_PORT", "UPSTREAM_BASE_URL", "UPSTREAM_API_KEY_FILE", "UPSTREAM_PERSONA_VERSION",
    "UPSTREAM_TIMEOUT_SECONDS", "CACHE_PATH", "REQUEST_LOG_PATH", "CACHE_TTL_SECONDS", "CACHE_NOT_FOUND_TTL_SECONDS",
    "CACHE_MEMORY_ENTRIES", "CACHE_STALE_WHILE_REVALIDATE_SECONDS", "CACHE_STALE_IF_ERROR_SECONDS",
    "RATE_LIMIT_MAX_WAIT_SECONDS", "RATE_LIMIT_RESERVE_FRACTION", "RATE_LIMIT_MAX_CONCURRENCY",
    "RATE_LIMIT_BACKOFF_BASE_SECONDS", "RATE_LIMIT_BACKOFF_MAX_SECONDS",
    "LOG_LEVEL", "PERSONA_API_KEY", "CREDENTIALS_DIRECTORY", "CACHE_LIST_TTL_SECONDS", "SWEEP_INTERVAL_SECONDS",
    "SWEEP_MAX_BUDGET_FRACTION",
)


def proxy_binary() -> Path:
    raw = os.environ.get("PERSONA_PROXY_BIN")
    path = Path(raw) if raw else Path(".build/debug/persona-proxy")
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def new_api_key() -> str:
    return f"persona_sandbox_{uuid.uuid4()}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_ENV}
    env.update(overrides)
    return env


@dataclass
class HTTPResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def json(self):
        return json.loads(self.body)

    def raw(self) -> bytes:
        """Status, headers and body as bytes, for searching."""
        head = f"{self.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("latin-1", "replace") + b"\r\n" + self.body


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> HTTPResult:
    return http_request(port, "GET", path, headers, None, timeout)


def http_request(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
                 timeout: float = 10.0) -> HTTPResult:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return HTTPResult(response.status, response.getheaders(), body, time.monotonic() - started)
    finally:
        connection.close()


def cache_status_params(value: str | None) -> list[str]:
    """`persona-proxy; fwd=miss; stored` -> ['fwd=miss', 'stored'] (RFC 9211: cache name, then params)."""
    assert value, "no Cache-Status header"
    parts = [p.strip() for p in value.split(";")]
    assert parts[0] == "persona-proxy", f"Cache-Status names another cache: {value!r}"
    return parts[1:]


def assert_persona_error(result: HTTPResult, status: int) -> dict:
    """The proxy's own refusals must parse exactly like Persona's errors."""
    assert result.status == status, f"expected {status}, got {result.status}: {result.body[:300]!r}"
    content_type = result.header("Content-Type") or ""
    assert content_type.startswith("application/json"), f"Content-Type {content_type!r}"
    document = json.loads(result.body)
    assert isinstance(document, dict) and set(document) == {"errors"}, document
    errors = document["errors"]
    assert isinstance(errors, list) and errors, document
    for error in errors:
        assert isinstance(error, dict), document
        assert isinstance(error.get("title"), str) and error["title"], document
        assert set(error) <= {"title", "details", "meta", "source"}, f"not Persona's error keys: {sorted(error)}"
        if "details" in error:
            assert isinstance(error["details"], str), document
    return document


def wait_for_health(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until `/healthz` answers 200 on `port`; fails if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"the proxy exited with {process.returncode} before answering /healthz"
        try:
            if http_get(port, "/healthz", timeout=1).status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"the proxy did not answer /healthz within {timeout} s"
        time.sleep(0.05)


class ProxyProcess:
    """One `persona-proxy serve` subprocess. Output goes to files (appended across restarts)."""

    def __init__(self, binary: Path, workdir: Path, env: dict[str, str], name: str = "proxy", preexec_fn=None,
                 args: list[str] | None = None) -> None:
        self.preexec_fn = preexec_fn
        self.args = args or []
        self.binary = binary
        self.workdir = workdir
        self.env = env
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.responses: list[HTTPResult] = []

    def start(self, timeout: float = 30.0) -> "ProxyProcess":
        self.port = free_port()
        env = dict(self.env, SERVER_HOST="127.0.0.1", SERVER_PORT=str(self.port))
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", *self.args], cwd=self.workdir, env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, preexec_fn=self.preexec_fn)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"persona-proxy exited with {self.process.returncode} before answering /healthz:\n"
                    + self.stderr_path.read_text(errors="replace")[-3000:])
            try:
                if http_get(self.port, "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"persona-proxy did not answer /healthz within {timeout} s")
            time.sleep(0.05)

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> HTTPResult:
        assert self.port is not None
        result = http_get(self.port, path, headers, timeout)
        self.responses.append(result)
        return result

    def post(self, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             timeout: float = 10.0) -> HTTPResult:
        assert self.port is not None
        result = http_request(self.port, "POST", path, headers, body, timeout)
        self.responses.append(result)
        return result

    def metric(self, name: str) -> float:
        """The sum of every sample of a counter or gauge in `GET /metrics` (0 if absent)."""
        assert self.port is not None
        text = http_get(self.port, "/metrics").body.decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def output(self) -> bytes:
        data = b""
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                data += path.read_bytes()
        return data


@pytest.fixture(scope="session")
def binary() -> Path:
    path = proxy_binary()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"persona-proxy binary not found at {path}: run `swift build --product persona-proxy` "
                    "or set PERSONA_PROXY_BIN", pytrace=False)
    return path


@pytest.fixture
def api_key() -> str:
    return new_api_key()


@pytest.fixture
def fake(api_key):
    fake = FakePersona(api_key=api_key).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def start_proxy(binary, tmp_path, api_key):
    """Factory: start_proxy(upstream_url, **env) -> a running ProxyProcess (killed in teardown).
    The cache is tmp_path/cache.sqlite unless CACHE_PATH is given; the request log sits beside it
    (requests.sqlite)."""
    started: list[ProxyProcess] = []

    def start(upstream_url: str, name: str = "proxy", args: list[str] | None = None, **env: str) -> ProxyProcess:
        full_env = clean_env(
            PERSONA_API_KEY=api_key, UPSTREAM_BASE_URL=upstream_url, CACHE_PATH=str(tmp_path / "cache.sqlite"),
            LOG_LEVEL="warning")
        full_env.update(env)
        proxy = ProxyProcess(binary, tmp_path, full_env, name=name, args=args)
        started.append(proxy)
        return proxy.start()

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()
