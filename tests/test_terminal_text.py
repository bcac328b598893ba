"""Engine and file text reaches the terminal escaped, and secrets stay redacted."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo_support import cli_environment, make_demo, run_cli

from swarmtui.cli.audit_log import render_line
from swarmtui.errors import EngineError, ExitCode
from swarmtui.logs import RedactingFilter
from swarmtui.models import EngineInfo, NodeInfo, Role
from swarmtui.text import find_invisible, quoted, terminal_safe
from swarmtui.tokens import redact

HOSTILE = "\x1b[2J\x1b[31mPWNED\x1b]52;c;aGVsbG8=\x07"
UNLOCK_KEY = "SWMKEY-1-" + "Ab3+/" * 8 + "xyz"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m", "\\x1b[31m"),
        ("a\x9bb", "a\\x9bb"),
        ("a\x7fb", "a\\x7fb"),
        ("a\x00b", "a\\x00b"),
        ("x\u202eevil", "x\\u202eevil"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("\ufeffbom", "\\ufeffbom"),
        ("line\u2028break", "line\\u2028break"),
        ("two\nlines\r", "two\\x0alines\\x0d"),
        ("plain text, ünïcode", "plain text, ünïcode"),
    ],
)
def test_terminal_safe_escapes(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_terminal_safe_keeps_newlines() -> None:
    assert terminal_safe("a\nb\tc\x1b", keep_newlines=True) == "a\nb\tc\\x1b"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("-----BEGIN\nMIIB\n-----END\n", "-----BEGIN\nMIIB\n-----END\n"),
        ("tab\tand\nline", "tab\tand\nline"),
        ("pem\n\u202eevil\n", "pem\n\\u202eevil\n"),
        ("pem\r\nline", "pem\\x0d\nline"),
        ("no\u00a0break\n", "no\u00a0break\n"),
    ],
)
def test_terminal_safe_keeps_newlines_of_clean_text(raw: str, shown: str) -> None:
    assert terminal_safe(raw, keep_newlines=True) == shown


def test_terminal_safe_twice_is_same() -> None:
    once = terminal_safe(HOSTILE)
    assert terminal_safe(once) == once
    assert "\x1b" not in once


def test_find_invisible_position() -> None:
    assert find_invisible("ab\u200bc") == (3, "\u200b")
    assert find_invisible("abc") is None


def test_node_info_escapes_fields() -> None:
    node = NodeInfo(
        id="n\x1b1",
        hostname=HOSTILE,
        role=Role.WORKER,
        address="1.2.3.4\n\x1b[31mEVIL",
        status="ready\x07",
        availability="active",
        created_at=None,
        engine_version="20.10\x1b[0m",
        manager_address="\x9b2J",
    )
    for value in (
        node.id,
        node.hostname,
        node.address,
        node.status,
        node.engine_version,
        node.manager_address,
    ):
        assert find_invisible(value) is None, value
    assert "PWNED" in node.hostname


def test_engine_info_escapes_fields() -> None:
    info = EngineInfo(
        node_id="id",
        local_node_state="active",
        control_available=False,
        node_address="10.0.0.1",
        remote_managers=("10.0.0.2:2377\x1b[2J",),
        nodes=1,
        managers=1,
        cluster_id="c",
        api_version="1.41",
        engine_version="20.10\x1b]0;title\x07",
        hostname=HOSTILE,
        error="bad\x1b[5m",
    )
    assert find_invisible(info.hostname) is None
    assert find_invisible(info.engine_version) is None
    assert find_invisible(info.error) is None
    assert find_invisible(info.remote_managers[0]) is None


def test_error_message_escaped() -> None:
    error = EngineError(f"The engine failed: {HOSTILE}", f"hint {HOSTILE}")
    assert "\x1b" not in error.message
    assert "\x1b" not in error.hint
    assert "\x07" not in str(error)


def test_redact_replaces_unlock_key() -> None:
    text = redact(f"key {UNLOCK_KEY} and more")
    assert UNLOCK_KEY not in text
    assert "<unlock key kfp:" in text
    assert text.endswith(" and more")


def test_log_filter_redacts_and_escapes() -> None:
    record = logging.LogRecord(
        "swarmtui", logging.DEBUG, __file__, 1, "engine said %s", (HOSTILE,), None
    )
    RedactingFilter().filter(record)
    assert "\x1b" not in record.getMessage()
    record = logging.LogRecord(
        "swarmtui", logging.DEBUG, __file__, 1, "key %s", (UNLOCK_KEY,), None
    )
    RedactingFilter().filter(record)
    assert UNLOCK_KEY not in record.getMessage()


# -- the CLI against a demo state file and an engine ---------------------------


def test_leak_response_escapes_hostname(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    backend = make_demo(state)
    backend.join(backend.inspect_swarm().worker_token, "evil-node")
    text = state.read_text()
    assert text.count('"evil-node"') == 1
    state.write_text(text.replace('"evil-node"', '"\\u001b[2J\\u001b[31mPWNED"'))
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "leak-response",
        "--yes",
        "--since",
        "1000d",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "PWNED" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\x1b" not in result.stderr


@contextlib.contextmanager
def hostile_engine(message: str) -> Iterator[str]:
    """Serve an engine whose every call but /version fails with `message`."""
    directory = tempfile.mkdtemp(prefix="sttx", dir="/tmp")
    path = os.path.join(directory, "engine.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()
    version = b'{"ApiVersion": "1.41", "Version": "20.10"}'
    failure = ('{"message": "' + message + '"}').encode()

    def answer(connection: socket.socket) -> None:
        with connection:
            while not stop.is_set():
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                ok = b" /version" in head.split(b"\r\n", 1)[0]
                body = version if ok else failure
                status = b"200 OK" if ok else b"500 Internal Server Error"
                connection.sendall(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json"
                    b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(5)
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        thread.join(5)
        server.close()
        os.unlink(path)
        os.rmdir(directory)


def test_engine_error_escaped_and_redacted(tmp_path: Path) -> None:
    message = "failed \\u001b[2J\\u001b[31mPWNED with key " + UNLOCK_KEY
    with hostile_engine(message) as address:
        environment = cli_environment(tmp_path, DOCKER_HOST=address)
        result = subprocess.run(
            [sys.executable, "-m", "swarmtui", "-vv", "join-token", "worker"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            start_new_session=True,
        )
    assert result.returncode != 0
    assert "PWNED" in result.stderr
    assert "\x1b" not in result.stderr
    assert UNLOCK_KEY not in result.stderr
    assert "<unlock key kfp:" in result.stderr
    assert "DEBUG" in result.stderr


# -- demo-join arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["999.1.1.1", "", "1.2.3.4\n\x1b[31mEVIL", "1.2.3.4:80", "x" * 5000, "0.0.0.0"],
)
def test_demo_join_rejects_address(tmp_path: Path, address: str) -> None:
    state = tmp_path / "demo.toml"
    token = make_demo(state).inspect_swarm().worker_token
    nodes_before = len(make_demo(state).list_nodes())
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "demo-join",
        "--hostname",
        "node-a",
        "--address",
        address,
        stdin=token,
        home=tmp_path,
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "address" in result.stderr
    assert "\x1b" not in result.stderr
    assert len(make_demo(state).list_nodes()) == nodes_before


def test_demo_join_rejects_manager_address(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    backend = make_demo(state)
    nodes_before = len(backend.list_nodes())
    join_host = backend.engine_info().remote_managers[0].rpartition(":")[0]
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "demo-join",
        "--hostname",
        "node-a",
        "--address",
        join_host,
        stdin=backend.inspect_swarm().worker_token,
        home=tmp_path,
    )
    assert result.returncode == ExitCode.JOIN_REJECTED, result.stderr
    assert f"The address {join_host} is already the address of node" in result.stderr
    assert len(make_demo(state).list_nodes()) == nodes_before


@pytest.mark.parametrize("hostname", ["", "-x", "a b", "x" * 64, "\x1b[2J"])
def test_demo_join_rejects_hostname(tmp_path: Path, hostname: str) -> None:
    state = tmp_path / "demo.toml"
    token = make_demo(state).inspect_swarm().worker_token
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "demo-join",
        f"--hostname={hostname}",
        stdin=token,
        home=tmp_path,
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "invalid hostname" in result.stderr
    assert "\x1b" not in result.stderr


def test_quoted_escapes_once() -> None:
    assert quoted("a\nb") == "'a\\x0ab'"
    assert quoted("\x1b[2J") == "'\\x1b[2J'"
    assert quoted("plain") == "'plain'"


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [("--hostname", "a\nb", "'a\\x0ab'"), ("--address", "1\n2", "'1\\x0a2'")],
)
def test_demo_join_value_escaped_once(
    tmp_path: Path, option: str, value: str, shown: str
) -> None:
    state = tmp_path / "demo.toml"
    token = make_demo(state).inspect_swarm().worker_token
    arguments = ["--demo", "--demo-state", str(state), "demo-join"]
    if option != "--hostname":
        arguments += ["--hostname", "n1"]

    result = run_cli(*arguments, f"{option}={value}", stdin=token, home=tmp_path)

    assert result.returncode == ExitCode.USAGE, result.stderr
    assert f"invalid {option.removeprefix('--')} {shown}:" in result.stderr
    assert "\\\\" not in result.stderr


def test_demo_join_accepts_ipv6(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    token = make_demo(state).inspect_swarm().worker_token
    result = run_cli(
        "--demo",
        "--demo-state",
        str(state),
        "demo-join",
        "--hostname",
        "node-6",
        "--address",
        "2001:db8::7",
        stdin=token,
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    nodes = {node.hostname: node for node in make_demo(state).list_nodes()}
    assert nodes["node-6"].address == "2001:db8::7"


def test_node_info_keeps_plain_text() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    node = NodeInfo(
        id="abc",
        hostname="web-1",
        role=Role.MANAGER,
        address="10.0.0.5",
        status="ready",
        availability="active",
        created_at=created,
        engine_version="20.10.24",
        leader=True,
        manager_address="10.0.0.5:2377",
        reachability="reachable",
    )
    assert node.hostname == "web-1"
    assert node.manager_address == "10.0.0.5:2377"
    assert node.created_at == created


def test_audit_line_escaped() -> None:
    line = render_line(
        {"time": "t", "user": "eve", "ssh_client": "\x1b[2J1.2.3.4", "action": "a"}
    )
    assert "\x1b" not in line
    assert "\\x1b[2J1.2.3.4" in line
