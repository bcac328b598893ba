"""User settings: one optional TOML file, read with tomllib, written with tomli_w.

Every setting has a default, so a missing file is the same as an empty one.
A file that cannot be used raises ConfigError naming the file, the line and
the key. Callers then run on the file's valid settings and the defaults of
the others, and leave the file untouched.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import shutil
import tomllib
from collections.abc import Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmtui.atomicfile import (
    FileRejected,
    explain_file_error,
    home_expanded,
    open_regular_file,
    read_private_file,
    special_file_type,
    write_atomic,
)
from swarmtui.errors import ConfigError, PathSettingError
from swarmtui.tokens import redact

CLIPBOARD_METHODS = ("osc52", "local", "both", "off")
MIN_POLL_INTERVAL = 1.0
MAX_POLL_INTERVAL = 3600.0
MIN_TIMEOUT = 0.1
MAX_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class Settings:
    """The console's and the CLI's settings, each with its default."""

    poll_interval: float = 10.0
    """Seconds between two reads of the swarm in the console."""

    confirm_worker_rotation: bool = False
    """Confirm worker rotations too (manager rotations are always confirmed)."""

    mask_tokens: bool = True
    """Show tokens masked until revealed; reveal stays per pane and temporary."""

    clipboard: str = "both"
    """Clipboard method for copies: osc52, local, both or off."""

    theme: str = "textual-dark"
    """Name of the Textual theme of the console."""

    timeout: float = 10.0
    """Seconds each engine call may take; --timeout overrides it."""

    audit_file: str = ""
    """Path of the audit record; empty means audit.jsonl in the state folder.

    A relative path is relative to the config file's folder.
    SWARMTUI_AUDIT_FILE overrides it.
    """


SETTING_NAMES = tuple(item.name for item in fields(Settings))


def default_config_path() -> Path:
    """Return the config file path in the platform's config folder."""
    import platformdirs

    return platformdirs.user_config_path("swarmtui") / "config.toml"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def validate(values: dict[str, Any]) -> Settings:
    """Build Settings from parsed TOML values, raising ConfigError on bad ones.

    The raised error has the first bad setting's message and key, and every
    bad setting in `problems`. It names no file, because `load_settings` adds
    the path and lines.
    """
    checked: dict[str, Any] = {}
    problems: list[ConfigError] = []
    for key, value in values.items():
        if key not in SETTING_NAMES:
            problems.append(
                ConfigError(
                    f"Unknown setting {key!r}.",
                    "Known settings: " + ", ".join(SETTING_NAMES) + ".",
                    key=key,
                )
            )
            continue
        try:
            checked[key] = _check_value(key, value)
        except ConfigError as error:
            problems.append(error)
    if problems:
        first = problems[0]
        raise ConfigError(
            first.message, first.hint, key=first.key, problems=tuple(problems)
        )
    return Settings(**checked)


def toml_text(value: Any) -> str:
    """Write a parsed TOML value the way it is spelled in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "(a table)"
    if isinstance(value, list):
        return "(an array)"
    return str(value)


def _check_value(key: str, value: Any) -> Any:
    if key == "poll_interval":
        number = _number(value)
        if number is None or not MIN_POLL_INTERVAL <= number <= MAX_POLL_INTERVAL:
            raise ConfigError(
                f"Invalid poll_interval {toml_text(value)}.",
                f"Use a number of seconds from {MIN_POLL_INTERVAL:g} to "
                f"{MAX_POLL_INTERVAL:g}.",
                key=key,
            )
        return number
    if key == "timeout":
        number = _number(value)
        if number is None or not MIN_TIMEOUT <= number <= MAX_TIMEOUT:
            raise ConfigError(
                f"Invalid timeout {toml_text(value)}.",
                f"Use a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}.",
                key=key,
            )
        return number
    if key in ("confirm_worker_rotation", "mask_tokens"):
        if not isinstance(value, bool):
            raise ConfigError(
                f"Invalid {key} {toml_text(value)}.", "Use true or false.", key=key
            )
        return value
    if key == "clipboard":
        if value not in CLIPBOARD_METHODS:
            raise ConfigError(
                f"Invalid clipboard {toml_text(value)}.",
                "Use one of: " + ", ".join(CLIPBOARD_METHODS) + ".",
                key=key,
            )
        return value
    if key == "theme":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"Invalid theme {toml_text(value)}.",
                "Use the name of a Textual theme, such as textual-dark.",
                key=key,
            )
        return value
    if key == "audit_file":
        if isinstance(value, str) and "\0" in value:
            raise ConfigError(
                f"Invalid audit_file {toml_text(value)}: a path cannot contain "
                "a NUL character (\\u0000).",
                "Remove it from the path, or use an empty string for the default.",
                key=key,
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"Invalid audit_file {toml_text(value)}.",
                "Use a file path in quotes, or an empty string for the default.",
                key=key,
            )
        try:
            home_expanded(value, "audit_file")
        except PathSettingError as error:
            raise ConfigError(
                f"Invalid audit_file {toml_text(value)}: its ~ names no home "
                "folder on this machine.",
                error.hint,
                key=key,
            ) from None
        return value
    raise AssertionError(f"no check for setting {key}")


def find_key_line(text: str, key: str) -> int | None:
    """Return the 1-based line where `key` is set in TOML text, if any.

    That is an assignment (``key = ...``), a dotted key (``key.sub = ...``)
    or a table header (``[key]``, ``[key.sub]``, ``[[key]]``).
    """
    name = rf"[\"']?{re.escape(key)}[\"']?"
    pattern = re.compile(rf"^\s*(?:{name}\s*[=.]|\[\[?\s*{name}\s*[\].])")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def read_config_text(path: Path) -> str:
    """Read the config file as UTF-8 text, skipping a byte order mark at its start.

    Some Windows editors write one, and tomllib rejects it as an
    invalid statement.
    """
    return read_private_file(path).removeprefix(codecs.BOM_UTF8).decode("utf-8")


def setting_location(path: Path, key: str) -> str:
    """Return "the config file PATH, line N" for where `key` is set, if readable."""
    try:
        text = read_config_text(path)
    except (OSError, FileRejected, UnicodeDecodeError):
        return f"the config file {path}"
    line = find_key_line(text, key)
    where = f", line {line}" if line else ""
    return f"the config file {path}{where}"


def salvage_settings(path: Path) -> Settings:
    """Return the settings of a broken config file, keeping every valid value.

    Values that are invalid, unknown or unreadable fall back to their
    defaults. When the file is not valid TOML, each top-level ``key = value``
    line before the first table is parsed on its own.
    """
    return Settings(**_salvaged_values(path))


def _salvaged_values(path: Path) -> dict[str, Any]:
    """Return the valid settings of a broken config file, keyed by name."""
    try:
        text = read_config_text(path)
    except (OSError, FileRejected, UnicodeDecodeError):
        return {}
    return _salvage_text(text)


def _salvage_text(text: str) -> dict[str, Any]:
    """Return the valid settings of a config file's `text`, as `salvage_settings`."""
    try:
        values = tomllib.loads(text)
    except (ValueError, RecursionError):
        values = {}
        for line in text.splitlines():
            if line.lstrip().startswith("["):
                break
            try:
                values.update(tomllib.loads(line))
            except (ValueError, RecursionError):
                continue
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SETTING_NAMES:
            continue
        try:
            kept[key] = _check_value(key, value)
        except ConfigError:
            continue
    return kept


_TOML_LINE = re.compile(r"at line (\d+)")


def load_settings(path: Path) -> Settings:
    """Read settings from `path`; a missing file gives the defaults.

    Raises ConfigError with the path, and the line and key where they are
    known, when the file cannot be read, is not valid TOML or has a bad value.
    """
    try:
        data = read_private_file(path).removeprefix(codecs.BOM_UTF8)
        text = data.decode("utf-8")
    except FileNotFoundError:
        return Settings()
    except FileRejected as error:
        raise _rejected_file_error(path, error) from None
    except UnicodeDecodeError as error:
        bad_line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"The config file {path}, line {bad_line} is not UTF-8 text.",
            "Save the file as UTF-8, or remove it to use the defaults.",
            path=str(path),
            line=bad_line,
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ConfigError(
                f"The config file {path} could not be read because it is a loop of "
                "symbolic links (too many levels of symbolic links).",
                f"Point {path} at a regular file, or remove it to use the defaults.",
                path=str(path),
            ) from None
        cause, fix = explain_file_error(error, path)
        raise ConfigError(
            f"The config file {path} could not be read ({cause}).",
            fix,
            path=str(path),
        ) from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_LINE.search(str(error))
        line = int(found.group(1)) if found else None
        if line is None and "end of document" in str(error):
            # tomllib names no line for an error at the end of the file.
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        where = f", line {line}" if line else ""
        raise ConfigError(
            f"The config file {path}{where} is not valid TOML: {error}.",
            "Fix the file, or remove it to use the defaults.",
            path=str(path),
            line=line,
        ) from None
    except (ValueError, RecursionError):
        # tomllib raises these, not TOMLDecodeError, for an integer too long
        # to convert and for arrays or tables nested too deeply.
        raise ConfigError(
            f"The config file {path} has a number too long or nesting too "
            "deep to read.",
            "Fix the file, or remove it to use the defaults.",
            path=str(path),
        ) from None
    try:
        return validate(values)
    except ConfigError as error:
        line = find_key_line(text, error.key) if error.key else None
        if len(error.problems) > 1:
            raise _several_problems(path, text, error.problems, line) from None
        where = f", line {line}" if line else ""
        raise ConfigError(
            f"The config file {path}{where}: {error.message}",
            error.hint,
            path=str(path),
            line=line,
            key=error.key,
            problems=error.problems,
        ) from None


def _rejected_file_error(path: Path, error: FileRejected) -> ConfigError:
    """Return the error for a config file that `read_private_file` rejected.

    The next step names --config unless the path is the default one. It never
    suggests removing a folder or a device such as /dev/null.
    """
    chosen = path != default_config_path()
    named = f"{path} (from --config)" if chosen else str(path)
    file_type = special_file_type(path)
    if file_type is None:
        problem = str(error)
        fix = "Fix the file, or choose another config file with --config."
    else:
        problem = f"it is {file_type}, not a regular file"
        fix = "Choose another config file with --config."
    if chosen:
        fix = "Give --config the path of a TOML file, or leave --config out."
    return ConfigError(
        f"The config file {named} cannot be used: {problem}.", fix, path=str(path)
    )


def load_usable_settings(path: Path) -> tuple[Settings, ConfigError | None]:
    """Return the settings to run on, and the error that made some fall back.

    A file that parses keeps its valid settings, and only its invalid or
    unknown ones fall back to their defaults. A file that cannot be read or
    is not valid TOML gives every default. Pass the error to `fallback_note`
    to say which.
    """
    try:
        return load_settings(path), None
    except ConfigError as error:
        if not error.problems:
            return Settings(), error
        valid_values = _salvaged_values(path)
        error.kept_keys = tuple(valid_values)
        return Settings(**valid_values), error


def fallback_note(
    error: ConfigError,
    audit_path: Path,
    unusable: Collection[str] = (),
    options: Mapping[str, str] | None = None,
) -> str:
    """Return the sentences that name the settings using their defaults after `error`.

    `error` comes from `load_usable_settings`. `audit_path` is the audit file
    in use, named when the `audit_file` setting was not used. `unusable`
    names valid settings that the caller cannot apply, such as a theme that
    Textual does not know, which are then not listed as applying. `options`
    maps the settings that command-line options replace to those options as
    typed, such as {"timeout": "--timeout 0.5"}.
    """
    options = options or {}
    defaults = settings_to_toml(Settings())
    where_audit = f" The audit record goes to {audit_path}."
    if not error.problems:
        return "Using the default settings." + where_audit
    invalid = [item.key for item in error.problems if item.key in SETTING_NAMES]
    replaced = [key for key in invalid if key in options]
    invalid = [key for key in invalid if key not in options]
    unknown = [
        repr(item.key)
        for item in error.problems
        if item.key and item.key not in SETTING_NAMES
    ]
    sentences = []
    if invalid:
        values = [f"{key} = {toml_text(defaults[key])}" for key in invalid]
        noun = "default" if len(values) == 1 else "defaults"
        sentences.append(f"Using the {noun} {_and_list(values)}.")
    if replaced:
        typed = _and_list([options[key] for key in replaced])
        sentences.append(f"{typed} on the command line applies instead.")
    if unknown:
        noun = "setting" if len(unknown) == 1 else "settings"
        sentences.append(f"Ignoring the unknown {noun} {_and_list(unknown)}.")
    applying = [key for key in error.kept_keys if key not in unusable]
    if applying:
        sentences.append(f"The file's other settings apply: {_and_list(applying)}.")
    elif error.kept_keys:
        sentences.append("No other setting of the file applies.")
    else:
        sentences.append("The file sets no other setting.")
    if "audit_file" in invalid:
        sentences.append(where_audit.strip())
    # An unknown key is quoted as written, and may be a pasted token.
    return redact(" ".join(sentences))


def _and_list(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _several_problems(
    path: Path, text: str, problems: tuple[ConfigError, ...], first_line: int | None
) -> ConfigError:
    """Return one error that lists each bad setting with its line and hint.

    `first_line` is the line of the first problem, which the error carries.
    """
    parts = []
    for problem in problems:
        line = find_key_line(text, problem.key) if problem.key else None
        where = f"line {line}: " if line else ""
        parts.append(f"{where}{problem.message} {problem.hint}")
    unknown = sum(1 for problem in problems if problem.key not in SETTING_NAMES)
    if unknown == len(problems):
        kind = "unknown"
    elif unknown:
        kind = "invalid or unknown"
    else:
        kind = "invalid"
    return ConfigError(
        f"The config file {path} has {len(problems)} {kind} settings:\n  "
        + "\n  ".join(parts)
        + "\n",
        "Fix them, or remove the file to use the defaults.",
        path=str(path),
        line=first_line,
        key=problems[0].key,
        problems=problems,
    )


def settings_to_toml(settings: Settings) -> dict[str, Any]:
    """Return the values to write; a whole number of seconds is written as an int.

    So a saved file reads `poll_interval = 10`, not `10.0`; `validate`
    accepts both forms.
    """
    values = asdict(settings)
    for key, value in values.items():
        if isinstance(value, float) and value.is_integer():
            values[key] = int(value)
    return values


def save_settings(path: Path, settings: Settings) -> None:
    """Write `settings` to `path` atomically: temporary file, fsync, replace.

    A symbolic link at `path` is kept and its target is replaced.
    """
    import tomli_w

    data = tomli_w.dumps(settings_to_toml(settings)).encode("utf-8")
    try:
        Path(os.path.realpath(path)).parent.mkdir(
            parents=True, exist_ok=True, mode=0o700
        )
        write_atomic(path, data)
    except OSError as error:
        cause, fix = explain_file_error(error, path)
        raise ConfigError(
            f"The config file {path} could not be written ({cause}).",
            fix,
            path=str(path),
        ) from None


def save_shown_settings(
    path: Path, shown: Settings, keys: Iterable[str], now: datetime | None = None
) -> tuple[Settings, Path | None]:
    """Write the `keys` of `shown` into the config file as it is now.

    The file is read again, so every other setting keeps the file's current
    value, also after an edit made since the file was loaded. When the new
    file would lose part of the current text (comments, layout, an invalid
    or unknown setting), the file is first copied with `back_up`. Return
    the settings written and the backup's path, or None without a backup.
    """
    text: str | None = None
    try:
        text = read_config_text(path)
    except FileNotFoundError:
        pass
    except (OSError, FileRejected, UnicodeDecodeError) as error:
        # The settings that the screen does not show cannot be read from such
        # a file, so writing it anew would reset them.
        raise _unreadable_on_save(path, error) from None
    current = Settings(**_salvage_text(text)) if text is not None else Settings()
    chosen = set(keys)
    file_values = {
        name: getattr(current, name) for name in SETTING_NAMES if name not in chosen
    }
    settings = replace(shown, **file_values)
    backup = None
    if text is not None and _rewrite_loses_text(text):
        backup = back_up(path, now)
    save_settings(path, settings)
    return settings, backup


def unreadable_cause(path: Path) -> str:
    """Return why the config file cannot be read as text, or "" when it can."""
    try:
        read_config_text(path)
    except FileNotFoundError:
        return ""
    except (OSError, FileRejected, UnicodeDecodeError) as error:
        return _unreadable_cause(path, error)[0]
    return ""


def _unreadable_cause(
    path: Path, error: OSError | FileRejected | UnicodeDecodeError
) -> tuple[str, str]:
    """Return why the config file cannot be read, and how to fix that."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text", f"Fix or move {path}, then save again."
    if isinstance(error, FileRejected):
        return str(error), f"Fix or move {path}, then save again."
    return explain_file_error(error, path)


def _unreadable_on_save(
    path: Path, error: OSError | FileRejected | UnicodeDecodeError
) -> ConfigError:
    """Return the error for a config file that a save cannot read first."""
    cause, fix = _unreadable_cause(path, error)
    return ConfigError(
        f"The config file {path} cannot be read ({cause}), so the settings were "
        "not saved over it.",
        fix,
        path=str(path),
    )


def _rewrite_loses_text(text: str) -> bool:
    """Return whether writing a config file anew would lose part of `text`.

    tomli_w writes no comments and a layout of its own, so a text that
    differs from what it writes for the text's own values would lose
    something. So would a text that is not valid TOML or has a setting
    that is invalid or unknown.
    """
    import tomli_w

    try:
        values = tomllib.loads(text)
        validate(values)
    except (ConfigError, ValueError, RecursionError):
        return True
    return bool(tomli_w.dumps(values) != text)


def back_up(path: Path, now: datetime | None = None) -> Path | None:
    """Copy `path` next to itself with a timestamp suffix; return the copy's path.

    Only a regular file is copied: a link to a device such as /dev/zero would
    otherwise fill the disk, and saving over it would replace the device.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    try:
        source = open_regular_file(Path(os.path.realpath(path)), os.O_RDONLY)
    except FileNotFoundError:
        return None
    except FileRejected:
        raise ConfigError(
            f"The config file {path} is not a regular file, so the settings "
            "were not saved over it.",
            "Start the console with --config naming a regular file.",
            path=str(path),
        ) from None
    except OSError as error:
        raise _backup_error(path, backup, error) from None
    created = False
    try:
        with os.fdopen(source, "rb") as reader:
            target, backup = _new_backup(path, stamp)
            created = True
            with os.fdopen(target, "wb") as writer:
                shutil.copyfileobj(reader, writer)
                writer.flush()
                os.fsync(writer.fileno())
    except OSError as error:
        if created:
            # A partial copy, as on a full disk, would pass for a backup.
            with suppress(OSError):
                backup.unlink()
        raise _backup_error(path, backup, error) from None
    return backup


# Backups of one file within one second get the suffixes -1 to -99.
MAX_BACKUPS_PER_SECOND = 100


def _new_backup(path: Path, stamp: str) -> tuple[int, Path]:
    """Create a backup file of `path` that no earlier backup has the name of.

    Return its descriptor and path. Two saves within one second get
    `<file>.<stamp>.bak` and `<file>.<stamp>-1.bak`.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for number in range(MAX_BACKUPS_PER_SECOND):
        suffix = f"-{number}" if number else ""
        backup = path.with_name(f"{path.name}.{stamp}{suffix}.bak")
        try:
            return os.open(backup, flags, 0o600), backup
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "file exists", str(backup))


def _backup_error(path: Path, backup: Path, error: OSError) -> ConfigError:
    cause, fix = explain_file_error(error, backup)
    return ConfigError(
        f"The config file {path} could not be backed up to {backup} ({cause}), "
        "so the settings were not saved.",
        fix,
        path=str(path),
    )


def with_changes(settings: Settings, **changes: Any) -> Settings:
    """Return a copy of `settings` with `changes` validated and applied."""
    merged = {**asdict(settings), **changes}
    return replace(settings, **asdict(validate(merged)))
