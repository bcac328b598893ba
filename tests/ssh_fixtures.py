"""A private sshd in front of the session's dockerd, for the ssh:// tests.

swarmtui reaches an ssh:// host through the docker SDK's connection, for
which it runs the system client as ``ssh -o BatchMode=yes [-l USER] [-p
PORT] -- HOST 'docker system dial-stdio'``, found on PATH (docker SDK 7.2,
``docker/transport/sshconn.py``, runs the same without BatchMode). The
fixture starts ``sshd`` as a child process on 127.0.0.1 and a free port,
with its own host key, authorized key, config and pid file in a temporary
folder. Its config sets DOCKER_HOST for the remote command to the
private dockerd's socket.

OpenSSH takes ``~/.ssh`` from the passwd entry, not from $HOME, so the
client options cannot come from a fake home folder. Instead the folder contains
a ``bin/ssh`` script that runs ``/usr/bin/ssh -F CONFIG "$@"``, and the
tests put ``bin`` first on PATH. With ``-F`` the client reads neither
``~/.ssh/config`` nor ``/etc/ssh/ssh_config``, and the config names the key,
the known hosts file and every other file it uses.

When sshd is missing, the ssh tests are skipped, or failed when ``CI=true``,
as the engine tests are when dockerd is missing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_fixtures import (
    Daemon,
    EngineUnavailable,
    _alive,
    _terminate,
    clean_environment,
    docker_cli,
    engine_unavailable,
    free_tcp_port,
    in_ci,
    processes_using,
)

SSH_ADDRESS = "127.0.0.1"
SSH_USER = "root"
START_TIMEOUT = 10.0
START_ATTEMPTS = 3
# sshd started as root exits unless this folder exists: it is the chroot of
# its unprivileged child (OpenSSH 9.2 on Debian 12). Debian's ssh service
# creates it when it starts, so a machine that never ran it lacks the folder.
PRIVSEP_DIRECTORY = Path("/run/sshd")
# The remote command's PATH: the docker CLI of the other engine tests first.
REMOTE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SshdUnavailable(Exception):
    """sshd or the OpenSSH client tools are missing, or sshd did not start."""


def sshd_unavailable(reason: str) -> None:
    """Skip the calling test, or fail it under CI, because sshd cannot run."""
    if in_ci():
        pytest.fail(f"ssh tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(f"no sshd for the ssh tests: {reason}")


def sshd_binary() -> str:
    """Return sshd's absolute path, which sshd needs to re-execute itself."""
    for candidate in ("/usr/sbin/sshd", "/usr/bin/sshd"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("sshd")
    if found is None:
        raise SshdUnavailable("sshd is not installed (apt-get install openssh-server)")
    return os.path.abspath(found)


def openssh_tool(name: str) -> str:
    """Return the path of an OpenSSH client tool such as ssh or ssh-keygen."""
    for candidate in (f"/usr/bin/{name}", f"/bin/{name}"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise SshdUnavailable(f"{name} is not installed (apt-get install openssh-client)")


def listening(address: str, port: int) -> bool:
    """Return whether a TCP connection to `address:port` is accepted."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect((address, port))
        except OSError:
            return False
    return True


def children_of(pid: int) -> list[int]:
    """List every descendant of `pid`, read from the parent ids in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in brackets may contain spaces, so split after it.
        fields = status.rpartition(")")[2].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.append(child)
                pending.append(child)
    return found


@dataclass(eq=False)
class SshServer:
    """One private sshd whose sessions get `docker_host` as DOCKER_HOST."""

    directory: Path
    docker_host: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The server in DOCKER_HOST form (ssh://root@127.0.0.1:PORT)."""
        return f"ssh://{SSH_USER}@{SSH_ADDRESS}:{self.port}"

    @property
    def bin_directory(self) -> Path:
        """The folder with the `ssh` script; put it first on PATH."""
        return self.directory / "bin"

    @property
    def pid_file(self) -> Path:
        return self.directory / "sshd.pid"

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def client_config(self) -> Path:
        return self.directory / "ssh_config"

    def client_environment(self, **extra: str) -> dict[str, str]:
        """Return clean_environment() with the test's `ssh` first on PATH."""
        path = os.environ.get("PATH", os.defpath)
        return clean_environment(PATH=f"{self.bin_directory}:{path}", **extra)

    def prepare(self) -> None:
        """Write the keys, the client config and the `ssh` script."""
        keygen = openssh_tool("ssh-keygen")
        for name in ("host_key", "client_key"):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", name],
                cwd=self.directory,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
        client_key = self.directory / "client_key"
        authorized = (self.directory / "client_key.pub").read_text()
        (self.directory / "authorized_keys").write_text(authorized)
        (self.directory / "docker-config").mkdir(mode=0o700)

        self.client_config.write_text(
            "Host *\n"
            f"  IdentityFile {client_key}\n"
            "  IdentitiesOnly yes\n"
            "  IdentityAgent none\n"
            f"  UserKnownHostsFile {self.directory / 'known_hosts'}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  UpdateHostKeys no\n"
            "  BatchMode yes\n"
            "  ControlMaster no\n"
            "  ControlPath none\n"
            "  LogLevel ERROR\n"
        )

        self.bin_directory.mkdir()
        script = self.bin_directory / "ssh"
        ssh = openssh_tool("ssh")
        script.write_text(
            "#!/bin/sh\n"
            "# The docker SDK runs `ssh` from PATH: use the test's client config.\n"
            f'exec {shlex.quote(ssh)} -F {shlex.quote(str(self.client_config))} "$@"\n'
        )
        script.chmod(0o755)

    def write_server_config(self) -> None:
        """Write sshd_config and known_hosts for the current port."""
        remote_path = f"{Path(docker_cli()).parent}:{REMOTE_PATH}"
        environment = {
            "DOCKER_HOST": self.docker_host,
            "DOCKER_CONFIG": str(self.directory / "docker-config"),
            "PATH": remote_path,
        }
        set_env = " ".join(f"{key}={value}" for key, value in environment.items())
        (self.directory / "sshd_config").write_text(
            f"ListenAddress {SSH_ADDRESS}:{self.port}\n"
            f"HostKey {self.directory / 'host_key'}\n"
            f"PidFile {self.pid_file}\n"
            f"AuthorizedKeysFile {self.directory / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            # The key files live under /tmp, which any user may write to.
            "StrictModes no\n"
            "PermitUserRC no\n"
            "PermitUserEnvironment no\n"
            "PermitTTY no\n"
            "X11Forwarding no\n"
            "AllowAgentForwarding no\n"
            "AllowTcpForwarding no\n"
            f"SetEnv {set_env}\n"
            "LogLevel VERBOSE\n"
        )
        host_key = (self.directory / "host_key.pub").read_text().split()
        (self.directory / "known_hosts").write_text(
            f"[{SSH_ADDRESS}]:{self.port} {host_key[0]} {host_key[1]}\n"
        )

    def start(self) -> None:
        """Start sshd on a free port and wait until it accepts connections.

        Another process may take the free port before sshd binds it, so a
        failed start is tried again on another port.
        """
        binary = sshd_binary()
        PRIVSEP_DIRECTORY.mkdir(mode=0o755, exist_ok=True)
        for _ in range(START_ATTEMPTS):
            self.port = free_tcp_port(SSH_ADDRESS)
            self.write_server_config()
            self.pid_file.unlink(missing_ok=True)
            self.process = subprocess.Popen(
                [
                    binary,
                    "-D",
                    "-f",
                    str(self.directory / "sshd_config"),
                    "-E",
                    str(self.log_path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=clean_environment(),
                start_new_session=True,
            )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.pid_file.exists() and listening(SSH_ADDRESS, self.port):
                    return
                time.sleep(0.05)
            self.stop()
        raise SshdUnavailable(
            f"sshd did not start on {SSH_ADDRESS} after {START_ATTEMPTS} tries: "
            + self.log_tail()
        )

    def sessions(self) -> list[int]:
        """List the processes that sshd started for connections, still alive."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [pid for pid in children_of(self.process.pid) if _alive(pid)]

    def client_processes(self) -> list[int]:
        """List the live processes, other than sshd's, that use this folder.

        Each ssh client that the `ssh` script started names the client config
        in this folder on its command line.
        """
        server = {self.process.pid} if self.process is not None else set()
        server.update(self.sessions())
        return [
            pid
            for pid in processes_using(self.directory)
            if pid not in server and _alive(pid)
        ]

    def stop(self) -> None:
        """Stop sshd by its pid, then the sessions it started, and reap it."""
        if self.process is None:
            return
        sessions = self.sessions()
        # Stopping the listener leaves open sessions running, so they end too.
        _terminate(self.process.pid)
        for session in sessions:
            _terminate(session)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=START_TIMEOUT)

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def new_ssh_server(docker_host: str) -> SshServer:
    """Create and start an sshd whose sessions get `docker_host` as DOCKER_HOST."""
    directory = Path(tempfile.mkdtemp(prefix="stuissh", dir=tempfile.gettempdir()))
    server = SshServer(directory=directory, docker_host=docker_host)
    try:
        server.prepare()
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@contextlib.contextmanager
def ssh_server_for(docker_host: str) -> Iterator[SshServer]:
    """Run an sshd for `docker_host` while the block runs; skip when sshd cannot."""
    try:
        server = new_ssh_server(docker_host)
    except SshdUnavailable as error:
        sshd_unavailable(str(error))
        raise
    except EngineUnavailable as error:
        # The remote command needs the docker CLI, found with docker_cli().
        engine_unavailable(str(error))
        raise
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def ssh_server(manager: Daemon) -> Iterator[SshServer]:
    """An sshd on 127.0.0.1 in front of the session's manager, for one test."""
    with ssh_server_for(manager.host) as server:
        yield server
