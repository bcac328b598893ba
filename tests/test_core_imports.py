"""The core never imports Textual, and the CLI imports the docker SDK only on use."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import swarmtui

# Imports each named module in order and prints, as JSON, which of the watched
# packages each import brought into sys.modules first.
PROBE = """
import importlib, json, sys
watched = sys.argv[1].split(",")
culprits = {}
for name in sys.argv[2:]:
    importlib.import_module(name)
    for package in watched:
        if package in sys.modules and package not in culprits:
            culprits[package] = name
print(json.dumps(culprits))
"""


def core_modules() -> list[str]:
    names = [
        module.name
        for module in pkgutil.walk_packages(swarmtui.__path__, "swarmtui.")
        if not module.name.startswith("swarmtui.tui")
        and module.name != "swarmtui.__main__"
    ]
    return sorted(names)


def first_importers(watched: list[str], modules: list[str]) -> dict[str, str]:
    """Return, for each watched package imported, the module that imported it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(watched), *modules],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_core_module_list_is_complete() -> None:
    modules = core_modules()

    for expected in (
        "swarmtui.tokens",
        "swarmtui.service",
        "swarmtui.backends.engine",
        "swarmtui.endpoint",
        "swarmtui.cli",
        "swarmtui.cli.join_token",
    ):
        assert expected in modules


def test_core_does_not_import_textual() -> None:
    importers = first_importers(["textual"], core_modules())

    assert "textual" not in importers, importers


def test_probe_detects_textual() -> None:
    importers = first_importers(["textual"], ["swarmtui.tokens", "textual.app"])

    assert importers == {"textual": "textual.app"}


def test_cli_imports_docker_lazily() -> None:
    importers = first_importers(
        ["docker", "requests", "textual"],
        ["swarmtui.cli", "swarmtui.cli.join_token", "swarmtui.service"],
    )

    assert importers == {}


def test_cli_help_skips_docker_sdk() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from swarmtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['join-token', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('docker', 'textual') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_console_defers_dialog_only_modules() -> None:
    importers = first_importers(
        [
            "docker",
            "textual.widgets._data_table",
            "swarmtui.tui.leak",
            "swarmtui.tui.audit_screen",
            "swarmtui.backends.demo",
        ],
        ["swarmtui.cli", "swarmtui.tui.run", "swarmtui.tui.app"],
    )

    assert importers == {}
