"""Where the join window file lives, and the check that the audit file is no other file.

The audit record appends JSON lines, while the join window file, the token
history, the demo state file and the config file are each one document
that swarmtui replaces or reads whole. When the audit file is one of them,
each damages the other's data, so every command that writes the audit
record checks this before it reads an engine or writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from swarmtui.errors import FileClashError

WINDOWS_FILE_ENV = "SWARMTUI_WINDOWS_FILE"
WINDOWS_FILE_NAME = "join-windows.json"


def default_windows_path(environment: Mapping[str, str] | None = None) -> Path:
    """Return $SWARMTUI_WINDOWS_FILE, else join-windows.json in the state folder."""
    environment = os.environ if environment is None else environment
    override = environment.get(WINDOWS_FILE_ENV)
    if override:
        # Path() drops a trailing slash, which names a folder, as it does
        # for SWARMTUI_AUDIT_FILE.
        if override.endswith("/"):
            return Path(override).expanduser() / WINDOWS_FILE_NAME
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_state_path("swarmtui") / WINDOWS_FILE_NAME


def same_file(first: Path, second: Path) -> bool:
    """Return whether two paths name one file, through symbolic or hard links.

    A path that does not exist yet is compared by its resolved form, which
    is where it would be created.
    """
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet, or cannot be reached
        return False


def check_files_apart(
    config_path: Path | None = None, demo_state: Path | None = None
) -> None:
    """Raise FileClashError when the audit file is another file of swarmtui.

    `config_path` is the config file given with --config, which may name
    the audit file, and `demo_state` the demo state file of a --demo run.
    """
    from swarmtui.audit import default_audit_location
    from swarmtui.config import default_config_path
    from swarmtui.history import default_history_path

    audit_path, origin = default_audit_location(config_path=config_path)
    from_environment = bool(os.environ.get(WINDOWS_FILE_ENV))
    others: list[tuple[str, Path, str]] = [
        (
            "join window file",
            default_windows_path(),
            WINDOWS_FILE_ENV if from_environment else "",
        ),
        ("token history", default_history_path(), ""),
        (
            "config file",
            config_path or default_config_path(),
            "--config" if config_path else "",
        ),
    ]
    if demo_state is not None:
        others.append(("demo state file", demo_state, "--demo-state"))
    for name, path, setting in others:
        if same_file(path, audit_path):
            raise _clash(name, path, setting, audit_path, origin.setting)


def _clash(
    name: str, path: Path, setting: str, audit_path: Path, audit_setting: str
) -> FileClashError:
    settings = [item for item in (setting, audit_setting) if item]
    return FileClashError(
        f"The {name} {path} (from {setting or 'the default path'}) and the "
        f"audit file {audit_path} (from {audit_setting or 'the default path'}) "
        f"are the same file, {os.path.realpath(path)}, where each would damage "
        "the other's data. Nothing was written.",
        f"The two files must differ, so change {' or '.join(settings)}.",
    )
