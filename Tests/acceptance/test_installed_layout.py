"""The service as installed starts: `make install-files DESTDIR=…` lays out exactly what
`make install` does, and the unit's ExecStart line runs with the unit's environment as an
unprivileged uid (what DynamicUser= gives it), with the key handed over as a credential.

Before: /etc/persona-proxy was 0750 root and the YAML 0640 root, so the dynamic user could not read
`--config /etc/persona-proxy/persona-proxy.yaml` and `check-config` exited 78, "Permission
denied"; the sandbox test ran as root and without --config, so it could not see this.

systemd itself is not booted here (it would run systemd-tmpfiles against the host's /tmp): the
state directory and the credential are laid out the way StateDirectory= and LoadCredential= do.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT, cache_status_params, clean_env, free_port, http_get, wait_for_health

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to run the service as an unprivileged uid")

SERVICE_USER = "nobody"


def unit_lines(unit: Path, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith(key + "=")]


@pytest.fixture
def installed(binary):
    # A root that every uid may traverse (pytest's tmp_path is private to root).
    root = Path(tempfile.mkdtemp(prefix="ppx-installed-"))
    root.chmod(0o755)
    try:
        subprocess.run(
            ["make", "-s", "install-files", f"DESTDIR={root}", f"BINARY={binary}"], cwd=REPO_ROOT, check=True, capture_output=True)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def as_service_user(root: Path, api_key: str, extra_env: dict[str, str]) -> tuple[list[str], dict[str, str], callable]:
    """The unit's ExecStart and Environment, its paths under `root`, to run as the service user."""
    unit = root / "etc/systemd/system/persona-proxy.service"
    user = pwd.getpwnam(SERVICE_USER)
    # StateDirectory=persona-proxy, StateDirectoryMode=0700, owned by the service user.
    state = root / "var/lib/persona-proxy"
    state.mkdir(parents=True)
    os.chown(state, user.pw_uid, user.pw_gid)
    state.chmod(0o700)
    # LoadCredential=persona-api-key:/etc/persona-proxy/api-key: systemd copies it into a directory
    # the service alone can read.
    key_file = root / "etc/persona-proxy/api-key"
    key_file.write_text(api_key + "\n")
    key_file.chmod(0o600)
    credentials = root / "run/credentials/persona-proxy.service"
    credentials.mkdir(parents=True)
    shutil.copy(key_file, credentials / "persona-api-key")
    for path in (credentials, credentials / "persona-api-key"):
        os.chown(path, user.pw_uid, user.pw_gid)
    [exec_start] = unit_lines(unit, "ExecStart")
    argv = [str(root) + arg if arg.startswith("/") else arg for arg in shlex.split(exec_start)]
    env = clean_env(CREDENTIALS_DIRECTORY=str(credentials))
    for assignment in unit_lines(unit, "Environment"):
        name, value = assignment.split("=", 1)
        env[name] = str(root) + value if value.startswith("/") else value
    # The configuration file's state paths, moved under root like the unit's.
    env.setdefault("CACHE_PATH", str(state / "cache.sqlite"))
    env["REQUEST_LOG_PATH"] = str(state / "requests.sqlite")
    env.update(extra_env)
    setpriv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]

    def command(*replace_subcommand: str) -> list[str]:
        args = list(argv)
        if replace_subcommand:
            args[1] = replace_subcommand[0]
        return setpriv + args

    return argv, env, command


def test_the_installed_unit_serves_a_hit_as_an_unprivileged_user(installed, api_key, fake):
    config = installed / "etc/persona-proxy/persona-proxy.yaml"
    assert oct(config.stat().st_mode & 0o777) == "0o644" and oct(config.parent.stat().st_mode & 0o777) == "0o755"
    port = free_port()
    _, env, command = as_service_user(
        installed, api_key, {"UPSTREAM_BASE_URL": fake.base_url, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port), "LOG_LEVEL": "warning"})

    checked = subprocess.run(command("check-config"), env=env, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert api_key.encode() not in checked.stdout + checked.stderr

    process = subprocess.Popen(command(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_health(port, process)
        path = "/api/v1/connect/connections/cxn_ABC123"
        assert "fwd=miss" in cache_status_params(http_get(port, path).header("Cache-Status"))
        hit = http_get(port, path)
        assert hit.status == 200 and "hit" in cache_status_params(hit.header("Cache-Status"))
        assert fake.requests[-1].header("Authorization") == f"Bearer {api_key}"
        state = installed / "var/lib/persona-proxy"
        owner = pwd.getpwnam(SERVICE_USER).pw_uid
        assert all(path.stat().st_uid == owner for path in state.iterdir()), "files in the state directory not owned by the service"
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_previous_layout_is_refused_by_the_service_user(installed, api_key):
    """The check above can fail: with the old modes the service user cannot read the file."""
    config = installed / "etc/persona-proxy/persona-proxy.yaml"
    config.chmod(0o640)
    _, env, command = as_service_user(installed, api_key, {})
    checked = subprocess.run(command("check-config"), env=env, capture_output=True, timeout=30)
    assert checked.returncode == 78, checked.stdout + checked.stderr
    assert b"--config" in checked.stderr and b"ermission" in checked.stderr
