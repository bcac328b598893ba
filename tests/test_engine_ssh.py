"""swarmtui over ssh:// with the system ssh client, a private sshd and dockerd.

Each test runs the `swarmtui` command as a user would, with
DOCKER_HOST=ssh://root@127.0.0.1:PORT and the fixture's `ssh` script first
on PATH, or the console with the same PATH.
"""

from __future__ import annotations

import os
import pty
import pwd
import select
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from engine_fixtures import (
    CLI_TIMEOUT,
    Daemon,
    DaemonPool,
    assert_failure,
    clean_environment,
    docker_cli,
    join_token,
    run_swarmtui,
    swarmtui_script,
)
from ssh_fixtures import SshServer, openssh_tool, ssh_server_for
from textual.widgets import Static

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import ExitCode
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import mask_token
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.widgets import ErrorState

pytestmark = pytest.mark.engine

# Seconds that sshd may take to end a session after its client has gone.
SESSION_END_WAIT = 5.0


def swarmtui_over_ssh(server: SshServer, *arguments: str) -> tuple[str, str, int]:
    """Run `swarmtui ARGUMENTS` against `server`; return stdout, stderr, status."""
    result = run_swarmtui(
        *arguments, host=server.host, environment=server.client_environment()
    )
    return result.stdout, result.stderr, result.returncode


def quiet_worker_token(server: SshServer) -> subprocess.CompletedProcess[str]:
    """Run `swarmtui --timeout 5 join-token -q worker` against `server`."""
    return run_swarmtui(
        "--timeout",
        "5",
        "join-token",
        "-q",
        "worker",
        host=server.host,
        environment=server.client_environment(),
    )


def wait_for_sessions_to_end(server: SshServer) -> list[int]:
    """Return the sessions still open on `server` after SESSION_END_WAIT at most."""
    deadline = time.monotonic() + SESSION_END_WAIT
    while server.sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.sessions()


def user_ssh_folder() -> Path:
    """Return ~/.ssh from the passwd entry, where OpenSSH looks for it."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"


def test_ssh_join_token_matches_docker_cli(
    manager: Daemon, ssh_server: SshServer
) -> None:
    ssh_folder_existed = user_ssh_folder().exists()

    stdout, stderr, status = swarmtui_over_ssh(ssh_server, "join-token", "-q", "worker")

    assert status == 0, stderr
    assert stderr == ""
    assert stdout == join_token(manager, "worker") + "\n"
    assert ssh_server.client_processes() == []
    assert wait_for_sessions_to_end(ssh_server) == []
    assert "Accepted publickey for root" in ssh_server.log_path.read_text()
    assert user_ssh_folder().exists() == ssh_folder_existed


def test_ssh_rotate_worker_token(manager: Daemon, ssh_server: SshServer) -> None:
    worker_before = join_token(manager, "worker")
    manager_before = join_token(manager, "manager")

    stdout, stderr, status = swarmtui_over_ssh(
        ssh_server, "join-token", "--rotate", "-q", "worker"
    )

    assert status == 0, stderr
    assert "Rotated the worker join token" in stderr
    rotated = stdout.strip()
    assert rotated != worker_before
    assert join_token(manager, "worker") == rotated
    assert join_token(manager, "manager") == manager_before
    fresh, stderr, status = swarmtui_over_ssh(ssh_server, "join-token", "-q", "worker")
    assert status == 0, stderr
    assert fresh.strip() == rotated


def test_ssh_stopped_sshd_cannot_connect(ssh_server: SshServer) -> None:
    ssh_server.stop()

    started = time.monotonic()
    result = quiet_worker_token(ssh_server)
    elapsed = time.monotonic() - started

    # ssh's own message is quoted in swarmtui's, the only line on stderr.
    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"Cannot connect to the Docker engine at {ssh_server.host} through ssh: "
        f"ssh: connect to host 127.0.0.1 port {ssh_server.port}: Connection refused.",
    )
    assert len(result.stderr.splitlines()) == 1
    assert elapsed < 5
    assert ssh_server.client_processes() == []


def test_ssh_remote_dockerd_missing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sock"
    with ssh_server_for(f"unix://{missing}") as server:
        result = quiet_worker_token(server)
        sessions = wait_for_sessions_to_end(server)
        clients = server.client_processes()

    # The remote docker CLI's message names the socket it could not reach.
    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"Cannot connect to the Docker engine at {server.host} through ssh: ",
        f"{missing}: connect: no such file or directory",
    )
    assert len(result.stderr.splitlines()) == 1
    assert sessions == []
    assert clients == []


async def test_ssh_console_shows_both_tokens(
    manager: Daemon, ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The docker SDK starts ssh with this process's environment.
    monkeypatch.setenv("PATH", ssh_server.client_environment()["PATH"])
    backend = EngineBackend(EndpointChoice(host=ssh_server.host, environment={}))
    app = SwarmConsole(service=TokenService(backend), environment={})
    worker = join_token(manager, "worker")
    manager_token = join_token(manager, "manager")
    left_running: list[list[int]] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view is not None
        assert app.view.worker_token == worker
        assert app.view.manager_token == manager_token
        header = str(app.query_one("#header-endpoint", Static).content)
        assert ssh_server.host in header
        for role, token in ((Role.WORKER, worker), (Role.MANAGER, manager_token)):
            command = str(app.query_one(f"#{role}-command", Static).content)
            assert mask_token(token) in command
            assert token not in command
        for _ in range(2):
            await pilot.press("ctrl+r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            left_running.append(ssh_server.client_processes())
    backend.close()

    # Each read starts ssh processes, and none of them outlives its call.
    assert left_running == [[], []]
    assert wait_for_sessions_to_end(ssh_server) == []


async def test_ssh_console_stopped_sshd(
    ssh_server: SshServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", ssh_server.client_environment()["PATH"])
    ssh_server.stop()
    backend = EngineBackend(
        EndpointChoice(host=ssh_server.host, environment={}), timeout=5
    )
    app = SwarmConsole(service=TokenService(backend), environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        state = app.query_one(ErrorState)
        assert state.display
        assert state.border_title == "Engine unreachable"
        message = str(app.query_one("#error-message", Static).content)
        assert "Connection refused" in message
    backend.close()

    # ssh's stderr would be drawn over the console's screen on a terminal.
    assert capfd.readouterr().err == ""


def test_ssh_config_port_applies(manager: Daemon, ssh_server: SshServer) -> None:
    # A host alias whose HostName and Port come from the ssh config only.
    with ssh_server.client_config.open("a") as config:
        config.write(
            f"Host stuialias\n  HostName 127.0.0.1\n  Port {ssh_server.port}\n"
        )
    host = "ssh://root@stuialias"
    environment = ssh_server.client_environment()
    theirs = subprocess.run(
        [docker_cli(), "-H", host, "swarm", "join-token", "-q", "worker"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**environment, "DOCKER_CONFIG": str(ssh_server.directory / "cli")},
        timeout=CLI_TIMEOUT,
    )

    result = run_swarmtui(
        "join-token", "-q", "worker", host=host, environment=environment
    )

    assert theirs.returncode == 0, theirs.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout == theirs.stdout
    assert result.stdout == join_token(manager, "worker") + "\n"


def worker_token_through(
    ssh_server: SshServer, host: str
) -> subprocess.CompletedProcess[str]:
    """Run `swarmtui join-token -q worker` on `host`, with the fixture's ssh client."""
    return run_swarmtui(
        "join-token",
        "-q",
        "worker",
        host=host,
        environment=ssh_server.client_environment(),
    )


def test_ssh_ipv6_address_reaches_engine(
    manager: Daemon, ssh_server: SshServer
) -> None:
    # The fixture's sshd listens on 127.0.0.1 only, so the client config
    # sends the IPv6 literal there. ssh receives ::1 as the host to log in to.
    with ssh_server.client_config.open("a") as config:
        config.write("Host ::1\n  HostName 127.0.0.1\n")
    host = f"ssh://root@[::1]:{ssh_server.port}"

    result = worker_token_through(ssh_server, host)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(manager, "worker") + "\n"


def test_ssh_socket_path_picks_engine(
    manager: Daemon, daemons: DaemonPool, ssh_server: SshServer
) -> None:
    # The sshd's sessions reach `manager` by default; the path picks another.
    other = daemons.swarm()
    host = f"{ssh_server.host}{other.socket_path}"

    result = worker_token_through(ssh_server, host)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(other, "worker") + "\n"
    assert result.stdout != join_token(manager, "worker") + "\n"


def ssh_script(folder: Path, config: Path) -> Path:
    """Write `folder`/bin/ssh, which runs ssh with `config`; return that bin folder."""
    bin_directory = folder / "bin"
    bin_directory.mkdir()
    script = bin_directory / "ssh"
    ssh = shlex.quote(openssh_tool("ssh"))
    script.write_text(f'#!/bin/sh\nexec {ssh} -F {shlex.quote(str(config))} "$@"\n')
    script.chmod(0o755)
    return bin_directory


def prompting_ssh(server: SshServer, folder: Path, identity: Path) -> dict[str, str]:
    """Return an environment whose `ssh` prompts on the terminal, as by default.

    Its config has no BatchMode and prompts before it trusts an unknown host
    key. The known hosts file is `folder`/known_hosts, empty unless the
    caller fills it.
    """
    known_hosts = folder / "known_hosts"
    known_hosts.touch()
    config = folder / "ssh_config"
    config.write_text(
        "Host *\n"
        f"  IdentityFile {identity}\n"
        "  IdentitiesOnly yes\n"
        "  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking ask\n"
        "  UpdateHostKeys no\n"
        "  ControlMaster no\n"
        "  ControlPath none\n"
        "  LogLevel ERROR\n"
    )
    bin_directory = ssh_script(folder, config)
    environment = server.client_environment(DOCKER_HOST=server.host)
    environment["PATH"] = f"{bin_directory}:{environment['PATH']}"
    return environment


def run_on_terminal(
    environment: dict[str, str], *arguments: str, limit: float = 30.0
) -> tuple[int, str, float]:
    """Run swarmtui on a new pseudo-terminal, its controlling terminal.

    Return the exit status, what it wrote to the terminal and the seconds
    it took. ssh writes its prompts to the controlling terminal.
    """
    command = [swarmtui_script(), *arguments]
    started = time.monotonic()
    pid, terminal = pty.fork()
    if pid == 0:
        try:
            os.execve(command[0], command, environment)
        finally:
            os._exit(127)
    output = bytearray()
    try:
        while time.monotonic() - started < limit:
            ready, _, _ = select.select([terminal], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO once the child and its ssh have exited
                break
            if not chunk:
                break
            output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    elapsed = time.monotonic() - started
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace"), elapsed


def test_ssh_unknown_host_key_fails(ssh_server: SshServer, tmp_path: Path) -> None:
    environment = prompting_ssh(
        ssh_server, tmp_path, ssh_server.directory / "client_key"
    )

    status, output, elapsed = run_on_terminal(
        environment, "--timeout", "10", "join-token", "-q", "worker"
    )

    assert status == ExitCode.ENGINE_UNREACHABLE, output
    assert "continue connecting" not in output
    assert "Host key verification failed." in output
    assert f"Connect once with 'ssh -p {ssh_server.port} root@127.0.0.1'" in output
    assert "did not respond" not in output
    assert elapsed < 5
    assert "SWMTKN" not in output


def test_ssh_key_passphrase_fails_at_once(
    ssh_server: SshServer, tmp_path: Path
) -> None:
    key = tmp_path / "passphrase_key"
    keygen = openssh_tool("ssh-keygen")
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "secret words", "-f", str(key)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    with (ssh_server.directory / "authorized_keys").open("a") as authorized:
        authorized.write(Path(f"{key}.pub").read_text())
    environment = prompting_ssh(ssh_server, tmp_path, key)
    (tmp_path / "known_hosts").write_text(
        (ssh_server.directory / "known_hosts").read_text()
    )

    status, output, elapsed = run_on_terminal(
        environment, "--timeout", "10", "join-token", "-q", "worker"
    )

    assert status == ExitCode.ENGINE_UNREACHABLE, output
    assert "Enter passphrase" not in output
    assert "Permission denied (publickey)." in output
    assert "Load the key into ssh-agent with 'ssh-add'" in output
    assert "did not respond" not in output
    assert elapsed < 5
    assert "SWMTKN" not in output


def ssh_with_known_hosts(
    server: SshServer, folder: Path, known_hosts: str
) -> dict[str, str]:
    """Return the environment of `server` whose ssh reads `known_hosts` instead."""
    (folder / "known_hosts").write_text(known_hosts)
    config = folder / "ssh_config"
    config.write_text(
        server.client_config.read_text().replace(
            f"UserKnownHostsFile {server.directory / 'known_hosts'}",
            f"UserKnownHostsFile {folder / 'known_hosts'}",
        )
    )
    bin_directory = ssh_script(folder, config)
    environment = server.client_environment()
    environment["PATH"] = f"{bin_directory}:{environment['PATH']}"
    return environment


def test_ssh_changed_host_key_named(ssh_server: SshServer, tmp_path: Path) -> None:
    other_key = tmp_path / "other_host_key"
    subprocess.run(
        [
            openssh_tool("ssh-keygen"),
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            str(other_key),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    key_type, key = Path(f"{other_key}.pub").read_text().split()[:2]
    environment = ssh_with_known_hosts(
        ssh_server, tmp_path, f"[127.0.0.1]:{ssh_server.port} {key_type} {key}\n"
    )

    result = run_swarmtui(
        "join-token", "-q", "worker", host=ssh_server.host, environment=environment
    )

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        "the ssh server's host key has changed since it was stored in known_hosts.",
        "man-in-the-middle",
        f'\'ssh-keygen -f "{tmp_path / "known_hosts"}" -R '
        f'"[127.0.0.1]:{ssh_server.port}"\'',
    )
    assert "Connect once with" not in result.stderr
    assert "Accepted publickey" not in ssh_server.log_path.read_text()


def test_ssh_silent_server_named(ssh_server: SshServer) -> None:
    # The kernel completes the TCP handshake for the backlog, and nothing
    # ever writes the SSH banner.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        host = f"ssh://root@127.0.0.1:{port}"

        result = run_swarmtui(
            "--timeout",
            "2",
            "join-token",
            "-q",
            "worker",
            host=host,
            environment=ssh_server.client_environment(),
        )

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"The ssh server for {host} did not respond within 2 seconds, so ssh had "
        "not logged in and the request did not reach dockerd.",
        f"'ssh -p {port} root@127.0.0.1' logs in",
    )
    assert "dockerd is running" not in result.stderr
    assert ssh_server.client_processes() == []


def test_ssh_silent_dockerd_named(tmp_path: Path) -> None:
    socket_path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(socket_path))
        listener.listen(8)
        with ssh_server_for(f"unix://{socket_path}") as server:
            result = quiet_worker_token(server)

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"The engine at {server.host} did not respond within 5 seconds.",
        "Check that dockerd is running",
    )
    assert "ssh server" not in result.stderr


def test_ssh_process_ends_when_cli_is_stopped(tmp_path: Path) -> None:
    socket_path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(socket_path))
        listener.listen(8)
        with ssh_server_for(f"unix://{socket_path}") as server:
            environment = clean_environment(DOCKER_HOST=server.host)
            environment.update(server.client_environment())
            cli = subprocess.Popen(
                [swarmtui_script(), "--timeout", "60", "join-token", "-q", "worker"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=environment,
            )
            try:
                # The silent socket takes dockerd's place: ssh connects to it
                # once it has logged in, and the request gets no reply.
                listener.settimeout(20)
                accepted, _ = listener.accept()
                assert server.client_processes() != []

                cli.send_signal(signal.SIGTERM)
                code = cli.wait(timeout=20)
                deadline = time.monotonic() + 5
                while server.client_processes() and time.monotonic() < deadline:
                    time.sleep(0.05)
                left = server.client_processes()
                accepted.close()
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()

    assert code == 143
    assert left == []
