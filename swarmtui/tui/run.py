"""Start the console from parsed command-line options.

Importing Textual takes longer than reading a swarm, so the first read runs
in a thread (EarlyRead) while the main thread imports and mounts the app,
and the first frames show the tokens as soon as Textual can draw.
"""

from __future__ import annotations

import argparse
import collections
import errno
import gc
import itertools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from swarmtui.config import default_config_path, load_usable_settings
from swarmtui.errors import ExitCode
from swarmtui.shell import shell_join

if TYPE_CHECKING:
    from swarmtui.models import SwarmView
    from swarmtui.service import AbandonedRotation, TokenService
    from swarmtui.tui.app import SwarmConsole

log = logging.getLogger(__name__)

# Log records kept while the console owns the terminal, replayed after it.
HELD_RECORDS = 1000
# Seconds the exit waits for a shown rotation's token history and audit
# record: the history lock waits up to 1 s for another swarmtui process.
RECORDS_WAIT_SECONDS = 5.0
# Seconds the exit waits for engine calls that are about to return.
IDLE_WAIT_SECONDS = 0.2
# Seconds after SIGHUP before the process ends without Textual's shutdown,
# which was seen blocked on its output queue after a tmux window closed.
HANGUP_EXIT_SECONDS = 15.0


def endpoint_hint(args: argparse.Namespace) -> str:
    """Name the engine the options select, before anything is resolved."""
    from swarmtui.tokens import redact

    return redact(_unredacted_endpoint_hint(args))


def _unredacted_endpoint_hint(args: argparse.Namespace) -> str:
    if args.demo:
        return "the demo swarm"
    if args.host:
        return str(args.host)
    if args.context:
        return f"context {args.context}"
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if os.environ.get("DOCKER_CONTEXT"):
        return f"context {os.environ['DOCKER_CONTEXT']}"
    return "the current docker context"


def cli_command(args: argparse.Namespace) -> str:
    """Return the swarmtui command with the options that chose this swarm.

    Hints that name a CLI command use it, so that following them reaches the
    same swarm as the console, also from a shell without the DOCKER_HOST or
    DOCKER_CONTEXT that chose it.
    """
    words = ["swarmtui"]
    environment = os.environ
    if args.demo:
        words.append("--demo")
        if args.demo_state:
            words += ["--demo-state", str(args.demo_state)]
        if args.demo_seed is not None:
            words += ["--demo-seed", str(args.demo_seed)]
    elif args.host:
        words += ["-H", str(args.host)]
    elif args.context:
        words += ["-c", str(args.context)]
    elif environment.get("DOCKER_HOST"):
        words += ["-H", environment["DOCKER_HOST"]]
    elif environment.get("DOCKER_CONTEXT"):
        words += ["-c", environment["DOCKER_CONTEXT"]]
    if args.config:
        words += ["--config", str(args.config)]
    return shell_join(words)


WORKER_THREAD_PREFIX = "swarmtui-call"

T = TypeVar("T")


class DetachingExecutor(ThreadPoolExecutor):
    """An executor that runs each call in a daemon thread and never waits for it.

    asyncio.run waits for the default executor when the app exits, and
    concurrent.futures joins every ThreadPoolExecutor thread at interpreter
    exit, so a hung engine call would keep the process alive after quit.
    Daemon threads started here are neither waited for nor joined. It is a
    ThreadPoolExecutor only because asyncio's default executor must be one:
    no pool thread is ever started.
    """

    def __init__(self, thread_name_prefix: str = WORKER_THREAD_PREFIX) -> None:
        super().__init__(max_workers=1, thread_name_prefix=thread_name_prefix)
        self._prefix = thread_name_prefix
        self._numbers = itertools.count(1)
        self._calls_lock = threading.Condition()
        self._in_flight = 0
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Number of submitted calls that have not returned yet."""
        with self._calls_lock:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for all calls to return; tell if they did."""
        with self._calls_lock:
            return self._calls_lock.wait_for(lambda: self._in_flight == 0, timeout)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._calls_lock:
            if self._closed:
                raise RuntimeError("cannot submit a call after shutdown")
            self._in_flight += 1

        def run() -> None:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # handed to the future's owner
                    outcome: tuple[bool, Any] = (False, error)
                else:
                    outcome = (True, result)
            finally:
                with self._calls_lock:
                    self._in_flight -= 1
                    self._calls_lock.notify_all()
            if outcome[0]:
                future.set_result(outcome[1])
            else:
                future.set_exception(outcome[1])

        name = f"{self._prefix}_{next(self._numbers)}"
        threading.Thread(target=run, name=name, daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._calls_lock:
            self._closed = True


class EarlyRead:
    """The console's first read of the swarm, started before Textual is imported.

    The read runs in a daemon thread. The app calls `take` only from its read
    worker thread, so the UI thread does not wait on it.
    """

    def __init__(self, service: TokenService) -> None:
        self._service = service
        # Before the read, which records in the token history when it first
        # saw each token.
        self.started_at = datetime.now(UTC)
        self._done = threading.Event()
        self._view: SwarmView | None = None
        self._error: BaseException | None = None
        thread = threading.Thread(target=self._run, name="swarmtui-first-read")
        thread.daemon = True
        thread.start()

    def _run(self) -> None:
        try:
            self._view = self._service.read()
        except BaseException as error:  # raised again by take()
            self._error = error
        finally:
            self._done.set()

    def take(self) -> SwarmView:
        """Wait for the read, which ends within the engine's deadline.

        Return its view, or raise its error.
        """
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._view is not None
        return self._view


class HoldingHandler(logging.Handler):
    """Keep the latest records in memory and pass them to the app's log.

    A stream handler would write over the console's screen, so the records
    wait here until the console exits. The console also shows each warning
    as a notification, including those from before it was attached.
    """

    def __init__(self) -> None:
        super().__init__()
        self.app: SwarmConsole | None = None
        self.records: collections.deque[logging.LogRecord] = collections.deque(
            maxlen=HELD_RECORDS
        )
        self.dropped = 0

    def attach(self, app: SwarmConsole) -> None:
        """Pass the records to `app` from now on, and the warnings held so far."""
        # emit() runs under the same lock, so no record is shown twice or lost.
        self.acquire()
        try:
            self.app = app
            for record in self.records:
                if record.levelno == logging.WARNING:
                    app.show_logged_warning(record.getMessage())
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) == self.records.maxlen:
            self.dropped += 1
        self.records.append(record)
        if self.app is not None:
            self.app.log.logging(self.format(record))
            # Errors come with a notification of their own.
            if record.levelno == logging.WARNING:
                self.app.show_logged_warning(record.getMessage())


@contextmanager
def logs_held(holder: HoldingHandler) -> Iterator[None]:
    """Route the root logger to `holder` while the console runs."""
    from swarmtui.logs import RedactingFilter

    root = logging.getLogger()
    saved = list(root.handlers)
    holder.addFilter(RedactingFilter())
    for handler in saved:
        root.removeHandler(handler)
    root.addHandler(holder)
    try:
        yield
    finally:
        root.removeHandler(holder)
        for handler in saved:
            root.addHandler(handler)
        if holder.dropped:
            logging.getLogger(__name__).warning(
                "%d earlier log records were dropped; the last %d follow.",
                holder.dropped,
                len(holder.records),
            )
        for record in holder.records:
            root.handle(record)


# The descriptors the console needs on a terminal: what it does with each.
CONSOLE_STREAMS = (
    (0, "standard input", "reads its keys from"),
    (2, "standard error", "draws its screen on"),
)


def terminal_problem() -> str:
    """Return why the console cannot run on this process's streams, or ''.

    Textual reads keys from standard input and draws on standard error. With
    standard error closed its output thread stops and its exit blocks, and
    with either one not a terminal the user sees no screen or cannot type.
    """
    for descriptor, name, use in CONSOLE_STREAMS:
        try:
            os.fstat(descriptor)
        except OSError:
            state = "is closed"
        else:
            if os.isatty(descriptor):
                continue
            state = "is not a terminal"
        return f"the console {use} {name}, which {state}"
    if os.environ.get("TERM") == "dumb":
        # Emacs's shell mode, for one, sets it: a full-screen app there
        # draws escape sequences as text.
        return DUMB_TERMINAL
    return ""


DUMB_TERMINAL = (
    "the console needs a terminal that can move the cursor, and TERM is 'dumb'"
)


def report_terminal_problem(problem: str, command: str = "swarmtui") -> None:
    """Print why the console did not start, where the user can see it.

    That is standard output when it is a terminal and standard error is not
    (a closed standard error is /dev/null by now), else standard error.
    `command` is swarmtui with the options that chose the swarm.
    """
    where = "in a terminal without redirecting standard input or standard error"
    if problem == DUMB_TERMINAL:
        where = "in a terminal emulator such as xterm, with TERM set to its type"
    text = (
        f"swarmtui: {problem}. Run it {where}, or use a command for scripts, such "
        f"as '{command} join-token worker' (see 'swarmtui --help')."
    )
    stream = sys.stderr
    if not os.isatty(2) and os.isatty(1) and sys.stdout is not None:
        stream = sys.stdout
    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError):
        log.debug("the terminal problem could not be printed")


def run_console(args: argparse.Namespace) -> int:
    """Run the console until the user quits; return the exit code."""
    problem = terminal_problem()
    if problem:
        report_terminal_problem(problem, cli_command(args))
        return ExitCode.USAGE
    # Importing Textual and mounting the console allocate many objects, and
    # the cyclic collector would scan them again at each of its thresholds.
    # The app turns it back on when the first read is on screen.
    gc.disable()
    try:
        return _run_console(args)
    finally:
        gc.enable()


def _run_console(args: argparse.Namespace) -> int:
    config_path = args.config or default_config_path()
    settings, config_error = load_usable_settings(config_path)
    from swarmtui.cli import setting_options

    options = setting_options(args)
    if args.timeout is None:
        args.timeout = settings.timeout

    def make() -> TokenService:
        from swarmtui.cli import make_service

        return make_service(args)  # type: ignore[no-any-return]

    holder = HoldingHandler()
    with logs_held(holder):
        # The service is built here, so that the modules it imports are loaded
        # before the thread starts: two threads importing one package at once
        # can fail with importlib's deadlock error. The demo swarm's read
        # still imports cryptography in the thread; the main thread imports
        # it only to describe the CA, after the read.
        service, early_read = None, None
        try:
            service = make()
            label = service.endpoint
        except Exception as error:  # the app builds it again and shows the error
            log.debug("building the service failed: %s", error)
            service, label = None, endpoint_hint(args)
        else:
            early_read = EarlyRead(service)

        from swarmtui.tui.app import SwarmConsole

        app = SwarmConsole(
            service=service,
            service_factory=make,
            early_read=early_read,
            endpoint_hint=label,
            cli_command=cli_command(args),
            settings=settings,
            config_path=config_path,
            config_error=config_error,
            setting_options=options,
        )
        app.gc_paused = True
        holder.attach(app)
        return _run_app(app)


def exit_notes(
    records_written: bool,
    idle: bool,
    abandoned: list[AbandonedRotation],
    docker_cli: str = "docker",
) -> list[str]:
    """Return the stderr lines about rotations that the console's exit cut short.

    `records_written` is whether the last rotation's records were written,
    `idle` whether every engine call had ended, and `abandoned` are the audit
    records that the exit wrote for rotations still running. `docker_cli` is
    the docker CLI with the options that reach the console's engine.
    """

    def rotations(result: str) -> tuple[str, str]:
        """Return "the rotation(s) of ..." for `result`, and the verb that fits."""
        names = [item.subject for item in abandoned if item.result == result]
        names = list(dict.fromkeys(names))
        if not names:
            return "", ""
        if len(names) == 1:
            return f"the rotation of {names[0]}", "was"
        return f"the rotations of {' and '.join(names)}", "were"

    notes = []
    took_effect, _ = rotations("ok")
    if took_effect:
        notes.append(
            f"swarmtui: {took_effect} took effect as the console quit. The audit "
            "record was written at exit, and the token history may not be: read "
            "the tokens again to update it."
        )
    elif not records_written:
        notes.append(
            "swarmtui: the console quit before the token history and the "
            "audit record of the last rotation were written. The rotation "
            "took effect; read the tokens again to see them."
        )
    unknown, verb = rotations("unknown")
    if unknown:
        subjects = {item.subject for item in abandoned if item.result == "unknown"}
        key_check = f"compare '{docker_cli} swarm unlock-key -q' with the key you hold."
        if subjects == {"the unlock key"}:
            next_step = f"To learn whether it took effect, {key_check}"
        else:
            next_step = (
                "The next console on this swarm records whether a token "
                "rotation took effect when it first reads the swarm"
            )
            if "the unlock key" in subjects:
                next_step += f"; for the unlock key, {key_check}"
            else:
                next_step += "."
        notes.append(
            f"swarmtui: {unknown} {verb} still waiting for the engine when the "
            f"console quit, and {verb} abandoned. {next_step}"
        )
    failed, verb = rotations("failed")
    if failed:
        notes.append(
            f"swarmtui: {failed} {verb} stopped before the update was sent, so "
            "nothing was rotated."
        )
    if not idle and not abandoned:
        notes.append(
            "swarmtui: an engine call was still running when the console "
            "quit, and it was abandoned."
        )
    return notes


def _terminal_gone(stream: Any) -> bool:
    """Return whether `stream` is a terminal that was hung up."""
    import termios

    try:
        termios.tcgetattr(stream.fileno())
    except termios.error as error:
        return bool(error.args[0] == errno.EIO)
    except (OSError, ValueError):
        return False
    return False


def _write_to_null() -> None:
    """Point standard input, output and error at /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def end_after_hangup(
    app: SwarmConsole, delay: float = HANGUP_EXIT_SECONDS
) -> Callable[[int], None]:
    """Return a quit-signal callback that ends the process if SIGHUP's exit stalls.

    The audit records of rotations still running are written first.
    """

    def end(signum: int) -> None:
        if app.service is not None:
            app.service.record_abandoned_rotations()
        os._exit(128 + signum)

    def started(signum: int) -> None:
        if signum != signal.SIGHUP:
            return
        timer = threading.Timer(delay, end, (signum,))
        timer.daemon = True
        timer.start()

    return started


def _run_app(app: SwarmConsole) -> int:
    from swarmtui.tui.app import QUIT_SIGNALS

    executor = DetachingExecutor(thread_name_prefix=WORKER_THREAD_PREFIX)
    app.worker_executor = executor
    app.quit_on_sigterm = True

    def note_signal(signum: int, frame: Any) -> None:
        # Until the app is mounted and after it exits, a quit signal is only
        # noted: Textual may have the terminal in its screen mode, and a
        # rotation's records may still be written.
        if app.quit_signal is None:
            app.quit_signal = signum

    previous = {signum: signal.signal(signum, note_signal) for signum in QUIT_SIGNALS}
    app.on_quit_signal = end_after_hangup(app)
    try:
        result = app.run()
        for signum in QUIT_SIGNALS:
            signal.signal(signum, note_signal)
    finally:
        if _terminal_gone(sys.stderr):
            # After a hang-up, each write to the terminal fails, and so would
            # the interpreter's last flush (exit code 120).
            _write_to_null()
        records_written = app.wait_for_records(RECORDS_WAIT_SECONDS)
        # A call that is just returning, such as a rotation's worker after
        # its records, gets a moment to end before it counts as abandoned.
        idle = executor.wait_idle(IDLE_WAIT_SECONDS)
        # A rotation still running in a daemon thread ends with the process,
        # so the audit record it has not written yet is written here.
        from swarmtui.service import AbandonedRotation

        abandoned: list[AbandonedRotation] = []
        docker_cli = "docker"
        if app.service is not None:
            docker_cli = app.service.backend.docker_cli
            # A close still reading the swarm had not started its rotation.
            abandoned = [
                AbandonedRotation("failed", f"the {role} token")
                for role in app.record_abandoned_closes()
            ]
            abandoned += app.service.record_abandoned_rotations()
            unstarted = app.take_unstarted_rotation()
            if unstarted is not None:
                role, expected, action = unstarted
                app.service.record(
                    action,
                    roles=[role],
                    old=expected,
                    result="failed",
                    error="Abandoned at exit",
                )
                abandoned.append(AbandonedRotation("failed", f"the {role} token"))
        for note in exit_notes(records_written, idle, abandoned, docker_cli):
            print(note, file=sys.stderr)
        for closed in app.closed_at_quit:
            print(f"swarmtui: {closed}", file=sys.stderr)
        # After a quit signal or "Quit, keep open", windows stay stored.
        left_open = app.windows_left_open
        if left_open:
            changed = {"ok", "unknown"} & {item.result for item in abandoned}
            token_state = "may still work" if changed else "still work"
            print(
                f"swarmtui: {len(left_open)} join window(s) stayed open, "
                f"and their tokens {token_state}. Close them with "
                f"'{app.cli_command} join-window close-all'.",
                file=sys.stderr,
            )
        if app.service is not None:
            app.service.backend.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if app.quit_signal is not None and not result:
        return 128 + app.quit_signal
    if app.return_code:
        # An unhandled exception ended the app, which printed its traceback.
        return app.return_code
    return result or 0
