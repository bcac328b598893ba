"""Tests of the console's start-up: imports, endpoint label, executor, first read."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import gc
import logging
import os
import pty
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Static
from tui_support import DelegatingBackend, FailingBackend, HangingBackend, demo_backend

from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import parse_command_line
from swarmtui.errors import EngineUnreachableError
from swarmtui.history import FileTokenHistory
from swarmtui.models import EngineInfo, Role, SwarmView
from swarmtui.service import TokenService
from swarmtui.tokens import mask_token
from swarmtui.tui import app as app_module
from swarmtui.tui import run as run_module
from swarmtui.tui.app import SwarmConsole
from swarmtui.tui.run import (
    HELD_RECORDS,
    DetachingExecutor,
    EarlyRead,
    HoldingHandler,
    cli_command,
    endpoint_hint,
    logs_held,
)
from swarmtui.windows import JoinWindow, WindowStore


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )


def test_console_modules_skip_docker_sdk() -> None:
    result = run_python(
        "import sys\n"
        "import swarmtui.tui.run, swarmtui.tui.app\n"
        "print('docker' in sys.modules, 'requests' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_config_module_skips_textual() -> None:
    result = run_python(
        "import sys\nimport swarmtui.config\nprint('textual' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def arguments(**values: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"demo": False, "host": None, "context": None}
    defaults.update(values)
    return argparse.Namespace(**defaults)


def test_endpoint_hint_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///env.sock")
    assert endpoint_hint(arguments(demo=True)) == "the demo swarm"
    assert endpoint_hint(arguments(host="tcp://h:2376")) == "tcp://h:2376"
    assert endpoint_hint(arguments(context="prod")) == "context prod"
    assert endpoint_hint(arguments()) == "unix:///env.sock"
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    assert endpoint_hint(arguments()) == "the current docker context"


def test_detaching_executor_does_not_wait() -> None:
    release = threading.Event()
    started = threading.Event()

    def hang() -> None:
        started.set()
        release.wait(timeout=60)

    executor = DetachingExecutor(thread_name_prefix="swarmtui-test")
    future = executor.submit(hang)
    assert started.wait(timeout=10)
    executor.shutdown(wait=True)
    assert not future.done()
    release.set()
    future.result(timeout=10)


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def logging(self, message: str) -> None:
        self.lines.append(message)


class FakeApp:
    def __init__(self) -> None:
        self.log = RecordingLog()
        self.warnings: list[str] = []

    def show_logged_warning(self, text: str) -> None:
        self.warnings.append(text)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_logs_held_until_console_exits() -> None:
    root = logging.getLogger()
    handler = ListHandler()
    root.addHandler(handler)
    app = FakeApp()
    holder = HoldingHandler()
    token = "SWMTKN-1-" + "a" * 50 + "-" + "b" * 25
    try:
        with logs_held(holder):
            logging.getLogger("swarmtui.test").warning("before the app, %s", token)
            holder.attach(app)  # type: ignore[arg-type]
            logging.getLogger("swarmtui.test").warning("engine gone, token %s", token)
            logging.getLogger("swarmtui.test").error("screen not loaded")
            assert handler.messages == []
            assert len(app.log.lines) == 2
            assert "engine gone" in app.log.lines[0]
            assert token not in app.log.lines[0]
            assert len(app.warnings) == 2
            assert app.warnings[0].startswith("before the app, <token fp:")
            assert app.warnings[1].startswith("engine gone, token <token fp:")
        assert len(handler.messages) == 3
        assert "before the app" in handler.messages[0]
        assert "engine gone" in handler.messages[1]
        assert all(token not in message for message in handler.messages)
        assert handler in root.handlers
        assert holder not in root.handlers
    finally:
        root.removeHandler(handler)


def test_detaching_executor_counts_calls() -> None:
    release = threading.Event()
    started = threading.Event()

    def hang() -> None:
        started.set()
        release.wait(timeout=60)

    executor = DetachingExecutor(thread_name_prefix="swarmtui-test")
    assert executor.submit(lambda: 7).result(timeout=10) == 7
    assert executor.in_flight == 0
    future = executor.submit(hang)
    assert started.wait(timeout=10)
    assert executor.in_flight == 1
    release.set()
    future.result(timeout=10)
    assert executor.in_flight == 0


def test_detaching_executor_waits_until_idle() -> None:
    release = threading.Event()
    executor = DetachingExecutor(thread_name_prefix="swarmtui-test")
    future = executor.submit(lambda: release.wait(timeout=60))

    assert not executor.wait_idle(0.1)
    release.set()
    assert executor.wait_idle(10)
    assert future.result(timeout=10) is True
    assert executor.in_flight == 0


def test_detaching_executor_error_reaches_future() -> None:
    executor = DetachingExecutor(thread_name_prefix="swarmtui-test")

    def fail() -> None:
        raise ValueError("bad value")

    future = executor.submit(fail)
    with pytest.raises(ValueError, match="bad value"):
        future.result(timeout=10)
    assert executor.in_flight == 0


def test_hung_call_does_not_delay_exit() -> None:
    # The call waits for 10 minutes; the interpreter must not join its thread.
    result = run_python(
        "import threading\n"
        "from swarmtui.tui.run import DetachingExecutor\n"
        "started = threading.Event()\n"
        "def hang():\n"
        "    started.set()\n"
        "    threading.Event().wait(600)\n"
        "executor = DetachingExecutor()\n"
        "executor.submit(hang)\n"
        "started.wait(10)\n"
        "executor.shutdown(wait=True)\n"
        "print('done')\n"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert "Exception ignored" not in result.stderr


def test_detaching_executor_as_asyncio_default() -> None:
    import asyncio

    async def call_in_executor() -> int:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(DetachingExecutor())
        return await loop.run_in_executor(None, lambda: 5)

    assert asyncio.run(call_in_executor()) == 5


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], "swarmtui"),
        (["--demo"], "swarmtui --demo"),
        (
            ["--demo", "--demo-state", "/tmp/my demo.toml"],
            'swarmtui --demo --demo-state "/tmp/my demo.toml"',
        ),
        (["--demo", "--demo-seed", "5"], "swarmtui --demo --demo-seed 5"),
        (["-H", "unix:///tmp/d.sock"], "swarmtui -H unix:///tmp/d.sock"),
        (
            ["-c", "prod", "--config", "/etc/s.toml"],
            "swarmtui -c prod --config /etc/s.toml",
        ),
    ],
)
def test_cli_command_repeats_selection(
    options: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    _, _, args = parse_command_line(options)
    assert cli_command(args) == expected


@pytest.mark.parametrize(
    ("variables", "options", "expected"),
    [
        ({"DOCKER_CONTEXT": "p+q"}, [], "swarmtui -c p+q"),
        ({"DOCKER_HOST": "unix:///tmp/d.sock"}, [], "swarmtui -H unix:///tmp/d.sock"),
        (
            {"DOCKER_HOST": "unix:///tmp/d.sock", "DOCKER_CONTEXT": "p"},
            [],
            "swarmtui -H unix:///tmp/d.sock",
        ),
        ({"DOCKER_CONTEXT": "p"}, ["-c", "other"], "swarmtui -c other"),
        ({"DOCKER_CONTEXT": "p"}, ["--demo"], "swarmtui --demo"),
    ],
)
def test_cli_command_names_environment_choice(
    variables: dict[str, str],
    options: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    _, _, args = parse_command_line(options)
    assert cli_command(args) == expected


class CountingBackend(DelegatingBackend):
    """A backend that counts engine_info calls, one per read of the swarm."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.reads = 0

    def engine_info(self) -> EngineInfo:
        self.reads += 1
        return super().engine_info()


def test_early_read_returns_view(tmp_path: Path) -> None:
    backend = HangingBackend(demo_backend(tmp_path))
    early = EarlyRead(TokenService(backend))
    assert backend.entered.wait(10)
    results: list[object] = []
    taker = threading.Thread(target=lambda: results.append(early.take()))
    taker.start()
    taker.join(0.2)
    assert results == []
    backend.release.set()
    taker.join(10)

    assert len(results) == 1
    view = results[0]
    expected = TokenService(demo_backend(tmp_path)).read()
    assert isinstance(view, SwarmView)
    assert view.worker_token == expected.worker_token
    assert view.manager_token == expected.manager_token
    assert view.cluster_id == expected.cluster_id


def test_early_read_raises_engine_error(tmp_path: Path) -> None:
    error = EngineUnreachableError("Cannot connect to the engine.", "Start it.")
    early = EarlyRead(TokenService(FailingBackend(demo_backend(tmp_path), error)))

    with pytest.raises(EngineUnreachableError) as caught:
        early.take()
    assert caught.value is error


async def test_console_shows_early_read(tmp_path: Path) -> None:
    backend = CountingBackend(demo_backend(tmp_path))
    service = TokenService(backend)
    early = EarlyRead(service)
    early.take()
    app = SwarmConsole(service=service, early_read=early, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert app.view is not None
        assert app.view.worker_token == service.read().worker_token
        command_text = str(app.query_one("#worker-command", Static).content)
        assert mask_token(app.view.worker_token) in command_text
    # One read by EarlyRead and one by this test: the app read nothing itself.
    assert backend.reads == 2


async def test_early_read_first_sight_unchanged(tmp_path: Path) -> None:
    history = FileTokenHistory(tmp_path / "history.json")
    service = TokenService(demo_backend(tmp_path), history=history)
    early = EarlyRead(service)
    early.take()
    app = SwarmConsole(service=service, early_read=early, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        metas = [str(app.query_one(f"#{role}-meta", Static).content) for role in Role]

    # The history recorded the tokens during the early read, before the app.
    assert app.view is not None
    assert history.first_seen(
        app.view.cluster_id, Role.WORKER, app.view.worker_fingerprint
    )
    for meta in metas:
        assert meta.endswith("unchanged since the console started")


async def test_console_shows_early_read_error(tmp_path: Path) -> None:
    error = EngineUnreachableError("Cannot connect to the engine.", "Start it.")
    backend = FailingBackend(demo_backend(tmp_path), error)
    early = EarlyRead(TokenService(backend))
    app = SwarmConsole(service=TokenService(backend), early_read=early, environment={})
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert app.error is error
        assert app.view is None
        assert backend.calls == 1


def test_run_console_pauses_gc_for_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[bool, bool]] = []

    def run_app(app: SwarmConsole) -> int:
        seen.append((gc.isenabled(), app.gc_paused))
        return 0

    monkeypatch.setattr(run_module, "_run_app", run_app)
    # pytest's streams are not a terminal.
    monkeypatch.setattr(run_module, "terminal_problem", lambda: "")
    _, _, args = parse_command_line(
        [
            "--demo",
            "--demo-state",
            str(tmp_path / "demo.toml"),
            "--config",
            str(tmp_path / "config.toml"),
        ]
    )
    assert gc.isenabled()
    try:
        assert run_module.run_console(args) == 0
    finally:
        gc.enable()

    assert seen == [(False, True)]
    assert gc.isenabled()


class FailingConsole(SwarmConsole):
    """A console whose first screen raises, as an unhandled bug would."""

    def on_ready(self) -> None:
        raise RuntimeError("failure in a handler")


def test_console_error_exits_nonzero(tmp_path: Path) -> None:
    app = FailingConsole(service=TokenService(demo_backend(tmp_path)))
    app.run = functools.partial(App.run, app, headless=True)  # type: ignore[method-assign]

    assert run_module._run_app(app) == 1


async def test_console_resumes_gc_after_first_read(tmp_path: Path) -> None:
    app = SwarmConsole(service=TokenService(demo_backend(tmp_path)), environment={})
    app.gc_paused = True
    gc.disable()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.view is not None
            await pilot.pause(app_module.AFTER_FRAME_SECONDS * 4)
            await pilot.pause()

            assert gc.isenabled()
            assert not app.gc_paused
            assert app.screen.focused is app.query_one("#body")
    finally:
        gc.enable()


async def test_console_resumes_gc_when_read_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "GC_RESUME_SECONDS", 0.2)
    backend = HangingBackend(demo_backend(tmp_path))
    app = SwarmConsole(service=TokenService(backend), environment={})
    app.gc_paused = True
    gc.disable()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            assert backend.entered.wait(10)
            await pilot.pause(0.6)

            assert app.view is None
            assert gc.isenabled()
            backend.release.set()
    finally:
        backend.release.set()
        gc.enable()


def test_dropped_records_noted() -> None:
    root = logging.getLogger()
    handler = ListHandler()
    root.addHandler(handler)
    holder = HoldingHandler()
    try:
        with logs_held(holder):
            for number in range(HELD_RECORDS + 5):
                logging.getLogger("swarmtui.test").warning("record %d", number)
        assert len(handler.messages) == HELD_RECORDS + 1
        assert handler.messages[0] == (
            f"5 earlier log records were dropped; the last {HELD_RECORDS} follow."
        )
        assert handler.messages[1] == "record 5"
        assert handler.messages[-1] == f"record {HELD_RECORDS + 4}"
    finally:
        root.removeHandler(handler)


def read_until(fd: int, done: Callable[[bytes], bool], seconds: float) -> bytes:
    """Read a pseudo-terminal until `done(output)`, end of file or `seconds`."""
    output = b""
    deadline = time.monotonic() + seconds
    while not done(output):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO once the child has exited
            break
        if not chunk:
            break
        output += chunk
    return output


def fork_demo_console(
    tmp_path: Path,
    columns: int = 0,
    rows: int = 0,
    redirect: Callable[[], None] | None = None,
    term: str = "xterm-256color",
) -> tuple[int, int]:
    """Start the console on a demo swarm in a pseudo-terminal; return pid and fd.

    A pseudo-terminal starts at 0x0, which Textual reads as 80x24, unless
    `columns` and `rows` set its size. `redirect` runs in the child before
    the console starts, to change its standard streams.
    """
    swarmtui = Path(sys.executable).parent / "swarmtui"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": term,
        "LANG": "C.UTF-8",
    }
    command = [str(swarmtui), "--demo", "--demo-state", str(tmp_path / "demo.toml")]
    pid, fd = pty.fork()
    if pid == 0:
        if columns and rows:
            size = struct.pack("HHHH", rows, columns, 0, 0)
            fcntl.ioctl(0, termios.TIOCSWINSZ, size)
        if redirect is not None:
            redirect()
        os.execve(command[0], command, environment)
    return pid, fd


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_quit_signal_restores_terminal(tmp_path: Path, signum: int) -> None:
    pid, fd = fork_demo_console(tmp_path)
    try:
        first_screen = read_until(fd, lambda output: b"Manager token" in output, 60)
        assert b"Manager token" in first_screen
        os.kill(pid, signum)
        after = read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 128 + signum
    # The alternate screen is left and mouse reporting is turned off.
    assert b"\x1b[?1049l" in after
    assert b"\x1b[?1000l" in after


@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGINT, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT)],
)
def test_first_quit_signal_sets_exit_code(
    tmp_path: Path, first: int, second: int
) -> None:
    pid, fd = fork_demo_console(tmp_path)
    try:
        first_screen = read_until(fd, lambda output: b"Manager token" in output, 60)
        assert b"Manager token" in first_screen
        os.kill(pid, first)
        time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, second)
        read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 128 + first


def test_hangup_with_revealed_token_exits(tmp_path: Path) -> None:
    # NOTE: this does not reproduce the stalled exit seen when a tmux window
    # closed: it also passes when the console draws the masking frame after
    # SIGHUP. It checks the exit code and that the console ends.
    pid, fd = fork_demo_console(tmp_path, columns=100, rows=30)
    try:
        first_screen = read_until(fd, lambda output: b"Manager token" in output, 60)
        assert b"Manager token" in first_screen
        os.write(fd, b"w")
        os.write(fd, b"v")
        revealed = read_until(fd, lambda output: b"Hide" in output, 30)
        assert b"Hide" in revealed
        read_until(fd, lambda output: False, 1)
        # As a hang-up does: SIGHUP and SIGCONT while nothing reads the
        # terminal, then the terminal closes.
        os.kill(pid, signal.SIGHUP)
        os.kill(pid, signal.SIGCONT)
        time.sleep(1)
    finally:
        os.close(fd)
    deadline = time.monotonic() + 40
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the console was still running 40 s after its terminal closed")

    assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGHUP


def test_hangup_timer_ends_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended: list[int] = []
    recorded = threading.Event()

    service = TokenService(demo_backend(tmp_path))

    def record_abandoned_rotations() -> list[str]:
        recorded.set()
        return []

    monkeypatch.setattr(
        service, "record_abandoned_rotations", record_abandoned_rotations
    )
    app = SwarmConsole(service=service, environment={})
    monkeypatch.setattr(run_module.os, "_exit", ended.append)
    started = run_module.end_after_hangup(app, delay=0.05)

    started(signal.SIGTERM)
    time.sleep(0.3)
    assert ended == []

    started(signal.SIGHUP)
    assert recorded.wait(5)
    deadline = time.monotonic() + 5
    while not ended and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ended == [128 + signal.SIGHUP]


def test_quit_keeping_window_names_close_command(tmp_path: Path) -> None:
    backend = DemoBackend(path=tmp_path / "demo.toml")
    view = TokenService(backend).read()
    now = datetime.now(UTC)
    WindowStore(tmp_path / "state" / "swarmtui" / "join-windows.json").add(
        JoinWindow(
            role=Role.WORKER,
            opened_at=now,
            until=now + timedelta(hours=1),
            max_joins=None,
            baseline_node_ids=frozenset(),
            cluster_id=view.cluster_id,
            endpoint=view.endpoint,
            token_fingerprint=view.worker_fingerprint,
        )
    )
    pid, fd = fork_demo_console(tmp_path, columns=100, rows=30)
    try:
        resumed = read_until(fd, lambda output: b"resumed" in output, 60)
        assert b"resumed" in resumed
        os.write(fd, b"q")
        question = read_until(fd, lambda output: b"keep open" in output, 30)
        assert b"keep open" in question
        # The dialog's first focus is set once it is shown, which a loaded
        # machine may draw first; a user's next key comes later too.
        read_until(fd, lambda output: False, 0.5)
        # shift+Tab moves from "Rotate and quit" to "Quit, keep open".
        os.write(fd, b"\x1b[Z")
        read_until(fd, lambda output: False, 1)
        os.write(fd, b"\r")
        after = read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 0
    text = after.decode("utf-8", "replace")
    assert "1 join window(s) stayed open, and their tokens still work" in text
    assert "join-window close-all'" in text
    assert TokenService(backend).read().worker_token == view.worker_token


def demo_environment(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "LANG": "C.UTF-8",
    }


def test_console_needs_terminal_input(tmp_path: Path) -> None:
    swarmtui = Path(sys.executable).parent / "swarmtui"
    command = [str(swarmtui), "--demo", "--demo-state", str(tmp_path / "demo.toml")]

    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=demo_environment(tmp_path),
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert b"reads its keys from standard input, which is not a terminal" in (
        result.stderr
    )
    # The command it names reaches the same swarm, the demo one here.
    script = shlex.join(["swarmtui", *command[1:], "join-token", "worker"])
    assert f"'{script}'".encode() in result.stderr
    assert b"Manager token" not in result.stderr
    assert result.stdout == b""


def test_console_needs_terminal_stderr(tmp_path: Path) -> None:
    log_path = tmp_path / "stderr.log"

    def stderr_to_file() -> None:
        descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.dup2(descriptor, 2)

    pid, fd = fork_demo_console(tmp_path, redirect=stderr_to_file)
    try:
        output = read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert os.waitstatus_to_exitcode(status) == 2
    # The message goes to the terminal, where the user looks.
    assert b"draws its screen on standard error" in output
    assert log_path.read_bytes() == b""


def test_console_refuses_dumb_terminal(tmp_path: Path) -> None:
    pid, fd = fork_demo_console(tmp_path, term="dumb")
    try:
        output = read_until(fd, lambda output: b"swarmtui --help" in output, 30)
        status = None
        for _ in range(100):
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
            time.sleep(0.1)
        else:
            # A console that started after all is stopped, so the test ends.
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert status is not None
    assert os.waitstatus_to_exitcode(status) == 2
    assert b"needs a terminal that can move the cursor, and TERM is 'dumb'" in output
    assert b"terminal emulator such as xterm, with TERM set to its type" in output
    assert b"'swarmtui --demo --demo-state " in output
    assert b" join-token worker'" in output
    assert b"\x1b[" not in output


def test_console_with_stdout_closed(tmp_path: Path) -> None:
    pid, fd = fork_demo_console(
        tmp_path, columns=100, rows=30, redirect=lambda: os.close(1)
    )
    try:
        first_screen = read_until(fd, lambda output: b"Manager token" in output, 60)
        os.write(fd, b"q")
        after = read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert b"Manager token" in first_screen
    # A border as wide as the 100-column terminal, not Textual's 80-column
    # fallback for a standard output that is not a terminal.
    borders = re.findall("━+", first_screen.decode("utf-8", "replace"))
    assert max(len(border) for border in borders) > 80
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"Traceback" not in after
