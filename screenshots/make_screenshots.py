"""Drive the real console on the seeded demo swarm and save SVG screenshots.

Run from the repository root: ``python screenshots/make_screenshots.py``.
The demo swarm lives in a temporary HOME, so the endpoint reads
``demo:~/demo.toml`` and the pictures are the same on every machine.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmtui.backends.demo import DemoBackend
from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.service import TokenService
from swarmtui.tui.app import SwarmConsole

OUTPUT = Path(__file__).resolve().parent
SEED = 7
FIXED_NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
MISSING_SOCKET = "unix:///run/swarmtui-missing/docker.sock"

Step = Callable[[Any], Awaitable[None]]


def clock() -> datetime:
    return FIXED_NOW


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def keys(*names: str) -> Step:
    async def press(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press(*names)
        await settle(pilot)

    return press


async def shoot(
    name: str, service: TokenService, size: tuple[int, int], step: Step
) -> Path:
    app = SwarmConsole(service=service, clock=clock, environment={})
    async with app.run_test(size=size) as pilot:
        await step(pilot)
        path = OUTPUT / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(OUTPUT))
    return path


def demo(home: Path) -> TokenService:
    return TokenService(DemoBackend(path=home / "demo.toml", seed=SEED, now=clock))


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="swarmtui-shots-") as folder:
        home = Path(folder)
        os.environ["HOME"] = str(home)
        shots = [
            ("console-100x30", demo(home), (100, 30), settle),
            ("console-revealed", demo(home), (100, 30), keys("w", "v")),
            ("console-manager-confirm", demo(home), (100, 30), keys("m", "r")),
            ("console-80x24", demo(home), (80, 24), settle),
            ("console-help", demo(home), (80, 24), keys("question_mark")),
            (
                "console-unreachable",
                TokenService(
                    EngineBackend(EndpointChoice(host=MISSING_SOCKET, environment={}))
                ),
                (100, 30),
                settle,
            ),
        ]
        for name, service, size, step in shots:
            path = await shoot(name, service, size, step)
            print(path.relative_to(OUTPUT.parent))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
