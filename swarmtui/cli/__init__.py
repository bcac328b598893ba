"""The `swarmtui` command: the console by default, or a non-interactive subcommand.

Subcommands live in their own modules; each one adds its parser with
`add_parser(subparsers)` and runs through `run(args, service) -> int`.
Stdout carries only what the user asked for; messages and errors go to
stderr.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys
import textwrap
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from swarmtui import __version__
from swarmtui.errors import ExitCode, SwarmTuiError
from swarmtui.numbertext import parse_decimal, parse_whole_number

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from swarmtui.config import Settings
    from swarmtui.service import TokenService

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  other failure
  2  invalid command line or endpoint selection
  3  engine unreachable, permission denied on its socket, TLS handshake
     failed, timed out, or a rotation whose outcome is unknown
  4  the node cannot serve: not in a swarm, a worker, locked, or not ready
  5  API version too old
  6  conflict: another admin changed the swarm; nothing was rotated
  7  the demo state file, or the audit file that 'audit' reads, cannot be
     used (an audit event that cannot be written is a warning, and a
     config file with errors is reported and its bad settings use their
     defaults)
  9  the demo swarm rejected a join (demo-join)
  12 demo-join's stdin is not UTF-8 text or longer than 65536 characters

check-token has its own codes: see 'swarmtui check-token --help'.
"""


# Each subcommand's name and module, in the order that --help lists them.
# A command line that names a subcommand imports only that module, because
# importing all of them added about 20 ms of CPU time to each CLI call
# (Python 3.11 on a 2-core AMD EPYC machine; see BENCHMARKS.md).
SUBCOMMAND_MODULES: dict[str, str] = {
    "join-token": "join_token",
    "check-token": "check_token",
    "leak-response": "leak",
    "join-window": "join_window",
    "audit": "audit_log",
    "demo-join": "demo_join",
    "demo-reset": "demo_reset",
    "demo-autolock": "demo_autolock",
}
HELP_OPTIONS = ("-h", "--help")
# The change that each subcommand has made before it writes its output,
# named in the note after a reader closed stdout early. A rotation gets a
# note of its own.
CHANGES_BEFORE_OUTPUT = {
    "demo-reset": "the demo swarm was reset",
    "demo-join": "the node joined the demo swarm",
    "demo-autolock": "autolock on the demo swarm was changed",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wrap a paragraph that is one long line; keep the others as written.

    Descriptions are single paragraphs longer than a terminal line, and
    epilogs hold tables and examples whose line breaks must stay.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        # argparse calls this method for the description and the epilog.
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if "\n" not in paragraph and len(indent) + len(paragraph) > width:
                paragraph = textwrap.fill(
                    paragraph, width, initial_indent=indent, subsequent_indent=indent
                )
            else:
                paragraph = textwrap.indent(paragraph, indent)
            paragraphs.append(paragraph)
        return "\n\n".join(paragraphs)


def _subcommand_modules(names: Collection[str] | None = None) -> list[ModuleType]:
    """Import the modules of the subcommands in `names`, or of all when None."""
    return [
        importlib.import_module(f"swarmtui.cli.{module}")
        for name, module in SUBCOMMAND_MODULES.items()
        if names is None or name in names
    ]


def named_subcommands(arguments: Sequence[str]) -> list[str] | None:
    """Return the subcommand names in a command line, or None to load them all.

    Every word that equals a subcommand name counts, so that an option value
    spelled like one cannot hide the real subcommand. All are loaded when no
    subcommand is named (the console, or a usage error that lists them) and
    when -h comes before the first name, since the top-level help lists them.
    """
    named: list[str] = []
    for word in arguments:
        if word in SUBCOMMAND_MODULES:
            named.append(word)
        elif word in HELP_OPTIONS and not named:
            return None
    return named or None


# Maximum --timeout, equal to swarmtui.config.MAX_TIMEOUT (not imported here,
# to keep the config parser off the CLI's start-up path): ten minutes is far
# above what any engine call needs.
MAX_TIMEOUT_SECONDS = 600.0
# Minimum --timeout, equal to swarmtui.config.MIN_TIMEOUT: a smaller value,
# such as 1e-9, is a typo.
MIN_TIMEOUT_SECONDS = 0.1


def timeout_seconds(text: str) -> float:
    """Parse --timeout: a number of seconds from 0.1 up to ten minutes.

    Only plain decimals such as 10 or 2.5 are accepted, not 1_0 or 1e1.
    """
    value = parse_decimal(text)
    if value is None or not MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds from "
            f"{MIN_TIMEOUT_SECONDS:g} to {MAX_TIMEOUT_SECONDS:g}, such as 10 or 2.5"
        )
    return value


def demo_seed(text: str) -> int:
    """Parse --demo-seed: a whole number of 0 or more, in ASCII digits only.

    int() also reads a sign, 1_0 (as 10), spaces around the digits and the
    digits of other scripts. Each of those is a typo, and it would make
    another swarm. A sign is rejected as in --joins and --limit.
    """
    value = parse_whole_number(text)
    if value is None and text.isascii() and text.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} has {len(text)} digits, more than a seed can have: "
            "use a shorter number, such as 4 or 1234"
        )
    if value is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number written with the digits "
            "0 to 9 and no sign, such as 4 or 1234"
        )
    return value


# Prefix of the names under which subcommand parsers count -v.
VERBOSE_AFTER_PREFIX = "verbose_after_subcommand_"


# Prefix of the names under which each parser notes that -H was given.
HOST_GIVEN_PREFIX = "host_given_"
ONE_HOST_ONLY = "specify only one -H/--host, as with the docker CLI"


class _HostOption(argparse.Action):
    """Store -H/--host, and reject a second -H in the same parser.

    The parser's marker attribute shows parse_command_line which parsers
    saw a -H, so that one before and one after the subcommand are rejected
    too. The docker CLI rejects two -H with "Specify only one -H".
    """

    def __init__(self, *args: Any, marker: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marker = marker

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.marker, False):
            parser.error(ONE_HOST_ONLY)
        setattr(namespace, self.marker, True)
        setattr(namespace, self.dest, values)


def file_path(text: str) -> Path:
    """Parse a file path option; an empty one is an error, not the current folder.

    So is one that ends in "/", "/." or "/..", because it names a folder.
    Path drops a trailing "/" or "/.", so a write would create a file named
    like the folder. A leading ~ or ~USER is that home folder, as the
    variables that name files take it, also when a shell left it quoted.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty: give a file's path")
    if text.rsplit("/", 1)[-1] in ("", ".", ".."):
        raise argparse.ArgumentTypeError(
            f"{text} names a folder, not a file: give a file's path"
        )
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise argparse.ArgumentTypeError(
            f"{text} starts with a ~ that names no known user's home folder: "
            "write the path out in full"
        ) from None


def add_common_options(
    parser: argparse.ArgumentParser, *, after_subcommand: bool = False
) -> None:
    """Add the engine selection, demo swarm, config and logging options to `parser`.

    After a subcommand the options default to argparse.SUPPRESS, so that an
    option given before the subcommand keeps its value unless it is given
    again.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_subcommand else value

    endpoint = parser.add_argument_group("engine selection (as in the docker CLI)")
    endpoint.add_argument(
        "-H",
        "--host",
        action=_HostOption,
        marker=f"{HOST_GIVEN_PREFIX}{id(parser)}",
        default=default(None),
        help="daemon socket to connect to, such as unix:///var/run/docker.sock, "
        "tcp://host:2376 or ssh://user@host; give it once",
    )
    endpoint.add_argument(
        "-c",
        "--context",
        default=default(None),
        help="docker context to use (see 'docker context ls')",
    )
    endpoint.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=default(None),
        help="seconds each engine call may take in total, including the "
        f"connection, from {MIN_TIMEOUT_SECONDS:g} to {MAX_TIMEOUT_SECONDS:g} "
        "(default: 10, or the config file)",
    )
    demo = parser.add_argument_group("demo swarm (no engine needed)")
    demo.add_argument(
        "--demo",
        action="store_true",
        default=default(False),
        help="use the embedded demo swarm",
    )
    demo.add_argument(
        "--demo-state",
        type=file_path,
        metavar="PATH",
        default=default(None),
        help="TOML file that stores the demo swarm (default: in the data folder)",
    )
    demo.add_argument(
        "--demo-seed",
        type=demo_seed,
        metavar="N",
        default=default(None),
        help="make the demo swarm's ids, keys and tokens from this seed, a "
        "whole number of 0 or more",
    )
    parser.add_argument(
        "--config",
        type=file_path,
        metavar="PATH",
        default=default(None),
        help="config file to read",
    )
    # argparse copies a subcommand's namespace over the outer one, which would
    # replace an earlier -v count, so each subcommand parser counts apart.
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest=f"{VERBOSE_AFTER_PREFIX}{id(parser)}" if after_subcommand else "verbose",
        default=default(0),
        help="log to stderr (-v info, -vv debug); tokens are always redacted",
    )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors show a token only as its fingerprint.

    A token given where an option or a role was expected would otherwise be
    printed back whole, as in "invalid choice: 'SWMTKN-1-...'". Long options
    must be spelled out, as in the docker CLI: with argparse's abbreviations,
    `join-token --r worker` rotated the token.
    """

    def __init__(self, **options: Any) -> None:
        options.setdefault("allow_abbrev", False)
        super().__init__(**options)

    def error(self, message: str) -> NoReturn:
        from swarmtui.text import shorten_long_words
        from swarmtui.tokens import redact

        super().error(shorten_long_words(redact(message)))

    def _print_message(
        self, message: str, file: SupportsWrite[str] | None = None
    ) -> None:
        """Print help or the version on stdout, or a usage error on stderr.

        argparse ignores a failed write, and prints on stderr when stdout was
        closed. Here a stdout that cannot be written raises BrokenPipeError,
        so that main exits 1 and names the failure, as other commands do.
        """
        if file is not None and file is not sys.stdout:
            super()._print_message(message, file)
            return
        from swarmtui.cli.output import guard_stdout

        guard_stdout()
        if message:
            sys.stdout.write(message)
            sys.stdout.flush()


class _SubcommandParser(_Parser):
    """Parser of a subcommand that also accepts the top-level options.

    `swarmtui join-token -H HOST worker` then means what `swarmtui -H HOST
    join-token worker` does. Nested subcommands get this class too.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        add_common_options(self, after_subcommand=True)


def build_parser(
    subcommands: Collection[str] | None = None,
    parser_class: type[argparse.ArgumentParser] = _Parser,
) -> tuple[argparse.ArgumentParser, dict[str, Callable[..., int]]]:
    """Build the parser with the given subcommands, or with all when None."""
    parser = parser_class(
        prog="swarmtui",
        description="Show, copy, check and rotate Docker Swarm join tokens. "
        "Without a subcommand, opens the console.",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"swarmtui {__version__}"
    )
    add_common_options(parser)

    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_SubcommandParser
    )
    runners: dict[str, Callable[..., int]] = {}
    for module in _subcommand_modules(subcommands):
        name = module.add_parser(subparsers)
        runners[name] = module.run
    return parser, runners


def error_message(error: SwarmTuiError) -> str:
    """Format an error for stderr; a rotation conflict lists what changed."""
    from swarmtui.errors import RotationConflictError
    from swarmtui.text import shorten_long_words
    from swarmtui.tokens import redact

    if isinstance(error, RotationConflictError) and error.changes:
        lines = [f"swarmtui: {error.title_in_sentence}: {error.message}"]
        lines.append("Changes since the swarm was read:")
        lines += [f"  - {change}" for change in error.changes]
        if error.hint:
            lines.append(error.hint)
        return shorten_long_words(redact("\n".join(lines)))
    # A message can quote what the user typed, such as a token given as the
    # host or a config path.
    return shorten_long_words(redact(f"swarmtui: {error.title_in_sentence}: {error}"))


class _ParseFailed(Exception):
    """A command line that the parser without subcommands could not parse."""


class _ConsoleParser(_Parser):
    """A parser that raises _ParseFailed on an error while `trial` is set."""

    trial = True

    def error(self, message: str) -> NoReturn:
        if self.trial:
            raise _ParseFailed(message)
        super().error(message)


def parse_command_line(
    arguments: list[str],
) -> tuple[argparse.ArgumentParser, dict[str, Callable[..., int]], argparse.Namespace]:
    """Parse `arguments`, importing only the subcommand modules they need.

    A command line without a subcommand opens the console, which needs none,
    so it is parsed without them first. Importing all seven took about 20 ms
    of CPU time and 2 MiB at each console start. When that parse fails, the
    full parser parses again, so that the error lists the subcommands.
    """
    named = named_subcommands(arguments)
    if named is None and not any(word in HELP_OPTIONS for word in arguments):
        trial_parser, runners = build_parser([], parser_class=_ConsoleParser)
        assert isinstance(trial_parser, _ConsoleParser)
        try:
            args = trial_parser.parse_args(arguments)
        except _ParseFailed:
            pass
        else:
            trial_parser.trial = False
            _merge_markers(trial_parser, args)
            return trial_parser, runners, args
    parser, runners = build_parser(named)
    chosen = _chosen_parser(parser, arguments)
    _reject_unknown_options(parser, chosen, arguments)
    args, extra = parser.parse_known_args(arguments)
    if extra:
        # argparse reports them with the top-level usage, which does not
        # show the options of the subcommand that was given.
        chosen.error(f"unrecognized arguments: {' '.join(extra)}")
    _merge_markers(parser, args)
    return parser, runners, args


def _chosen_parser(
    parser: argparse.ArgumentParser, arguments: list[str]
) -> argparse.ArgumentParser:
    """Return the parser of the innermost subcommand named in `arguments`."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for position, word in enumerate(arguments):
            if word == "--":
                break
            if word in action.choices:
                return _chosen_parser(action.choices[word], arguments[position + 1 :])
    return parser


def _merge_markers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Add up the -v counts of every parser, and reject -H given to two parsers."""
    for name in [name for name in vars(args) if name.startswith(VERBOSE_AFTER_PREFIX)]:
        args.verbose += getattr(args, name)
        delattr(args, name)
    host_markers = [name for name in vars(args) if name.startswith(HOST_GIVEN_PREFIX)]
    for name in host_markers:
        delattr(args, name)
    if len(host_markers) > 1:
        parser.error(ONE_HOST_ONLY)


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Return the long options of `parser` and of its subcommands, nested too."""
    names: set[str] = set()
    for action in parser._actions:
        names.update(name for name in action.option_strings if name.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                names |= _option_strings(child)
    return names


def _own_options(parser: argparse.ArgumentParser) -> set[str]:
    """Return the long options of `parser` itself, without its subcommands'."""
    return {
        name
        for action in parser._actions
        for name in action.option_strings
        if name.startswith("--")
    }


def _owners(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """Return the commands, nested ones too, that have the option `name`."""
    found = [parser.prog] if name in _own_options(parser) else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _owners(child, name)
    return found


def _reject_unknown_options(
    parser: argparse.ArgumentParser,
    chosen: argparse.ArgumentParser,
    arguments: list[str],
) -> None:
    """Reject a long option that the command does not have, naming the fix.

    That is the option a shortened one such as --time stands for (they are
    turned off, so that a typo such as --rot cannot rotate), the command
    that has the option, or the command's --help.
    """
    known = _option_strings(parser)
    # The options that this command line may use: the subcommand's own,
    # which include the common ones, and the top-level ones.
    allowed = _own_options(chosen) | _own_options(parser)
    for word in arguments:
        if word == "--":
            break
        name = word.split("=", 1)[0]
        if not name.startswith("--") or name in allowed:
            continue
        # argparse would take the value of an option it does not know for the
        # subcommand or the role, and report that instead.
        if name in known:
            owners = " and ".join(
                repr(owner) for owner in sorted(_owners(parser, name))
            )
            chosen.error(f"{name} is an option of {owners}, not of {chosen.prog!r}")
        matches = sorted(option for option in allowed if option.startswith(name))
        if matches:
            chosen.error(
                f"unknown option {name}; options are not shortened, so write "
                f"{' or '.join(matches)}"
            )
        chosen.error(f"unknown option {name}; '{chosen.prog} --help' lists the options")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from swarmtui.cli.output import fill_missing_stderr

        fill_missing_stderr()
        status = _run(list(sys.argv[1:] if argv is None else argv))
        # Python sets sys.stdout to None when standard output was closed
        # before it started, as with '>&-'.
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # Raised by --help and --version, or by the last flush of the output.
        from swarmtui.cli.output import discard_stdout, note_unwritten

        discard_stdout()
        note_unwritten()
        return ExitCode.FAILURE
    except KeyboardInterrupt as interrupt:
        # Ctrl+C or a quit signal during start-up, such as while the parser
        # is built, before a subcommand or the console handles it.
        return interrupted_at_start(interrupt)
    return status


def interrupted_at_start(interrupt: KeyboardInterrupt) -> int:
    """Report an interrupt that no command handled, and return its exit code.

    Further quit signals are ignored from here on, so that a second Ctrl+C
    cannot cut the message short with a traceback.
    """
    ignore_quit_signals()
    if isinstance(interrupt, QuitSignal) and interrupt.signum != signal.SIGINT:
        cause = f"stopped by {signal.Signals(interrupt.signum).name}"
        code = 128 + interrupt.signum
    else:
        cause, code = "interrupted", 130
    # print() with file=None would write to stdout.
    if sys.stderr is not None:
        _report(f"swarmtui: {cause}")
    return code


def _run(arguments: list[str]) -> int:
    # Start-up allocates many objects that live until exit (modules, classes,
    # the parser), and the cyclic garbage collector would scan them again at
    # each of its thresholds. It stays off until a subcommand starts; the
    # console turns it back on once its first read is on screen.
    gc.disable()
    try:
        return _dispatch(arguments)
    finally:
        gc.enable()


def _dispatch(arguments: list[str]) -> int:
    parser, runners, args = parse_command_line(arguments)

    from swarmtui import logs

    logs.configure(args.verbose)

    check_selection(parser, args)
    if args.host and args.context:
        parser.error("use either --host or --context, not both")
    if args.command != "audit":
        # Every other command may write the audit record.
        from swarmtui.state_files import check_files_apart

        try:
            check_files_apart(args.config, _demo_state_path(args))
        except SwarmTuiError as error:
            print(error_message(error), file=sys.stderr)
            return error.exit_code
    if args.command is None:
        from swarmtui.tui.run import run_console

        try:
            if args.host is not None:
                # A malformed -H is a typo on this command line, which no
                # retry in the console can fix.
                from swarmtui.endpoint import normalized_host

                normalized_host(args.host, "-H/--host")
            return run_console(args)
        except SwarmTuiError as error:
            print(error_message(error), file=sys.stderr)
            return error.exit_code
        except KeyboardInterrupt:
            _report("swarmtui: interrupted")
            return 130
    # The handlers stay until the messages below are written, so that a
    # later signal cannot cut them short or change the exit code.
    with quit_signals_interrupt():
        return _run_subcommand(runners[args.command], args)


def _run_subcommand(runner: Callable[..., int], args: argparse.Namespace) -> int:
    """Run a subcommand, and turn its errors and interrupts into messages."""
    from swarmtui.cli.output import (
        guard_stdout,
        note_unwritten,
        printed_changes,
        stdout_failure,
    )

    guard_stdout()
    service: TokenService | None = None
    try:
        if not _needs_service(args):
            gc.enable()
            code = runner(args, None)
            # Flushed here, so that a reader that exited is handled below and
            # not by the interpreter's last flush, which prints no message.
            sys.stdout.flush()
            return code
        # The config file is read, and its errors reported, also when
        # --timeout replaces its timeout, because it names the audit file too.
        settings = config_settings(args)
        if args.timeout is None:
            args.timeout = settings.timeout
        service = make_service(args)
        gc.enable()
        try:
            code = runner(args, service)
            sys.stdout.flush()
            return code
        finally:
            for failure in service.audit_failures:
                print(f"swarmtui: warning: {failure}", file=sys.stderr)
            service.backend.close()
    except SwarmTuiError as error:
        print(error_message(error), file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        from swarmtui.cli.output import discard_stdout

        discard_stdout()
        change = CHANGES_BEFORE_OUTPUT.get(args.command)
        if change is not None:
            _report(
                f"swarmtui: standard output {stdout_failure()}, so not all of the "
                f"output was written; {change} all the same."
            )
        rotated = service is not None and bool(service.rotated_at)
        if change is None and not rotated:
            note_unwritten()
        for line in printed_changes():
            _report(line)
        if service is not None and service.rotated_at:
            from swarmtui.tui.run import cli_command

            roles = sorted({role for _cluster, role in service.rotated_at})
            commands = " and ".join(
                f"'{cli_command(args)} join-token {role}'" for role in roles
            )
            _report(
                "swarmtui: the rotation took effect and was audited, but "
                f"standard output {stdout_failure()}, so not all of the output "
                f"was written. Read the new {'tokens' if len(roles) > 1 else 'token'} "
                f"with {commands}."
            )
        return ExitCode.FAILURE
    except Exception as error:  # a bug, or an engine reply of an unexpected shape
        import logging

        from swarmtui.tokens import redact

        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        _report(
            f"swarmtui: unexpected error ({type(error).__name__}: "
            f"{redact(str(error))}). Run again with -vv for the details; after "
            "a rotation, read the tokens again to see whether it took effect."
        )
        return ExitCode.FAILURE
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, QuitSignal) and interrupt.signum != signal.SIGINT:
            cause = f"stopped by {signal.Signals(interrupt.signum).name}"
            code = 128 + interrupt.signum
        else:
            cause, code = "interrupted", 130
        if service is not None and service.interrupted_after_rotation:
            _report(
                f"swarmtui: {cause} after the rotation took effect; its audit "
                "record was written. Read the tokens again to see the new ones."
            )
        elif service is not None and service.interrupted_during_update:
            from swarmtui.tui.run import cli_command

            command = cli_command(args)
            _report(
                f"swarmtui: {cause} during a rotation, which the engine may "
                f"have applied. Its audit record ('{command} audit --limit 1') "
                "has the token's fingerprint before it; if "
                f"'{command} join-token --json worker' (or manager) shows "
                "another one, the rotation took effect."
            )
        else:
            _report(f"swarmtui: {cause}")
        return code


class QuitSignal(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGINT, raised as an interrupt so that its clean-up runs.

    A rotation stopped by it is audited as interrupted. As a
    KeyboardInterrupt it is not an Exception, so no engine call turns it
    into an engine error.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# True when the process ends once the command returns, as the swarmtui
# command does. Quit signals are then ignored after the command, so that one
# that arrives while Python exits cannot turn a finished command's exit code
# into 128 plus the signal's number.
ENDS_PROCESS = False


# Quit signals that arrived inside deferred_quit_signals, or None outside it.
_deferred_signals: list[int] | None = None


def _raise_quit_signal(signum: int, frame: FrameType | None) -> None:
    # Further signals are ignored, so that they cannot stop the clean-up that
    # this one starts, such as the audit record of a rotation.
    # NOTE: of two signals pending at once, CPython runs the handler of the
    # lower signal number first, so SIGINT wins over a SIGTERM sent just
    # before it.
    ignore_quit_signals()
    if _deferred_signals is not None:
        _deferred_signals.append(signum)
        return
    raise QuitSignal(signum)


@contextmanager
def deferred_quit_signals() -> Iterator[None]:
    """Defer a quit signal that arrives inside the block, and raise it after."""
    global _deferred_signals
    if _deferred_signals is not None:
        yield
        return
    deferred: list[int] = []
    _deferred_signals = deferred
    try:
        yield
    finally:
        _deferred_signals = None
        if deferred:
            raise QuitSignal(deferred[0])


def _ignore_quit_signal(signum: int, frame: FrameType | None) -> None:
    """Ignore a quit signal that follows the first one."""


def ignore_quit_signals() -> None:
    """Ignore SIGTERM, SIGHUP and SIGINT from now on.

    The handler does nothing rather than being SIG_IGN: CPython raises
    OSError ("Signal 15 ignored due to race condition") for a signal still
    pending when its handler becomes SIG_IGN, as when two arrive at once.
    """
    for signum in QUIT_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _ignore_quit_signal)


@contextmanager
def quit_signals_interrupt() -> Iterator[None]:
    """Raise QuitSignal on SIGTERM, SIGHUP and SIGINT inside the block.

    A signal ignored when the block starts, as nohup ignores SIGHUP, stays
    ignored. With ENDS_PROCESS, all three are ignored after the block.
    """
    previous = {
        signum: signal.signal(signum, _raise_quit_signal)
        for signum in QUIT_SIGNALS
        if signal.getsignal(signum) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # A handler that does nothing, for the reason ignore_quit_signals
            # gives, and not SIG_IGN.
            signal.signal(signum, _ignore_quit_signal if ENDS_PROCESS else handler)


def _report(message: str) -> None:
    """Print `message` on stderr, unless stderr is gone, as after SIGHUP."""
    with suppress(OSError):
        print(message, file=sys.stderr)


def check_selection(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations that select two swarms or none; warn on --config.

    parser.error exits with code 2 after printing the usage.
    """
    if args.demo and (args.host is not None or args.context is not None):
        parser.error(
            "choose either the demo swarm (--demo) or an engine (-H/--context), "
            "not both"
        )
    if not args.demo:
        for option, value in (
            ("--demo-state", args.demo_state),
            ("--demo-seed", args.demo_seed),
        ):
            if value is not None:
                parser.error(f"{option} applies only to the demo swarm: add --demo")
    config = args.config
    if config is not None and _config_missing(config):
        problem = (
            "is a symbolic link to a missing file"
            if config.is_symlink()
            else "does not exist"
        )
        from swarmtui.tokens import redact

        print(
            redact(
                f"swarmtui: warning: the config file {config} {problem}; "
                "using the default settings."
            ),
            file=sys.stderr,
        )


def _config_missing(config: Path) -> bool:
    """Return whether `config`, or the file its symbolic link names, is missing.

    Other failures, such as a loop of symbolic links or a file in place of
    a folder, are left to the config loader, whose error names the cause.
    """
    try:
        config.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _demo_state_path(args: argparse.Namespace) -> Path | None:
    """Return the demo state file given with --demo-state, or None without it."""
    if args.demo_state is None:
        return None
    from swarmtui.atomicfile import home_expanded

    return home_expanded(args.demo_state, "--demo-state")


def _needs_service(args: argparse.Namespace) -> bool:
    """Return False for a subcommand that works without an engine, such as audit.

    A module says so with `NEEDS_SERVICE = False`, or with a function
    `needs_service(args)` when it depends on the arguments.
    """
    for module in _subcommand_modules([args.command]):
        if getattr(module, "NAME", None) != args.command:
            continue
        decide = getattr(module, "needs_service", None)
        if decide is not None:
            return bool(decide(args))
        return bool(getattr(module, "NEEDS_SERVICE", True))
    return True


def make_service(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Build the token service for the parsed command-line options."""
    from swarmtui.backends import make_backend
    from swarmtui.service import TokenService

    timeout = args.timeout if args.timeout is not None else config_timeout(args)
    if timeout <= 0:
        raise SwarmTuiError(
            f"--timeout must be a positive number of seconds, not {timeout:g}."
        )
    backend = make_backend(
        demo=args.demo,
        demo_state=args.demo_state,
        demo_seed=args.demo_seed,
        host=args.host,
        context=args.context,
        timeout=timeout,
    )
    return TokenService(backend, **_service_extras(args))  # type: ignore[arg-type]


def setting_options(args: argparse.Namespace) -> dict[str, str]:
    """Return the settings that options on the command line replace, as typed."""
    timeout = getattr(args, "timeout", None)
    if timeout is None:
        return {}
    return {"timeout": f"--timeout {timeout:g}"}


def config_timeout(args: argparse.Namespace) -> float:
    """Return the engine timeout from the config file, or 10 s if it has none."""
    return config_settings(args).timeout


def config_settings(args: argparse.Namespace) -> Settings:
    """Return the settings of the config file that a command runs on.

    Errors in the config file are printed on stderr with the settings that
    fall back to their defaults, and the command goes on with the rest.
    """
    from swarmtui.audit import default_audit_path
    from swarmtui.config import (
        default_config_path,
        fallback_note,
        load_usable_settings,
    )

    path = getattr(args, "config", None) or default_config_path()
    settings, error = load_usable_settings(path)
    if error is not None:
        note = fallback_note(
            error, default_audit_path(config_path=path), options=setting_options(args)
        )
        print(error_message(error) + " " + note, file=sys.stderr)
    return settings


def _service_extras(args: argparse.Namespace) -> dict[str, object]:
    """Return the audit sink and token history that the CLI uses."""
    from swarmtui.audit import open_default_audit
    from swarmtui.cli.audit_sink import SignalSafeAuditLog

    audit = open_default_audit(config_path=getattr(args, "config", None))
    extras: dict[str, object] = {
        "audit": SignalSafeAuditLog(audit.path, origin=audit.origin)
    }
    # The demo swarm lists its own retired tokens; the file history is for
    # real swarms, and demo clusters would only fill it.
    if not args.demo:
        from swarmtui.history import open_default_history

        extras["history"] = open_default_history()
    return extras


__all__ = ["ExitCode", "main"]
