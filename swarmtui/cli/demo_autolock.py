"""`swarmtui --demo demo-autolock on|off`: turn autolock on the demo swarm on or off.

It changes the swarm as `docker swarm update --autolock=true|false` does, so
that the console's unlock key pane can be shown without a real engine.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import HelpFormatter
from swarmtui.errors import ExitCode, SwarmTuiError, UnsupportedError
from swarmtui.service import TokenService

NAME = "demo-autolock"
# Read-and-update rounds before a change by another process is reported.
ATTEMPTS = 3
EPILOG = f"""\
exit codes:
  0  autolock on the demo swarm is on or off, as requested
  1  the engine is not the demo swarm: add --demo
  6  other processes changed the demo swarm in each of {ATTEMPTS} attempts
  7  the demo state file cannot be read or written
"""


class AutolockConflictError(SwarmTuiError):
    """Other processes changed the demo swarm in each read-and-update round."""

    title = "Conflict with another change"
    exit_code = ExitCode.CONFLICT


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="turn autolock on the demo swarm on or off",
        description="Turn autolock on the demo swarm (--demo) on or off, as "
        "'docker swarm update --autolock=true|false' does on a real swarm. "
        "With autolock on, the console shows the unlock key pane (keys u, y "
        "and U). The key itself is not printed.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("state", choices=["on", "off"], help="on or off")
    return NAME


def run(args: argparse.Namespace, service: TokenService) -> int:
    backend = service.backend
    if not isinstance(backend, DemoBackend):
        raise UnsupportedError(
            f"Only the demo swarm is changed by {NAME}; {backend.endpoint} is a "
            "real engine.",
            "Add --demo, or run 'docker swarm update --autolock=true' on a "
            "manager of the real swarm.",
        )
    requested = args.state == "on"
    for _ in range(ATTEMPTS):
        snapshot = backend.inspect_swarm()
        spec = copy.deepcopy(snapshot.spec)
        encryption = spec.get("EncryptionConfig")
        if not isinstance(encryption, dict):
            encryption = spec["EncryptionConfig"] = {}
        if bool(encryption.get("AutoLockManagers")) == requested:
            print(f"Autolock on the demo swarm is already {args.state}.")
            return ExitCode.OK
        encryption["AutoLockManagers"] = requested
        try:
            backend.update_swarm(snapshot.version, spec)
        except UpdateOutOfSequence:
            continue
        break
    else:
        raise AutolockConflictError(
            f"The demo swarm changed {ATTEMPTS} times while autolock was being "
            "set, so it was left as it is.",
            f"Run '{NAME} {args.state}' again.",
        )
    if requested:
        print(
            "Autolock on the demo swarm is now on. The console shows the "
            "unlock key pane: u reveals the key, y copies it, U rotates it."
        )
    else:
        print("Autolock on the demo swarm is now off.")
    return ExitCode.OK
