"""`swarmtui --demo demo-reset`: a new demo swarm, after a backup of the old one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from swarmtui.backends.demo import DemoBackend, display_path
from swarmtui.cli import HelpFormatter
from swarmtui.errors import ExitCode, UnsupportedError
from swarmtui.service import TokenService
from swarmtui.tokens import redact

NAME = "demo-reset"
EPILOG = """\
exit codes:
  0  a new demo swarm was started
  1  the engine is not the demo swarm: add --demo
  7  the demo state file or its backup cannot be read or written, or the
     path is not a regular file (such as a folder or a device)
"""


def add_parser(subparsers: Any) -> str:
    subparsers.add_parser(
        NAME,
        help="replace the demo swarm with a new one, backing up its state file",
        description="Replace the demo swarm (--demo) with a new one. The old "
        "state file, even a broken one, is first copied to "
        "<file>.bak-<UTC time> with mode 0600. A file that cannot be read (over "
        "1 MiB, or without read permission) is renamed to that name instead. A "
        "path that is not a regular file (a folder, a FIFO, a device, or a link "
        "to one) is left as it is, and nothing is reset. With --demo-seed, the "
        "new swarm is made from that seed.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    return NAME


def run(args: argparse.Namespace, service: TokenService) -> int:
    backend = service.backend
    if not isinstance(backend, DemoBackend):
        raise UnsupportedError(
            f"Only the demo swarm can be reset; {backend.endpoint} is a real engine.",
            "Add --demo.",
        )
    backup = backend.reset()
    if backup is not None:
        print(
            redact(f"Backed up the old demo swarm to {display_path(backup)}."),
            file=sys.stderr,
        )
    print(redact(f"Started a new demo swarm in {display_path(backend.path)}."))
    return ExitCode.OK
