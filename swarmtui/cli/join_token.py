"""`swarmtui join-token`: the docker command's output, plus JSON for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from swarmtui.cli import HelpFormatter, deferred_quit_signals
from swarmtui.errors import ExitCode
from swarmtui.models import Role, SwarmView
from swarmtui.service import TokenService

NAME = "join-token"
EPILOG = """\
exit codes:
  0  success
  1  other failure, such as a standard output that cannot be written
  2  invalid command line or endpoint selection
  3  engine unreachable, permission denied on its socket, TLS handshake
     failed, timed out, or a rotation whose outcome is unknown
  4  the node cannot serve: not in a swarm, a worker, locked, or not ready
  5  API version too old
  6  conflict (--rotate): another admin changed the swarm; nothing rotated
  7  the demo state file cannot be used (--demo)
"""


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="print or rotate the join command of a role",
        description="Print the command that joins a node to the swarm as a "
        "worker or a manager, or rotate its token. Stdout carries the command "
        "under one line that names the role (after --rotate, the line that "
        "says which token was rotated), the token alone (-q) or the JSON "
        "document (--json). With -q or --json, the rotation line goes to "
        "stderr.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "role",
        choices=[role.value for role in Role],
        metavar="ROLE",
        help="worker or manager",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "-q", "--quiet", action="store_true", help="print only the token"
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the token, address and fingerprint",
    )
    parser.add_argument(
        "--rotate", action="store_true", help="rotate the role's token first"
    )
    return NAME


def render_command(view: SwarmView, role: Role) -> str:
    return (
        f"Run this command on a host to make it a {role} of the swarm:\n"
        "\n"
        f"    {view.join_command(role)}\n"
    )


def render_json(view: SwarmView, role: Role, rotated: bool) -> str:
    document = {
        "role": str(role),
        "token": view.token(role),
        "fingerprint": view.token_fingerprint(role),
        "join_address": view.join_address,
        "command": view.join_command(role),
        "cluster_id": view.cluster_id,
        "endpoint": view.endpoint,
        "rotated": rotated,
    }
    return json.dumps(document, indent=2)


def run(args: argparse.Namespace, service: TokenService) -> int:
    role = Role(args.role)
    if not args.rotate:
        return _show(args, service, role)
    result = service.rotate([role])
    view = result.after
    notice = (
        f"Rotated the {role} join token "
        f"({result.before.token_fingerprint(role)} -> "
        f"{view.token_fingerprint(role)}); the old token can no longer join."
    )
    if args.quiet or args.json:
        print(notice, file=sys.stderr)
    else:
        from swarmtui.cli.output import print_change

        print_change(notice)
        print()
    _print_output(args, view, role)
    return ExitCode.OK


def _show(args: argparse.Namespace, service: TokenService, role: Role) -> int:
    """Print the role's command, token or JSON, and audit it as a `show`.

    Nothing is read from the engine when stdout was closed before the start.
    An output that fails is audited with the result `failed`, because the
    token did not reach its reader.
    """
    from swarmtui.cli.output import require_stdout, stdout_failure

    require_stdout()
    view = service.read()
    item = "command"
    if args.quiet:
        item = "token"
    elif args.json:
        item = "json"
    # A quit signal waits until the event is written, so that a printed
    # token gets its audit event before the process ends.
    with deferred_quit_signals():
        try:
            _print_output(args, view, role)
            sys.stdout.flush()
        except BrokenPipeError:
            service.record(
                "show",
                roles=[role],
                view=view,
                item=item,
                result="failed",
                reason="output closed",
                error=f"standard output {stdout_failure()}",
            )
            raise
        service.record("show", roles=[role], view=view, item=item)
    return ExitCode.OK


def _print_output(args: argparse.Namespace, view: SwarmView, role: Role) -> None:
    if args.quiet:
        print(view.token(role))
    elif args.json:
        print(render_json(view, role, rotated=args.rotate))
    else:
        print(render_command(view, role))
