"""`swarmtui --demo demo-join`: join a new node to the demo swarm with a token.

The token is read from standard input, as in `check-token`. A token that
the demo swarm rejects fails with the reason a real manager gives, so a
rotation can be proven on the demo swarm as it is on a real one.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from swarmtui.backends.demo import HOSTNAME_PATTERN
from swarmtui.cli import HelpFormatter
from swarmtui.cli.check_token import InputError, read_token
from swarmtui.errors import ExitCode
from swarmtui.service import TokenService
from swarmtui.text import quoted
from swarmtui.timetext import format_utc
from swarmtui.tokens import redact

NAME = "demo-join"

EPILOG = """\
exit codes:
  0  the node joined
  1  the engine is not the demo swarm: add --demo
  7  the demo state file cannot be read or written
  9  the demo swarm rejected the join: a malformed, empty, old or another
     swarm's token, or an --address that a demo node has already
  12 standard input is not UTF-8 text or longer than 65536 characters
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
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--hostname",
        required=True,
        type=hostname_argument,
        help="hostname of the new node: letters, digits, dots and dashes, at "
        "most 63 characters",
    )
    parser.add_argument(
        "--address",
        default=None,
        type=address_argument,
        help="IPv4 or IPv6 address of the new node, without a port (default: "
        "the next free one in 192.0.2.0/24, a range reserved for documentation)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the new node as one JSON object"
    )
    return NAME


def hostname_argument(text: str) -> str:
    """Check --hostname; argparse turns the error into exit code 2."""
    if not HOSTNAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"invalid hostname {quoted(redact(text)[:80])}: use 1 to 63 letters, "
            "digits, dots and dashes, starting with a letter or digit"
        )
    return text


def address_argument(text: str) -> str:
    """Check --address: one IPv4 or IPv6 address, written in its usual form."""
    if not text:
        raise argparse.ArgumentTypeError(
            "the address is empty: give an IPv4 or IPv6 address, or leave "
            "--address out to use the next free one"
        )
    # Redacted before it is cut, so that a token cut short keeps no secret.
    quoted_address = quoted(redact(text)[:80])
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid address {quoted_address}: give an IPv4 or IPv6 address without "
            "a port, such as 192.0.2.50"
        ) from None
    if address.is_unspecified or address.is_multicast:
        raise argparse.ArgumentTypeError(
            f"invalid address {quoted_address}: a node needs a unicast address"
        )
    return str(address)


def run(args: argparse.Namespace, service: TokenService) -> int:
    backend = service.joinable_backend()
    try:
        token = read_token()
    except InputError as error:
        print(f"swarmtui: {error.title_in_sentence}: {error}", file=sys.stderr)
        return error.exit_code
    # An address that a node has, the manager's join address too, is a
    # rejected join (exit 9), as the demo swarm checks it.
    node = service.try_join(token, args.hostname, args.address or "")
    if args.json:
        document = {
            "id": node.id,
            "hostname": node.hostname,
            "role": str(node.role),
            "address": node.address,
            "created_at": format_utc(node.created_at) if node.created_at else None,
            "endpoint": backend.endpoint,
        }
        print(json.dumps(document, indent=2))
    else:
        print(
            f"Node {node.hostname} ({node.id}) joined the demo swarm as a "
            f"{node.role}, at {node.address}."
        )
    return ExitCode.OK
