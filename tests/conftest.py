"""Shared pytest fixtures; the engine fixtures live in engine_fixtures.py."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_fixtures import daemons, manager, manager_host, manager_tcp_host
from ssh_fixtures import ssh_server

__all__ = [
    "daemons",
    "isolated_user_folders",
    "manager",
    "manager_host",
    "manager_tcp_host",
    "ssh_server",
]


@pytest.fixture(autouse=True)
def isolated_user_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the config, data and state folders of every test at a fresh folder.

    Without this, the audit record, token history and demo swarm of the
    tests would land in the real user's folders. Subprocesses inherit it.
    """
    root = tmp_path_factory.mktemp("xdg")
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(root / name.lower()))
    monkeypatch.delenv("SWARMTUI_AUDIT_FILE", raising=False)
    return root


@pytest.fixture(autouse=True)
def restored_root_logger() -> Iterator[None]:
    """Put back the root logger's handlers and level after each test.

    The command line adds a handler on stderr each time `main` runs, and a
    test's stderr is a capture that closes with the test. Kept, such
    handlers made every later log record fail to be written, once per test
    that had called `main`.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
