"""The built wheel carries every module and the stylesheet, and its console runs."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_tui_run import read_until

import swarmtui

REPOSITORY = Path(swarmtui.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project's wheel with pip, as a user installing it would.

    The build runs on a copy of the sources, because setuptools leaves a
    build/ folder next to them, and a stale one would end up in a later wheel.
    """
    sources = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("swarmtui", "styles"):
        shutil.copytree(REPOSITORY / name, sources / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPOSITORY / name, sources / name)
    folder = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(folder),
            str(sources),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    wheels = list(folder.glob("swarmtui-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def source_files() -> dict[str, bytes]:
    """Map each module and stylesheet of the repository to its path in the wheel."""
    files = {
        str(path.relative_to(REPOSITORY)): path.read_bytes()
        for path in (REPOSITORY / "swarmtui").rglob("*.py")
    }
    for path in (REPOSITORY / "styles").iterdir():
        if path.suffix in {".py", ".tcss"}:
            files[f"swarmtui/styles/{path.name}"] = path.read_bytes()
    return files


def test_wheel_ships_modules_and_stylesheet(wheel: Path) -> None:
    expected = source_files()
    assert "swarmtui/styles/app.tcss" in expected
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("swarmtui/")
        }
    missing = sorted(set(expected) - set(shipped))
    assert missing == []
    changed = sorted(name for name in expected if shipped[name] != expected[name])
    assert changed == []


def test_installed_wheel_console_starts(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert install.returncode == 0, install.stderr
    # The installed copy comes first on the path, ahead of the repository's
    # editable install, and the console starts outside the repository.
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(target),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import swarmtui.styles; print(swarmtui.styles.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(target)

    script = target / "bin" / "swarmtui"
    command = [
        str(script),
        "--demo",
        "--demo-state",
        str(tmp_path / "demo.toml"),
    ]
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(tmp_path)
        os.execve(command[0], command, environment)
    try:
        screen = read_until(fd, lambda output: b"Manager token" in output, 60)
        os.kill(pid, signal.SIGTERM)
        read_until(fd, lambda output: False, 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)

    assert b"Worker token" in screen
    assert b"Manager token" in screen
    assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGTERM
