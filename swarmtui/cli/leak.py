"""`swarmtui leak-response`: rotate both tokens at once and list recent joins."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from swarmtui.cli import HelpFormatter
from swarmtui.cli.output import print_change
from swarmtui.cli.prompt import ask_yes_no
from swarmtui.errors import ExitCode
from swarmtui.leak import LeakStart, leak_since_for, nodes_summary, parse_leak_start
from swarmtui.models import NodeInfo, Role
from swarmtui.service import LeakReport, TokenService
from swarmtui.timetext import format_utc

NAME = "leak-response"

EXIT_HELP = """\
exit codes:
  0  both tokens rotated and the nodes that joined since then listed
  1  nothing rotated because the answer was no, or the tokens were rotated
     but the node list could not be read (the rotation stands)
  2  no terminal to confirm on and no --yes; nothing rotated
  3-6  as for every command: engine, node state, API version, conflict
  7  the demo state file cannot be used (--demo)
"""


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="rotate both join tokens in one update and list nodes that joined",
        description="Respond to a leaked join token: rotate the worker and the "
        "manager token in one swarm update, then list every node that joined "
        "since the leak may have started, with the nodes that are managers now "
        "flagged (the engine reports each node's current role, not the role "
        "it joined with). Stdout carries "
        "the rotation notice and the node table, or one JSON document with "
        "--json. No token is printed.",
        epilog=EXIT_HELP,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="when the leak may have started: an ISO 8601 time (UTC unless it "
        "names an offset) or a duration back from now such as 2h (default: the "
        "issue time of the older current token, from the audit record; else 24 "
        "hours ago, or the swarm's creation when that is later)",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="rotate without asking; required when there is no terminal to ask on",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout"
    )
    return NAME


def render_nodes(nodes: tuple[NodeInfo, ...]) -> str:
    """Write the nodes as an aligned text table; managers are marked with '!'.

    The ID column has the 12-character short form that `docker node ls`
    prints; --json carries the full ID.
    """
    header = (
        "",
        "ID",
        "HOSTNAME",
        "ROLE",
        "ADDRESS",
        "JOINED (UTC)",
        "STATUS",
        "ENGINE",
    )
    rows = [header]
    for node in nodes:
        manager = node.role is Role.MANAGER
        rows.append(
            (
                "!" if manager else "",
                node.id[:12],
                node.hostname or "-",
                "MANAGER" if manager else "worker",
                node.address or "-",
                format_utc(node.created_at) if node.created_at else "-",
                node.status,
                node.engine_version or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def rotation_notice(report: LeakReport, command: str = "swarmtui") -> str:
    """Return the line that reports the rotation, ending with how to get the new tokens.

    `command` is the swarmtui command with the options that reached the swarm.
    """
    rotation = report.rotation
    changes = ", ".join(
        f"{role} {rotation.before.token_fingerprint(role)} -> "
        f"{rotation.after.token_fingerprint(role)}"
        for role in Role
    )
    return (
        f"Rotated both join tokens in one update ({changes}); the old tokens "
        f"can no longer join. '{command} join-token worker' and "
        f"'{command} join-token manager' print the new join commands."
    )


def render_json(report: LeakReport, start: LeakStart) -> str:
    rotation = report.rotation
    document = {
        "since": format_utc(report.since, exact=True),
        "since_source": start.source,
        "cluster_id": rotation.after.cluster_id,
        "endpoint": rotation.after.endpoint,
        "rotated": {
            str(role): {
                "old_fingerprint": rotation.before.token_fingerprint(role),
                "new_fingerprint": rotation.after.token_fingerprint(role),
            }
            for role in Role
        },
        "nodes": [
            {
                "id": node.id,
                "hostname": node.hostname,
                "role": str(node.role),
                "manager": node.role is Role.MANAGER,
                "address": node.address,
                "joined_at": format_utc(node.created_at) if node.created_at else None,
                "status": node.status,
                "engine_version": node.engine_version,
            }
            for node in report.nodes
        ],
        "nodes_error": report.nodes_error or None,
    }
    return json.dumps(document, indent=2)


def run(args: argparse.Namespace, service: TokenService) -> int:
    view = service.read()
    if args.since is not None:
        since = parse_leak_start(args.since, strict=True)
        start = LeakStart(since=since, source="given with --since")
    else:
        current = {role: view.token_fingerprint(role) for role in Role}
        start = leak_since_for(service, view.cluster_id, current=current)

    if not args.yes:
        question = (
            f"Rotate BOTH join tokens of swarm {view.cluster_id[:12]} at "
            f"{view.endpoint}? Nodes that have not joined yet will need the new "
            "tokens; nodes already in the swarm are not affected. Then list the "
            f"nodes that joined since {format_utc(start.since, exact=True)} "
            f"({start.source})."
        )
        confirmed = ask_yes_no(question + " [y/N] ")
        if confirmed is None:
            print(
                "swarmtui: leak-response rotates both join tokens and needs a "
                "confirmation, but there is no terminal to ask on, so nothing "
                "was rotated. Add --yes to rotate without asking.",
                file=sys.stderr,
            )
            return ExitCode.USAGE
        if not confirmed:
            service.record_declined("leak-response", list(Role), view)
            print("swarmtui: nothing was rotated.", file=sys.stderr)
            return ExitCode.FAILURE

    report = service.respond_to_leak(start.since, expected=view)
    from swarmtui.tui.run import cli_command

    notice = rotation_notice(report, cli_command(args))
    if args.json:
        print(notice, file=sys.stderr)
        print(render_json(report, start))
    else:
        print_change(notice)
        print(nodes_summary(report, docker_cli=service.backend.docker_cli))
        if args.since is None:
            print(f"The start time is {start.source}; --since TIME picks another.")
        if report.nodes:
            print()
            print(render_nodes(report.nodes))
    return ExitCode.FAILURE if report.nodes_error else ExitCode.OK
