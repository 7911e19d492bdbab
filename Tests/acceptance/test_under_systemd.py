"""The unit under a real systemd: READY=1, the watchdog, reload and a clean stop.

Opt-in (PERSONA_PROXY_SYSTEMD_TEST=1) and only where systemd is the running service manager
(/run/systemd/system exists): the unit is installed as a transient copy under /run, never booted
in a namespace here. Booting systemd as a manager inside a sandbox runs systemd-tmpfiles, which
empties the host's /tmp unless /tmp, /var/tmp and /run are fresh private mounts; these tests never
do that. Everywhere else they are skipped and say why; test_installed_layout.py covers the unit's
command line, environment and file modes without systemd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, free_port, http_get

UNIT = "persona-proxy-acceptance.service"
pytestmark = [
    pytest.mark.skipif(os.environ.get("PERSONA_PROXY_SYSTEMD_TEST") != "1", reason="opt-in: set PERSONA_PROXY_SYSTEMD_TEST=1 on a host whose PID 1 is systemd"),
    pytest.mark.skipif(not Path("/run/systemd/system").is_dir(), reason="systemd is not the running service manager here (no /run/systemd/system)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="installing a unit needs root"),
]


def systemctl(*args: str) -> str:
    return subprocess.run(["systemctl", *args], check=True, capture_output=True, text=True).stdout


def show(prop: str) -> str:
    return systemctl("show", "-p", prop, "--value", UNIT).strip()


def test_ready_watchdog_reload_and_clean_stop(binary, api_key, fake, tmp_path):
    port = free_port()
    etc = Path("/run/persona-proxy-acceptance")
    etc.mkdir(mode=0o755, exist_ok=True)
    shutil.copy(binary, etc / "persona-proxy")
    (etc / "api-key").write_text(api_key + "\n")
    (etc / "api-key").chmod(0o600)
    config = etc / "persona-proxy.yaml"
    config.write_text(f"server:\n  host: 127.0.0.1\n  port: {port}\nupstream:\n  base_url: {fake.base_url}\n")
    config.chmod(0o644)
    unit = (REPO_ROOT / "systemd/persona-proxy.service").read_text()
    unit = (unit.replace("/usr/local/bin/persona-proxy", str(etc / "persona-proxy"))
                .replace("/etc/persona-proxy/persona-proxy.yaml", str(config))
                .replace("/etc/persona-proxy/api-key", str(etc / "api-key"))
                .replace("SocketBindAllow=tcp:8080", f"SocketBindAllow=tcp:{port}")
                .replace("StateDirectory=persona-proxy", "StateDirectory=persona-proxy-acceptance")
                .replace("/var/lib/persona-proxy/", "/var/lib/persona-proxy-acceptance/"))
    (Path("/run/systemd/system") / UNIT).write_text(unit)
    systemctl("daemon-reload")
    try:
        systemctl("start", UNIT)  # returns once READY=1 arrived (Type=notify)
        assert show("ActiveState") == "active"
        assert http_get(port, "/readyz").status == 200
        assert "entries" in show("StatusText")
        time.sleep(35)  # longer than WatchdogSec=30: a missing ping would have restarted it
        assert show("NRestarts") == "0" and show("ActiveState") == "active"
        config.write_text(config.read_text() + "cache:\n  ttl_seconds: 60\n")
        systemctl("reload", UNIT)
        assert show("ActiveState") == "active"
        systemctl("stop", UNIT)
        assert show("Result") == "success"
    finally:
        subprocess.run(["systemctl", "stop", UNIT], capture_output=True)
        (Path("/run/systemd/system") / UNIT).unlink(missing_ok=True)
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)
