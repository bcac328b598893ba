"""`swarmtui join-window`: a join token that is rotated after a time or N joins.

`open` prints the join command, then blocks and polls the node list until the
window closes, and rotates the role's token. Ctrl+C, SIGTERM or SIGHUP
closes the window early and rotates too, so an interrupted script never
leaves the handed-out token live. `close-expired` rotates the stored windows
that are due (for a window whose process died), and `close-all` closes
every stored window of the swarm now. `list` reads the stored windows
without an engine.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from swarmtui.audit import open_default_audit
from swarmtui.cli import (
    HelpFormatter,
    QuitSignal,
    config_settings,
    ignore_quit_signals,
)
from swarmtui.cli.arguments import hide_engine_options, positive_int
from swarmtui.cli.output import (
    discard_stdout,
    print_change,
    stdout_failure,
    write_stdout,
)
from swarmtui.errors import (
    AuditWriteError,
    ExitCode,
    JoinWindowError,
    SwarmTuiError,
)
from swarmtui.models import NodeInfo, Role, SwarmView
from swarmtui.numbertext import parse_decimal
from swarmtui.service import TokenService
from swarmtui.shell import shell_join
from swarmtui.text import shorten_long_words, terminal_safe
from swarmtui.timetext import format_utc
from swarmtui.tokens import redact
from swarmtui.windows import (
    FORGET_COMMAND,
    MAX_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES_TEXT,
    CloseReason,
    JoinWindow,
    WindowClosed,
    WindowOfOtherSwarmError,
    WindowStore,
    close_all_windows,
    close_window,
    close_windows,
    due_windows,
    evaluate,
    new_window_id,
    open_window,
    token_replaced,
)

log = logging.getLogger(__name__)

NAME = "join-window"
# Maximum --poll, as for poll_interval in the config file: an hour. Far
# larger values overflow the wait between two polls.
MAX_POLL_SECONDS = 3600.0
# A shorter interval would request the node list almost without a pause.
MIN_POLL_SECONDS = 0.1

EXIT_HELP = """\
exit codes:
  0  the window closed and the token was rotated (or had been already)
  1  a window for the role is open already, stdout was closed, the
     window file is the audit file (checked before anything is done),
     watching the window failed, or its token may still be live because
     the window was forgotten or its swarm replaced while it was open
  2  invalid arguments
  3-6  as for every command: engine, node state, API version, conflict;
     when the rotation at close fails this way, the window stays stored,
     so run 'swarmtui join-window close-expired' or 'close-all' once the
     engine is back
  7  the demo state file cannot be used (--demo); at close, the window
     stays stored as above
"""


CLOSE_EXIT_HELP = """\
exit codes:
  0  every window was closed and its token rotated (or had been already),
     or no window was to be closed
  1  a close failed, and its window stays stored; or the window file is
     damaged, stayed locked, or is the audit file
  2  invalid arguments
  3-6  as for every command: engine, node state, API version, conflict
  7  the demo state file cannot be used (--demo)
"""
FILE_EXIT_HELP = """\
exit codes:
  0  done (list: also when no window is stored)
  1  the window is not stored (forget), the window file is damaged,
     stayed locked or is the audit file, or stdout cannot be written
  2  invalid arguments
"""


def needs_service(args: argparse.Namespace) -> bool:
    """Return False for `list` and `forget`, which use only the window file."""
    return getattr(args, "window_command", None) not in ("list", "forget")


def _window_minutes(text: str) -> float:
    # The range message writes the minimum as 1.67e-08, so an exponent is
    # accepted here, unlike in the other numbers.
    value = parse_decimal(text, exponent=True)
    if value is None or not MIN_WINDOW_MINUTES <= value <= MAX_WINDOW_MINUTES:
        # A window shorter than a microsecond would end at the time it opens.
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of minutes from "
            f"{MIN_WINDOW_MINUTES_TEXT} (one microsecond) to {MAX_WINDOW_MINUTES} "
            "(a year)"
        )
    return value


def _poll_seconds(text: str) -> float:
    value = parse_decimal(text)
    if value is None or not MIN_POLL_SECONDS <= value <= MAX_POLL_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds from "
            f"{MIN_POLL_SECONDS:g} to {MAX_POLL_SECONDS:g} (an hour)"
        )
    return value


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="hand out a join token that is rotated after a time or N joins",
        description="Swarm join tokens never expire. A join window rotates a "
        "role's token when a time has passed or a number of nodes of that role "
        "have joined, whichever comes first.",
        epilog=EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="window_command", metavar="ACTION", required=True
    )
    opener = commands.add_parser(
        "open",
        help="print the join command, wait, then rotate the token",
        description="Print the join command of ROLE on stdout, then block "
        "until the window closes and rotate the token. Ctrl+C, SIGTERM or "
        "SIGHUP closes the window at once and rotates too.",
        epilog=EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    opener.add_argument(
        "role",
        choices=[role.value for role in Role],
        metavar="ROLE",
        help="worker or manager",
    )
    opener.add_argument(
        "--minutes",
        type=_window_minutes,
        metavar="N",
        help="close after N minutes (fractions allowed, such as 0.5)",
    )
    opener.add_argument(
        "--joins",
        type=positive_int,
        metavar="N",
        help="close once N nodes of ROLE have joined",
    )
    opener.add_argument(
        "--poll",
        type=_poll_seconds,
        default=2.0,
        metavar="SECONDS",
        help="seconds between two reads of the node list, 0.1 to 3600 (default: 2)",
    )
    output = opener.add_mutually_exclusive_group()
    output.add_argument(
        "-q", "--quiet", action="store_true", help="print only the token"
    )
    output.add_argument(
        "--json", action="store_true", help="print the window and token as JSON"
    )
    commands.add_parser(
        "close-expired",
        help="rotate the stored windows of this swarm that are due",
        description="Close the stored windows of this swarm whose time has "
        "passed or whose join count is reached, rotating their tokens.",
        epilog=CLOSE_EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    commands.add_parser(
        "close-all",
        help="close every stored window of this swarm now, rotating the tokens",
        epilog=CLOSE_EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    list_parser = commands.add_parser(
        "list",
        help="print the stored windows (no engine needed)",
        epilog=FILE_EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    list_parser.add_argument(
        "--json",
        action="store_true",
        help="print the windows as one JSON array, [] when none is stored",
    )
    hide_engine_options(list_parser)
    forget = commands.add_parser(
        "forget",
        help="remove a stored window without rotating its token (no engine "
        "needed), such as one of a swarm that no longer exists",
        epilog=FILE_EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    forget.add_argument("window_id", metavar="WINDOW_ID", help="the ID from 'list'")
    hide_engine_options(forget)
    return NAME


def _cli_command(args: argparse.Namespace) -> str:
    """Return the swarmtui command with the options that chose this swarm."""
    from swarmtui.tui.run import cli_command

    return cli_command(args)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised like KeyboardInterrupt so that no `except
    Exception` in an engine call turns it into an engine error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.reason = (
            CloseReason.HANGUP if signum == signal.SIGHUP else CloseReason.TERMINATED
        )


# Signals that close an open window, besides Ctrl+C.
CLOSING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _announce(args: argparse.Namespace, window: JoinWindow, view: SwarmView) -> None:
    """Print the token or join command on stdout and the window's limits on stderr."""
    role = window.role
    if args.quiet:
        print(view.token(role), flush=True)
    elif args.json:
        document = {
            "window_id": window.id,
            "role": str(role),
            "until": format_utc(window.until) if window.until else None,
            "max_joins": window.max_joins,
            "token": view.token(role),
            "fingerprint": view.token_fingerprint(role),
            "join_address": view.join_address,
            "command": view.join_command(role),
            "cluster_id": view.cluster_id,
            "endpoint": view.endpoint,
            "opened_at": format_utc(window.opened_at),
        }
        print(json.dumps(document, indent=2), flush=True)
    else:
        from swarmtui.cli.join_token import render_command

        print(render_command(view, role), end="", flush=True)
    limits = []
    if window.until is not None:
        limits.append(f"until {format_utc(window.until)}")
    if window.max_joins is not None:
        limits.append(f"until {window.max_joins} {role} node(s) join")
    print(
        f"Join window {window.id} open for the {role} token "
        f"({view.token_fingerprint(role)}), {' or '.join(limits)}. "
        f"{_closing_hint()} The token is rotated when it closes.",
        file=sys.stderr,
        flush=True,
    )


def _closing_hint() -> str:
    """Name the keys and signals that close the window now, in this process.

    A shell without job control starts a background job with SIGINT
    ignored, and nohup ignores SIGHUP. Such a signal stays ignored, so the
    hint names only the ones that work.
    """
    working = [
        signal.Signals(signum).name
        for signum in CLOSING_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    ]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return f"Ctrl+C ({', '.join(['SIGINT', *working])}) closes it now."
    ignored = (
        "SIGINT (Ctrl+C) is ignored in this process, as in a background job of a script"
    )
    if not working:
        return (
            f"{ignored}, and so are SIGTERM and SIGHUP: the window closes at its limit."
        )
    return f"{ignored}; {' or '.join(working)} closes the window now."


class _Watch:
    """The polling of an open window: the nodes that joined so far, and which
    of them stderr has named.

    The progress outlives an interrupted poll, so that a window closed by
    Ctrl+C or a signal still counts the nodes that joined before it.
    """

    def __init__(
        self,
        window: JoinWindow,
        service: TokenService,
        poll: float,
        store: WindowStore | None = None,
    ) -> None:
        self.window = window
        self.service = service
        self.poll = poll
        self.store = store
        self.joined: tuple[NodeInfo, ...] = ()
        self.announced: set[str] = set()

    def run(self) -> CloseReason:
        """Poll the node list until the window is due, then return why.

        A failed poll is reported once and tried again at the next one, so an
        engine that pauses does not end the watch with the token still live.
        The end time still closes the window while the node list cannot be
        read.
        """
        window, service, poll = self.window, self.service, self.poll
        first_roles: dict[str, Role] = {}
        nodes: tuple[NodeInfo, ...] = ()
        failure: str | None = None
        while True:
            if not self._still_stored():
                # Forgotten from another shell, or the file edited: the close
                # reports whether the token it handed out is still current.
                self.announce(closing=False)
                return CloseReason.REMOVED
            try:
                # A token rotated elsewhere, or a swarm replaced, ends the
                # window: the token it handed out no longer joins.
                if token_replaced(window, service.backend.inspect_swarm()):
                    moment = datetime.now(UTC)
                    self.joined = evaluate(window, nodes, moment, first_roles).joined
                    self.announce(closing=False)
                    return CloseReason.REPLACED
                nodes = tuple(service.backend.list_nodes())
            except SwarmTuiError as error:
                if str(error) != failure:
                    failure = str(error)
                    print(
                        f"swarmtui: warning: joins are not counted: {error} The "
                        f"window stays open, and the node list is read again every "
                        f"{poll:g} s.",
                        file=sys.stderr,
                        flush=True,
                    )
            else:
                if failure is not None:
                    failure = None
                    print(
                        "swarmtui: the node list can be read again; joins are counted.",
                        file=sys.stderr,
                        flush=True,
                    )
            moment = datetime.now(UTC)
            evaluation = evaluate(window, nodes, moment, first_roles)
            self.joined = evaluation.joined
            if evaluation.should_close and evaluation.reason is not None:
                self.announce(closing=False)
                return evaluation.reason
            self.announce(closing=False)
            # time.sleep raises OverflowError for a wait over 2**63 nanoseconds,
            # so the pause is capped. A window's time left is at most a year.
            pause = min(poll, MAX_POLL_SECONDS)
            remaining = window.remaining(moment)
            if remaining is not None:
                pause = min(pause, max(remaining.total_seconds(), 0.05))
            time.sleep(pause)

    def _still_stored(self) -> bool:
        """Return False once the window file no longer lists the window.

        A window file that cannot be read keeps the watch going, and the
        close reports the file's problem.
        """
        if self.store is None:
            return True
        try:
            return any(item.id == self.window.id for item in self.store.load())
        except JoinWindowError as error:
            log.info("window file not read while watching: %s", error)
            return True

    def announce(self, *, closing: bool) -> None:
        """Print one line on stderr for each node that joined and is not named yet.

        The engine can list a node before it reports the node's address, so
        such a line waits for a poll with the address, unless the window closes.
        """
        for node in self.joined:
            if node.id in self.announced or not (node.address or closing):
                continue
            self.announced.add(node.id)
            address = node.address or "address not reported yet"
            hostname = node.hostname or "hostname not reported yet"
            print(
                f"joined: {hostname} ({address}), node "
                f"{node.id[:12]}, {len(self.announced)} so far",
                file=sys.stderr,
                flush=True,
            )


def _forget_unannounced(
    service: TokenService, store: WindowStore, window_id: str
) -> None:
    """Remove the window that a signal stopped before its token was printed.

    The signal can arrive after the window was stored, with or without its
    audit event. Its token was handed out to no one, so it is not rotated,
    and the stored window would only reject the next window for the role.
    """
    try:
        window = store.pop(window_id)
        if window is not None:
            service.record(
                "join-window-forget",
                roles=[window.role],
                cluster_id=window.cluster_id,
                window_id=window.id,
                fingerprint=window.token_fingerprint,
                reason="stopped by a signal before the token was printed",
            )
    except SwarmTuiError as error:
        log.info("the stopped join window was not removed: %s", error)


def _run_open(args: argparse.Namespace, service: TokenService) -> int:
    if args.minutes is None and args.joins is None:
        print(
            "swarmtui: join-window open needs --minutes, --joins, or both.",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    role = Role(args.role)
    store = WindowStore()
    closing = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if closing:
            return
        # One signal closes the window; later ones must not stop that.
        ignore_quit_signals()
        raise _Terminated(signum)

    # SIGTERM and SIGHUP are handled from before the window exists, so that a
    # signal that arrives right after the token is printed still closes it.
    # A signal ignored from the start, as nohup ignores SIGHUP, stays ignored.
    for signum in CLOSING_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, on_signal)
    try:
        # Chosen here, so that a signal during the open removes this window only.
        window_id = new_window_id()
        try:
            window, view = open_window(
                service,
                role,
                minutes=args.minutes,
                max_joins=args.joins,
                store=store,
                cli_command=_cli_command(args),
                window_id=window_id,
            )
        except _Terminated as terminated:
            _forget_unannounced(service, store, window_id)
            raise QuitSignal(terminated.signum) from None
        reason = CloseReason.BY_USER
        watch = _Watch(window, service, args.poll, store)
        try:
            _announce(args, window, view)
            reason = watch.run()
        except BrokenPipeError:
            # The token reached no reader, so the window closes at once.
            discard_stdout()
            reason = CloseReason.OUTPUT_CLOSED
        except KeyboardInterrupt:
            reason = CloseReason.BY_USER
        except _Terminated as terminated:
            reason = terminated.reason
        except Exception as error:
            # Closing rotates the token that was handed out, so a bug in the
            # watch does not leave it live.
            log.info(
                "watching join window %s failed: %s", window.id, type(error).__name__
            )
            print(
                f"swarmtui: watching the {role} join window failed unexpectedly "
                f"({type(error).__name__}); closing it now.",
                file=sys.stderr,
            )
            reason = CloseReason.WATCH_FAILED
    finally:
        # The window is closing now, which is what a further signal would ask
        # for, so none stops the rotation half way.
        closing = True
        ignore_quit_signals()

    # The signals stay ignored until the command has written its messages and
    # returned; the command line's handlers are put back after that.
    # Nodes still without an address wait for the close's own node list.
    watch.announce(closing=False)
    try:
        closed = close_window(service, window, reason, joined=watch.joined, store=store)
        # The close lists the nodes once more, for joins since the last poll.
        watch.joined = closed.joined
        watch.announce(closing=True)
    except WindowOfOtherSwarmError as error:
        watch.announce(closing=True)
        print(
            f"swarmtui: the {role} join window {window.id} could not be closed: "
            f"{error}",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    except SwarmTuiError as error:
        watch.announce(closing=True)
        print(
            f"swarmtui: the {role} join window {window.id} could not be closed: "
            f"{error} The window stays stored; run '{_cli_command(args)} "
            "join-window close-all' once the engine answers, or the token stays "
            "live.",
            file=sys.stderr,
        )
        # Exit with the error's own code, as every command does: 3 when the
        # engine did not respond or the outcome is unknown, 6 on a conflict.
        return error.exit_code
    print(closed.message, file=sys.stderr)
    if closed.token_left_live:
        print(_rotate_hint(args, closed), file=sys.stderr)
        return ExitCode.FAILURE
    if reason in (CloseReason.OUTPUT_CLOSED, CloseReason.WATCH_FAILED):
        return ExitCode.FAILURE
    return ExitCode.OK


def _rotate_hint(args: argparse.Namespace, closed: WindowClosed) -> str:
    """Return how to end the token of a window that no close ended."""
    if closed.serving_cluster_id:
        return f"swarmtui: {closed.other_swarm_hint}"
    return (
        f"swarmtui: rotate it with '{_cli_command(args)} join-token --rotate "
        f"{closed.window.role}' unless nodes may still join with it."
    )


def _run_list(args: argparse.Namespace) -> int:
    store = WindowStore()
    windows = store.load()
    if not windows:
        print(
            redact(f"swarmtui: no join window is stored in {store.path}."),
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    due = 0
    listed: list[dict[str, object]] = []
    for window in windows:
        is_due = window.until is not None and now >= window.until
        due += is_due
        if args.json:
            listed.append(_listed_window(window, is_due))
            continue
        until = format_utc(window.until) if window.until else "-"
        # The windows file may have been edited by hand, so its text is
        # escaped as the audit listing escapes its events.
        line = (
            f"{window.id}  {window.role}  opened {format_utc(window.opened_at)}  "
            f"until {until}  max joins {window.max_joins or '-'}  "
            f"swarm {window.cluster_id[:12]}  {window.endpoint}  "
            f"token {window.token_fingerprint}{'  (due)' if is_due else ''}"
        )
        print(terminal_safe(line))
    if args.json:
        print(json.dumps(listed, indent=2))
    if due:
        # list reads no engine, so it cannot tell whether a window's swarm
        # still exists.
        closers = sorted(
            {
                shell_join([*_swarm_words(window), "join-window", "close-expired"])
                for window in windows
                if window.until is not None and now >= window.until
            }
        )
        quoted = " or ".join(f"'{command}'" for command in closers)
        hint = (
            f"swarmtui: {due} window(s) are due. {quoted} closes "
            "them, run against a manager of each window's swarm (column "
            "'swarm'). A window whose swarm no longer exists (left, or replaced "
            "by 'docker swarm init' or 'demo-reset') cannot be closed there: "
            f"'{FORGET_COMMAND} WINDOW_ID' removes it "
            "without rotating its token."
        )
        print(terminal_safe(hint), file=sys.stderr)
    return ExitCode.OK


def _listed_window(window: JoinWindow, due: bool) -> dict[str, object]:
    """Return the fields of a window that `list --json` prints."""
    return {
        "id": window.id,
        "role": str(window.role),
        "opened_at": format_utc(window.opened_at),
        "until": format_utc(window.until) if window.until else None,
        "max_joins": window.max_joins,
        "cluster_id": window.cluster_id,
        "endpoint": window.endpoint,
        "token_fingerprint": window.token_fingerprint,
        "due": due,
    }


_CONTEXT_LABEL = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.+-]*) \((?P<host>\S+://.*)\)"
)


def _swarm_words(window: JoinWindow) -> list[str]:
    """Return swarmtui with the options that reach the engine the window was opened on.

    The endpoint is a socket or host URL, a docker context's name, or the
    demo swarm's state file.
    """
    endpoint = window.endpoint
    if endpoint.startswith("demo:"):
        from swarmtui.backends.demo import default_state_path

        path = Path(endpoint.removeprefix("demo:")).expanduser()
        words = ["swarmtui", "--demo"]
        if path != default_state_path():
            words += ["--demo-state", str(path)]
        return words
    # A context is recorded as "NAME (HOST)". The pattern takes the names that
    # 'docker context create' makes, so a socket path with a space is no name.
    context = _CONTEXT_LABEL.fullmatch(endpoint)
    if context is not None:
        return ["swarmtui", "-c", context["name"]]
    if "://" in endpoint:
        return ["swarmtui", "-H", endpoint]
    return ["swarmtui", "-c", endpoint]


def _rotate_command(window: JoinWindow) -> str:
    """Return the quoted command that rotates the window's token on its swarm."""
    role = window.role
    if window.endpoint.startswith("demo:"):
        words = _swarm_words(window)
        return f"'{shell_join([*words, 'join-token', '--rotate', role])}'"
    return (
        f"'docker swarm join-token --rotate {role}' or 'swarmtui join-token "
        f"--rotate {role}' on a manager of that swarm"
    )


def _run_forget(args: argparse.Namespace) -> int:
    # The config file names the audit file that records the forget.
    config_settings(args)
    window_id = args.window_id
    store = WindowStore()
    window = store.pop(window_id)
    if window is None:
        message = (
            f"swarmtui: no join window {window_id!r} is stored in {store.path}; "
            "'join-window list' shows the stored ones."
        )
        print(shorten_long_words(redact(message)), file=sys.stderr)
        return ExitCode.FAILURE
    audit = open_default_audit(config_path=getattr(args, "config", None))
    try:
        audit.record(
            "join-window-forget",
            role=str(window.role),
            cluster_id=window.cluster_id,
            endpoint=window.endpoint,
            window_id=window.id,
            fingerprint=window.token_fingerprint,
        )
    except AuditWriteError as error:
        print(f"swarmtui: warning: {error}", file=sys.stderr)
    forgot = (
        f"Forgot the {window.role} join window {window.id} of swarm "
        f"{window.cluster_id[:12]}. Its token ({window.token_fingerprint}) was "
        "not rotated: if that swarm still exists, rotate it there with "
        f"{_rotate_command(window)}."
    )
    forgot = terminal_safe(forgot)
    if not write_stdout(forgot + "\n"):
        print(
            f"swarmtui: standard output {stdout_failure()}; the window was "
            f"removed all the same. {forgot}",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    return ExitCode.OK


def _note_other_swarms(
    args: argparse.Namespace, store: WindowStore, view: SwarmView
) -> None:
    """Name the stored windows of other swarms, which this engine cannot close."""
    others = [item for item in store.load() if item.cluster_id != view.cluster_id]
    if not others:
        return
    lines = [
        f"swarmtui: {len(others)} stored join window(s) belong to another swarm "
        f"than swarm {view.cluster_id[:12]} at {view.endpoint}, so they were "
        "not closed:"
    ]
    for window in others:
        until = f"until {format_utc(window.until)}" if window.until else "no end time"
        lines.append(
            f"  {window.id}  {window.role}  swarm {window.cluster_id[:12]}  "
            f"opened at {window.endpoint}  {until}"
        )
    lines.append(
        "Close each one on a manager of its own swarm. If that swarm no longer "
        "exists (left, or replaced by 'docker swarm init' or 'demo-reset'), "
        f"remove the window with '{FORGET_COMMAND} WINDOW_ID', which does not "
        "rotate its token."
    )
    escaped = [terminal_safe(line) for line in lines]
    print(redact("\n".join(escaped)), file=sys.stderr)


def run(args: argparse.Namespace, service: TokenService | None = None) -> int:
    command = args.window_command
    if command == "list":
        return _run_list(args)
    if command == "forget":
        return _run_forget(args)
    assert service is not None
    if command == "open":
        return _run_open(args, service)
    store = WindowStore()
    closed: list[WindowClosed]
    if command == "close-expired":
        view, due = due_windows(service, store)
        closed = close_windows(service, store, due)
    else:
        view, closed = close_all_windows(service, store)
    if not closed:
        print("swarmtui: no join window of this swarm had to close.", file=sys.stderr)
    left_live = False
    for item in closed:
        print_change(item.message)
        if item.token_left_live:
            print(_rotate_hint(args, item), file=sys.stderr)
            left_live = True
    if command == "close-expired":
        _note_still_open(args, store, view, {item.window.id for item in closed})
    _note_other_swarms(args, store, view)
    return ExitCode.FAILURE if left_live else ExitCode.OK


def _note_still_open(
    args: argparse.Namespace, store: WindowStore, view: SwarmView, closed: set[str]
) -> None:
    """List on stderr the windows of this swarm that are open and not due yet."""
    still_open = [
        window
        for window in store.for_cluster(view.cluster_id)
        if window.id not in closed
    ]
    if not still_open:
        return
    lines = [
        f"swarmtui: {len(still_open)} join window(s) of this swarm are not due "
        "yet and stay open:"
    ]
    for window in still_open:
        until = f"until {format_utc(window.until)}" if window.until else "no end time"
        joins = f"max joins {window.max_joins}" if window.max_joins else "no join limit"
        lines.append(f"  {window.id}  {window.role}  {until}  {joins}")
    lines.append(
        f"Run '{_cli_command(args)} join-window close-all' to close them now "
        "and rotate their tokens."
    )
    escaped = [terminal_safe(line) for line in lines]
    print(redact("\n".join(escaped)), file=sys.stderr)
