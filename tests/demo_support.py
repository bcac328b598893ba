"""Helpers for the demo swarm tests: a clock set by hand and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from swarmtui.backends.demo import DemoBackend

FIXED_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# Variables that would point the CLI at an engine or at the user's own files.
_ISOLATED_VARIABLES = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_CONFIG",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
)


class Clock:
    """A clock that tests move by hand."""

    def __init__(self, start: datetime = FIXED_NOW) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> datetime:
        self.value += timedelta(**delta)
        return self.value


def make_demo(
    path: Path, seed: int | None = 1, clock: Clock | None = None
) -> DemoBackend:
    return DemoBackend(path=path, seed=seed, now=clock or Clock())


def cli_environment(home: Path, **extra: str) -> dict[str, str]:
    """Return an environment whose data, state and config folders are under `home`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in _ISOLATED_VARIABLES
    }
    environment.update(
        {
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
        }
    )
    environment.update(extra)
    return environment


def run_cli(
    *arguments: str,
    stdin: str = "",
    home: Path,
    environment: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m swarmtui` with `stdin` as input and no controlling terminal.

    The process starts in a new session, so it cannot open /dev/tty: that is
    how a script or a CI job runs it.
    """
    env = cli_environment(home)
    if environment:
        env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "swarmtui", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        start_new_session=True,
    )
