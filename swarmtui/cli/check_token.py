"""`swarmtui check-token`: is a pasted token live on this swarm, and for which role.

The token is read from standard input, never from the command line, where
it would land in shell history and in the process list. The report shows
the token's fingerprint, never the token.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from swarmtui.cli import HelpFormatter
from swarmtui.cli.output import note_unwritten, write_stdout
from swarmtui.cli.prompt import ask_yes_no
from swarmtui.errors import ExitCode, SwarmTuiError, TokenFormatError
from swarmtui.models import Role, TokenCheck, TokenStatus
from swarmtui.service import TokenService
from swarmtui.timetext import format_utc
from swarmtui.tokens import extract_token

NAME = "check-token"

# Exit codes of check-token, apart from the usual engine and file errors.
NOT_LIVE = 0
LIVE_WORKER = 10
LIVE_MANAGER = 11
INVALID_TEXT = 12
ROTATION_NOT_CONFIRMED = ExitCode.USAGE

# More than any pasted token or join command; longer input is rejected.
MAX_INPUT_CHARACTERS = 64 * 1024

EPILOG = f"""\
The token is read from standard input (or typed at a hidden prompt when
standard input is a terminal), so it never appears in the process list or
in shell history. A whole 'docker swarm join --token ...' command is
accepted too. Output shows the token's fingerprint, never the token.

exit codes:
  {NOT_LIVE:<2}  the token is well-formed but not live on this swarm: an old
      token of this swarm, another token with its CA digest, or another
      swarm's
  {ROTATION_NOT_CONFIRMED:<2}  --rotate of the manager token was not confirmed (no --yes
      and no terminal to ask on, or the answer was no); nothing was rotated
  {LIVE_WORKER:<2}  the token is the current worker token
  {LIVE_MANAGER:<2}  the token is the current manager token
  {INVALID_TEXT:<2}  the input is not a well-formed join token, is not UTF-8 text,
      or is longer than {MAX_INPUT_CHARACTERS} characters
  With --rotate, 10 and 11 still report what the token was when checked,
  and the report says whether it was rotated.
  Failures to reach the swarm keep the usual codes of 'swarmtui --help'
  (3 unreachable, 4 not a manager, 6 conflict, 7 file error, ...).
"""


class InputError(SwarmTuiError):
    """Standard input that cannot be read as one token."""

    title = "Invalid input"
    exit_code = INVALID_TEXT


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="tell whether a token read from stdin is live, and for which role",
        description="Check a join token read from standard input against the "
        "swarm: well-formed or not, its version and FIPS flag, whether its CA "
        "digest is this swarm's, and whether it is the current worker token, "
        "the current manager token, an old token of this swarm or another "
        "swarm's.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object for scripts"
    )
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="when the token is live, rotate that role's token at once",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="rotate the manager token without asking (with --rotate)",
    )
    return NAME


def _read_text(source: TextIO) -> str:
    """Read piped input as strict UTF-8, whatever the locale's encoding is.

    Input past the limit is cut, so that the caller can tell it is too long.
    """
    buffer = getattr(source, "buffer", None)
    if buffer is None:
        return source.read(MAX_INPUT_CHARACTERS + 1)
    size = 4 * (MAX_INPUT_CHARACTERS + 1)
    data: bytes = buffer.read(size)
    if len(data) == size:
        # UTF-8 takes at most 4 bytes a character, so this is too long anyway,
        # and the cut may have split a character.
        return data.decode("utf-8", "replace")
    try:
        text: str = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"Standard input is not UTF-8 text (invalid byte at offset {error.start}).",
            "Pass the token as plain text, for example copied from "
            "'docker swarm join-token'.",
        ) from None
    return text[: MAX_INPUT_CHARACTERS + 1]


def read_token(
    stream: TextIO | None = None, prompt: str = "Join token: ", extract: bool = True
) -> str:
    """Read a token from standard input, with a hidden prompt on a terminal.

    With `extract` False the text is returned as read, for a caller that
    reports text without a single token as it reports any invalid token.
    """
    source = stream if stream is not None else sys.stdin
    if source is None:
        raise InputError(
            "No standard input to read the token from.",
            "Pipe the token in, for example: swarmtui check-token < token.txt",
        )
    if source.isatty():
        try:
            text = getpass.getpass(prompt, stream=sys.stderr)
        except EOFError:
            # Ctrl+D ends no line, so the report would start on the prompt's.
            print(file=sys.stderr)
            text = ""
    else:
        text = _read_text(source)
        if len(text) > MAX_INPUT_CHARACTERS:
            raise InputError(
                f"Standard input is longer than {MAX_INPUT_CHARACTERS} characters; "
                "a join token has 85 to 87.",
                "Pass only the token, or the one 'docker swarm join' line.",
            )
    if not extract:
        return text
    try:
        return extract_token(text)
    except TokenFormatError as error:
        raise InputError(error.message, error.hint) from None


def describe_status(check: TokenCheck) -> str:
    return {
        TokenStatus.LIVE_WORKER: "LIVE: current worker token",
        TokenStatus.LIVE_MANAGER: "LIVE: current manager token",
        TokenStatus.OLD: "not live: old token of this swarm",
        TokenStatus.THIS_SWARM_UNKNOWN: "not live: not a current token of this swarm",
        TokenStatus.OTHER_SWARM: "not live: another swarm's token",
        TokenStatus.INVALID: "invalid: not one well-formed join token",
    }[check.status]


def next_step(check: TokenCheck, command: str = "swarmtui") -> str:
    """Return the line that names how to stop a live token working, or "".

    `command` is swarmtui with the options that chose this swarm.
    """
    if not check.live or check.role is None:
        return ""
    return (
        f"Next step: rotate it with '{command} check-token --rotate' (which "
        f"reads the token again) or '{command} join-token --rotate {check.role}'. If "
        f"both tokens may have leaked, run '{command} leak-response'."
    )


def retired_when(retired_at: datetime, rotated_at: datetime | None) -> str:
    """Return when an old token was rotated, or by when swarmtui saw it replaced.

    The token history records when swarmtui first saw a token replaced, which
    for a rotation by another tool is later than the rotation itself.
    """
    if rotated_at is not None:
        return f"rotated {rotated_at:%Y-%m-%d %H:%M} UTC"
    return f"replaced by {retired_at:%Y-%m-%d %H:%M} UTC (first seen replaced)"


def render_report(
    check: TokenCheck, endpoint: str, rotating: bool = False, command: str = "swarmtui"
) -> str:
    """Write the report of a check; `rotating` leaves out the next step."""
    lines = [f"Status:       {describe_status(check)}"]
    if check.status is not TokenStatus.INVALID:
        fips = "yes" if check.fips else "no"
        lines.append(f"Fingerprint:  {check.fingerprint}")
        lines.append(f"Format:       well-formed, version {check.version}, FIPS {fips}")
        swarm = (
            "this swarm's root CA"
            if check.digest_matches
            else "another root CA (another swarm, or before a CA rotation)"
        )
        lines.append(f"CA digest:    {swarm}")
    if check.retired_role is not None and check.retired_at is not None:
        when = retired_when(check.retired_at, check.rotated_at)
        lines.append(f"Retired:      {check.retired_role} token, {when}")
    if check.status is not TokenStatus.INVALID:
        # Invalid text is rejected before the swarm is read.
        lines.append(f"Swarm:        {endpoint}")
    lines.append("")
    lines.append(check.reason)
    step = "" if rotating else next_step(check, command)
    if step:
        lines.append(step)
    return "\n".join(lines) + "\n"


def check_document(check: TokenCheck, endpoint: str) -> dict[str, Any]:
    return {
        "status": check.status.value,
        "live": check.live,
        "role": str(check.role) if check.role else None,
        "fingerprint": check.fingerprint or None,
        "version": check.version,
        "fips": check.fips,
        "digest_matches": check.digest_matches,
        "retired_role": str(check.retired_role) if check.retired_role else None,
        "retired_at": format_utc(check.retired_at) if check.retired_at else None,
        "rotated_at": format_utc(check.rotated_at) if check.rotated_at else None,
        "reason": check.reason,
        "endpoint": endpoint,
    }


def exit_code_for(check: TokenCheck) -> int:
    if check.status is TokenStatus.LIVE_WORKER:
        return LIVE_WORKER
    if check.status is TokenStatus.LIVE_MANAGER:
        return LIVE_MANAGER
    if check.status is TokenStatus.INVALID:
        return INVALID_TEXT
    return NOT_LIVE


def confirm_manager_rotation(cluster_id: str, endpoint: str) -> bool | None:
    """Ask on the terminal whether to rotate the manager token; None without one."""
    return ask_yes_no(
        f"Rotate the manager token of swarm {cluster_id[:12]} at {endpoint} now? "
        "Hosts that have not joined yet will need the new token; nodes already "
        "in the swarm are not affected. [y/N] "
    )


def rotate_checked(
    service: TokenService, check: TokenCheck, args: argparse.Namespace
) -> tuple[int, dict[str, Any]]:
    """Rotate the role of a live token; return an exit code and what happened."""
    role = Role.WORKER if check.status is TokenStatus.LIVE_WORKER else Role.MANAGER
    if role is Role.MANAGER and not args.yes:
        # The question names the swarm, as the console's dialog does.
        current_view = service.read()
        confirmed = confirm_manager_rotation(
            current_view.cluster_id, current_view.endpoint
        )
        if confirmed is None:
            print(
                "swarmtui: the manager token was not rotated: there is no terminal "
                "to confirm on. Add --yes to rotate it without asking.",
                file=sys.stderr,
            )
            return ROTATION_NOT_CONFIRMED, {"rotated": False}
        if not confirmed:
            service.record_declined(
                "rotate-checked-token", [Role.MANAGER], current_view
            )
            print("swarmtui: the manager token was not rotated.", file=sys.stderr)
            return ROTATION_NOT_CONFIRMED, {"rotated": False}

    view = service.read()
    if view.token_fingerprint(role) != check.fingerprint:
        print(
            f"swarmtui: the {role} token changed since the check, so the checked "
            "token is no longer live; nothing was rotated.",
            file=sys.stderr,
        )
        return NOT_LIVE, {"rotated": False}
    result = service.rotate([role], expected=view, action="rotate-checked-token")
    new_fingerprint = result.after.token_fingerprint(role)
    from swarmtui.tui.run import cli_command

    notice = (
        f"Rotated the {role} join token ({check.fingerprint} -> {new_fingerprint}); "
        "the checked token can no longer join. "
        f"'{cli_command(args)} join-token {role}' prints the new join command."
    )
    if args.json:
        print(notice, file=sys.stderr)
    elif not write_stdout(notice + "\n"):
        note_unwritten()
        print(notice, file=sys.stderr)
    return exit_code_for(check), {"rotated": True, "new_fingerprint": new_fingerprint}


def run(args: argparse.Namespace, service: TokenService) -> int:
    if args.yes and not args.rotate:
        # Otherwise a caller who meant to rotate would find out only from
        # the report that nothing was rotated.
        print(
            "swarmtui check-token: error: --yes confirms --rotate, which was not "
            "given. Add --rotate to rotate a live token, or leave out --yes.",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        text = read_token(extract=False)
    except InputError as error:
        print(f"swarmtui: {error.title_in_sentence}: {error}", file=sys.stderr)
        return error.exit_code
    check = service.check_token(text)
    endpoint = service.endpoint
    # A reader that stops early, as `| head -1` does, must not cancel the
    # rotation asked for below.
    from swarmtui.tui.run import cli_command

    report = render_report(
        check, endpoint, rotating=args.rotate, command=cli_command(args)
    )
    if not args.json and not write_stdout(report):
        note_unwritten()

    code = exit_code_for(check)
    extra: dict[str, Any] = {"rotated": False}
    if args.rotate and check.live:
        code, extra = rotate_checked(service, check, args)
    elif args.rotate:
        state = "invalid" if check.status is TokenStatus.INVALID else "not live"
        print(
            f"swarmtui: the token is {state}, so nothing was rotated.",
            file=sys.stderr,
        )

    if args.json:
        document = check_document(check, endpoint)
        document.update(extra)
        # Scripts read the check's result from the exit code, so a stdout
        # that cannot be written does not change it.
        if not write_stdout(json.dumps(document, indent=2) + "\n"):
            note_unwritten()
    return code
