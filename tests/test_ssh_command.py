"""The ssh command line for an ssh:// host, and the hints for its failures."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from swarmtui.backends.engine import (
    _last_stderr_line,
    _ssh_hint,
    sdk_base_url,
    ssh_command,
)
from swarmtui.cli import main
from swarmtui.errors import ExitCode


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://alias", ["--", "alias"]),
        ("ssh://admin@alias", ["-l", "admin", "--", "alias"]),
        (
            "ssh://admin@127.0.8.5:2222",
            ["-l", "admin", "-p", "2222", "--", "127.0.8.5"],
        ),
        ("ssh://[::1]:2222", ["-p", "2222", "--", "::1"]),
    ],
)
def test_ssh_command_line(url: str, expected: list[str]) -> None:
    command = ssh_command(url)

    assert command == [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=VERBOSE",
        *expected,
        "docker system dial-stdio",
    ]


@pytest.mark.parametrize(
    ("url", "remote", "base"),
    [
        (
            "ssh://admin@alias/run/user/1000/docker.sock",
            "docker --host unix:///run/user/1000/docker.sock system dial-stdio",
            "ssh://admin@alias",
        ),
        (
            "ssh://alias:2222/tmp/a%20b/d.sock",
            "docker --host 'unix:///tmp/a b/d.sock' system dial-stdio",
            "ssh://alias:2222",
        ),
        ("ssh://alias/", "docker system dial-stdio", "ssh://alias"),
    ],
)
def test_ssh_socket_path_reaches_remote(url: str, remote: str, base: str) -> None:
    command = ssh_command(url)

    assert command[-1] == remote
    assert sdk_base_url(url) == base


def test_host_key_hint_names_login() -> None:
    hint = _ssh_hint("Host key verification failed.", "ssh://admin@alias:2222")

    assert "Connect once with 'ssh -p 2222 admin@alias'" in hint


def test_login_denied_hint_names_agent() -> None:
    hint = _ssh_hint("admin@alias: Permission denied (publickey).", "ssh://admin@alias")

    assert "Load the key into ssh-agent with 'ssh-add'" in hint
    assert "'ssh admin@alias'" in hint


def test_remote_socket_denied_gets_general_hint() -> None:
    reason = (
        "permission denied while trying to connect to the Docker daemon socket "
        "at unix:///var/run/docker.sock"
    )

    hint = _ssh_hint(reason, "ssh://admin@alias")

    assert "ssh-agent" not in hint
    assert "'docker version' works there for that user" in hint


def test_verbose_exit_lines_skipped(tmp_path: Path) -> None:
    # ssh's stderr at LogLevel=VERBOSE when the remote command failed and the
    # docker SDK then stopped ssh with SIGTERM.
    with (tmp_path / "stderr").open("w+b") as stderr:
        stderr.write(
            b'Authenticated to 127.0.0.1 ([127.0.0.1]:2222) using "publickey".\n'
            b"failed to open the raw stream connection: dial unix /x.sock: "
            b"connect: no such file or directory\n"
            b"Transferred: sent 3520, received 3420 bytes, in 0.2 seconds\n"
            b"Bytes per second: sent 20360.6, received 19782.2\n"
            b"Killed by signal 15.\n"
        )
        stderr.flush()

        line = _last_stderr_line(stderr)

    assert line == (
        "failed to open the raw stream connection: dial unix /x.sock: connect: "
        "no such file or directory"
    )


def failing_ssh(folder: Path) -> Path:
    """Write `folder`/bin/ssh, which stores its arguments and fails as a refused ssh.

    It connects nowhere: it writes ssh's message for a refused connection
    and exits with ssh's status 255. The arguments go to `folder`/arguments,
    one a line.
    """
    bin_directory = folder / "bin"
    bin_directory.mkdir()
    arguments = shlex.quote(str(folder / "arguments"))
    script = bin_directory / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {arguments}\n'
        'echo "ssh: connect to host ::1 port 22: Connection refused" >&2\n'
        "exit 255\n"
    )
    script.chmod(0o755)
    return bin_directory


@pytest.mark.parametrize(
    ("host", "login"),
    [
        ("ssh://[::1]", ["--", "::1"]),
        ("ssh://[::1]:2222", ["-p", "2222", "--", "::1"]),
        ("ssh://admin@[::1]:2222", ["-l", "admin", "-p", "2222", "--", "::1"]),
    ],
)
def test_ipv6_ssh_host_runs_ssh(
    host: str,
    login: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_directory = failing_ssh(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_directory}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    code = main(["-H", host, "--timeout", "5", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.ENGINE_UNREACHABLE, stderr
    assert f"Cannot connect to the Docker engine at {host} through ssh: " in stderr
    assert "Connection refused" in stderr
    passed = (tmp_path / "arguments").read_text().splitlines()
    assert passed[-len(login) - 1 :] == [*login, "docker system dial-stdio"]
