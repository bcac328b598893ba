"""The ssh command line for an ssh:// host, and the hints for its failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmtui.backends.engine import _last_stderr_line, _ssh_hint, ssh_command


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
