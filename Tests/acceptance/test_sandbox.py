"""The binary against the systemd unit's hardening: run `serve` under strace through a miss, a hit,
/metrics, /readyz and SIGTERM, and check it only does what the unit allows.

- ProtectSystem=strict + StateDirectory=: no file is created, written, renamed or removed outside
  the directory holding cache.path (the unit's /var/lib/persona-proxy).
- RestrictAddressFamilies=: no socket of a family the unit does not list.
- MemoryDenyWriteExecute=yes: no mapping that is writable and executable at once.
"""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import clean_env, free_port, http_get

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "persona-proxy.service"
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
ALLOWED_DEVICES = ("/dev/null", "/dev/urandom", "/dev/random", "/dev/tty")


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian package strace)")
def test_serve_stays_inside_the_units_sandbox(fake, binary, tmp_path, api_key):
    state = tmp_path / "state"
    state.mkdir()
    trace = tmp_path / "trace.txt"
    port = free_port()
    env = clean_env(
        SERVER_PORT=str(port), UPSTREAM_BASE_URL=fake.base_url, CACHE_PATH=str(state / "cache.sqlite"),
        PERSONA_API_KEY=api_key, LOG_LEVEL="warning")
    process = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", str(trace), "-e",
         "trace=open,openat,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,socket,mmap,mprotect",
         str(binary), "serve"],
        env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(port, "/healthz", timeout=1).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not start under strace"
            time.sleep(0.1)
        assert http_get(port, "/api/v1/connect/connections/cxn_ABC123").status == 200
        assert http_get(port, "/api/v1/connect/connections/cxn_ABC123").status == 200
        assert http_get(port, "/readyz").status == 200
        assert http_get(port, "/metrics").status == 200
        # SIGTERM to the daemon itself (strace's child), as systemd would send it.
        children = open(f"/proc/{process.pid}/task/{process.pid}/children").read().split()
        assert children, "no traced child"
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    allowed_families = next(
        line.split("=", 1)[1].split() for line in UNIT.read_text().splitlines() if line.startswith("RestrictAddressFamilies="))
    violations = []
    for line in trace.read_text(errors="replace").splitlines():
        call = re.match(r"\d+\s+(\w+)\((.*)", line)
        if not call:
            continue
        name, arguments = call.groups()
        if " = -1 " in line:
            continue  # refused by the kernel: it did nothing
        paths = re.findall(r'"([^"]*)"', arguments)
        if name in ("open", "openat", "creat"):
            path = paths[0] if paths else ""
            if (name == "creat" or WRITE_FLAGS.search(arguments)) and not (
                    path.startswith(str(state)) or path.startswith(ALLOWED_DEVICES)):
                violations.append(line)
        elif name in ("mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2"):
            if any(not p.startswith(str(state)) for p in paths):
                violations.append(line)
        elif name == "socket":
            family = arguments.split(",", 1)[0].replace("AF_LOCAL", "AF_UNIX")
            if family not in allowed_families:
                violations.append(line)
        elif name in ("mmap", "mprotect"):
            if "PROT_WRITE" in arguments and "PROT_EXEC" in arguments:
                violations.append(line)
    assert violations == [], "outside the unit's sandbox:\n" + "\n".join(violations[:20])
