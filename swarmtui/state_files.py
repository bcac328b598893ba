"""The join window file's path, and the check that swarmtui's files are apart.

The audit record appends JSON lines, while the join window file, the token
history, the demo state file and the config file are each one document
that swarmtui replaces or reads whole. When two of them are one file, each
damages the other's data. So every command that writes the audit record
checks this before it reads an engine or writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from swarmtui.atomicfile import home_expanded, lock_path_beside
from swarmtui.errors import FileClashError

WINDOWS_FILE_ENV = "SWARMTUI_WINDOWS_FILE"
WINDOWS_FILE_NAME = "join-windows.json"
# The demo state file's name in the user data folder.
DEMO_STATE_FILE_NAME = "demo-swarm.toml"


def default_windows_path(environment: Mapping[str, str] | None = None) -> Path:
    """Return $SWARMTUI_WINDOWS_FILE, else join-windows.json in the state folder."""
    environment = os.environ if environment is None else environment
    override = environment.get(WINDOWS_FILE_ENV)
    if override:
        # Path() drops a trailing slash, which names a folder, as it does
        # for SWARMTUI_AUDIT_FILE.
        path = home_expanded(override, WINDOWS_FILE_ENV)
        if override.endswith("/"):
            return path / WINDOWS_FILE_NAME
        return path
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
    """Raise FileClashError when two of swarmtui's files are one file.

    The files are the audit record, the join window file, the token
    history, the config file and the demo state file. Each must also differ
    from the lock files next to three of them, since a lock file may be
    deleted and contains no data. `config_path` is the file given with --config and
    `demo_state` the one given with --demo-state.
    """
    import platformdirs

    from swarmtui.audit import default_audit_location
    from swarmtui.config import default_config_path
    from swarmtui.history import default_history_path

    audit_path, origin = default_audit_location(config_path=config_path)
    windows_setting = WINDOWS_FILE_ENV if os.environ.get(WINDOWS_FILE_ENV) else ""
    windows_path = default_windows_path()
    history_path = default_history_path()
    default_demo = platformdirs.user_data_path("swarmtui") / DEMO_STATE_FILE_NAME
    audit = ("audit file", audit_path, origin.setting)
    files: list[tuple[str, Path, str]] = [
        ("join window file", windows_path, windows_setting),
        ("token history", history_path, ""),
        (
            "config file",
            config_path or default_config_path(),
            "--config" if config_path else "",
        ),
        (
            "demo state file",
            demo_state or default_demo,
            "--demo-state" if demo_state else "",
        ),
        audit,
    ]
    for index, (name, path, setting) in enumerate(files):
        for other_name, other_path, other_setting in files[index + 1 :]:
            if same_file(path, other_path):
                raise _clash(
                    (name, path, setting), (other_name, other_path, other_setting)
                )
    locks = [
        (f"lock file of the {name}", lock_path_beside(path, suffix), setting)
        for name, path, setting in files
        if name in ("join window file", "token history", "demo state file")
        for suffix in (".lock", ".close.lock")
        if suffix == ".lock" or name == "join window file"
    ]
    for lock in locks:
        for entry in files:
            if same_file(lock[1], entry[1]):
                raise _clash(lock, entry)


def _clash(
    first: tuple[str, Path, str], second: tuple[str, Path, str]
) -> FileClashError:
    name, path, setting = first
    other_name, other_path, other_setting = second
    settings = [item for item in (setting, other_setting) if item]
    if settings:
        hint = f"The two files must differ, so change {' or '.join(settings)}."
    else:
        # Two default paths differ, so a link joins them.
        hint = (
            "A symbolic or hard link makes the two paths one file: replace "
            f"{path} or {other_path} with a file of its own."
        )
    return FileClashError(
        f"The {name} {path} (from {setting or 'the default path'}) and the "
        f"{other_name} {other_path} (from {other_setting or 'the default path'}) "
        f"are the same file, {os.path.realpath(path)}, where each would damage "
        "the other's data. Nothing was written.",
        hint,
    )
