"""`swarmtui --demo demo-join`: join a new node to the demo swarm with a token.

The token is read from standard input, as in `check-token`. A token that
the demo swarm rejects fails with the reason a real manager gives, so a
rotation can be proven on the demo swarm as it is on a real one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from swarmtui.backends.base import JoinableBackend
from swarmtui.cli.check_token import InputError, read_token
from swarmtui.errors import ExitCode, UnsupportedError
from swarmtui.service import TokenService

NAME = "demo-join"

EPILOG = """\
exit codes:
  0  the node joined
  7  the demo state file cannot be read or written
  9  the demo swarm rejected the token: malformed, old, or another swarm's
  12 standard input is not one token
"""


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="join a new node to the demo swarm with a token read from stdin",
        description="Join a new node to the demo swarm (--demo) with the token "
        "read from standard input. The current worker or manager token adds a "
        "node with that role; any other token is rejected with the reason a "
        "real swarm manager gives.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--hostname", required=True, help="hostname of the new node")
    parser.add_argument(
        "--address",
        default="",
        help="IP address of the new node (default: the next free one in "
        "192.0.2.0/24, a range reserved for documentation)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the new node as one JSON object"
    )
    return NAME


def run(args: argparse.Namespace, service: TokenService) -> int:
    backend = service.backend
    if not isinstance(backend, JoinableBackend):
        raise UnsupportedError(
            f"Only the demo swarm can simulate a join; {backend.endpoint} is a "
            "real engine.",
            "Add --demo, or join a real node with 'docker swarm join'.",
        )
    try:
        token = read_token()
    except InputError as error:
        print(f"swarmtui: {error.title.lower()}: {error}", file=sys.stderr)
        return error.exit_code
    node = backend.join(token, args.hostname, args.address)
    service.record("demo-join", roles=[node.role], node_id=node.id)
    if args.json:
        document = {
            "id": node.id,
            "hostname": node.hostname,
            "role": str(node.role),
            "address": node.address,
            "created_at": node.created_at.isoformat() if node.created_at else None,
            "endpoint": backend.endpoint,
        }
        print(json.dumps(document, indent=2))
    else:
        print(
            f"Node {node.hostname} ({node.id}) joined the demo swarm as a "
            f"{node.role}, at {node.address}."
        )
    return ExitCode.OK
