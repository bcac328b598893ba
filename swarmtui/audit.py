"""The audit record: one JSON line per action, appended to a 0600 file.

Each event carries the UTC time, the local user, the SSH client address when
the process runs inside an SSH session, and the fields that the token service
passes (endpoint, cluster id, action, role, result, token fingerprints).
A token or unlock key never reaches the file: every string is redacted to
fingerprints first, and a value that still looks like a token after that is
replaced whole. Each event is one ``write`` on a descriptor opened with
``O_APPEND``, followed by ``fsync``, so concurrent writers do not interleave
lines and an event that was reported written survives a crash. Writers take
a lock on the file for each append, so that one whose write was cut short,
as on a full disk, removes the fragment before another writer appends.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import importlib
import json
import logging
import os
import pwd
import sys
import time
from collections import deque
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableSequence,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from swarmtui.atomicfile import (
    FileRejected,
    explain_file_error,
    home_expanded,
    open_regular_file,
)
from swarmtui.errors import AuditReadError, AuditWriteError
from swarmtui.timetext import format_utc
from swarmtui.tokens import (
    DIGEST_LENGTH,
    SECRET_LENGTH,
    TOKEN_BODY_PATTERN,
    TOKEN_PATTERN,
    redact,
)
from swarmtui.unlock import UNLOCK_KEY_PATTERN, redact_unlock_keys

log = logging.getLogger(__name__)
# Seconds a writer waits for another writer's lock on the audit file.
LOCK_WAIT_SECONDS = 2.0

AUDIT_FILE_ENV = "SWARMTUI_AUDIT_FILE"
AUDIT_FILE_NAME = "audit.jsonl"
REPLACED = "<removed: looked like a secret>"

# Actions after which both or one of the join tokens are new; used to find the
# time a token was issued.
ROTATING_ACTIONS = frozenset(
    {"rotate", "rotate-checked-token", "leak-response", "join-window-close"}
)
# The action of a rotation declined at its confirmation. Its event names the
# declined action in "request", and rotated nothing.
DECLINED_ACTION = "rotation-declined"


@dataclass(frozen=True, slots=True)
class AuditOrigin:
    """The source of the audit file's path, for warnings that name what to change."""

    setting: str = ""
    """The setting that chose the path, such as SWARMTUI_AUDIT_FILE; empty if none."""

    change: str = (
        f"Or set {AUDIT_FILE_ENV}, or audit_file in the config file, to a "
        "writable file."
    )
    """The next step of a warning: how to choose another file."""


DEFAULT_ORIGIN = AuditOrigin()


def audit_file_path(value: str, setting: str = AUDIT_FILE_ENV) -> Path:
    """Return the audit file that a setting names, where a trailing / means a folder.

    Path() drops a trailing slash, which would make the folder's name the
    audit file's name. So audit.jsonl goes inside that folder instead.
    """
    path = home_expanded(value, setting)
    if value.endswith("/"):
        path = path / AUDIT_FILE_NAME
    return path


def default_audit_path(
    environment: Mapping[str, str] | None = None, config_path: Path | None = None
) -> Path:
    """Return the audit file path: $SWARMTUI_AUDIT_FILE, the config, or the default.

    The default is ``audit.jsonl`` in the platform's user state folder
    (``~/.local/state/swarmtui`` on Linux).
    """
    return default_audit_location(environment, config_path)[0]


def default_audit_location(
    environment: Mapping[str, str] | None = None, config_path: Path | None = None
) -> tuple[Path, AuditOrigin]:
    """Return the audit file path, as `default_audit_path` does, and its origin."""
    environment = os.environ if environment is None else environment
    override = environment.get(AUDIT_FILE_ENV)
    if override:
        origin = AuditOrigin(
            AUDIT_FILE_ENV,
            f"Point {AUDIT_FILE_ENV} at a writable file, or unset it to use "
            "the default.",
        )
        return audit_file_path(override), origin
    configured = _configured_audit_path(config_path)
    if configured is not None:
        path, where = configured
        origin = AuditOrigin(
            f"audit_file in {where}",
            f'In {where}, set audit_file to a writable file, or to "" for the '
            f"default. {AUDIT_FILE_ENV} overrides it.",
        )
        return path, origin
    import platformdirs

    return platformdirs.user_state_path("swarmtui") / AUDIT_FILE_NAME, DEFAULT_ORIGIN


def _configured_audit_path(config_path: Path | None = None) -> tuple[Path, str] | None:
    """Return the config file's `audit_file` and where it is set, when it has one.

    The place reads "the config file PATH, line N". A relative `audit_file`
    is relative to the config file's folder, so that runs from any working
    folder append to one record.
    """
    try:
        config = importlib.import_module("swarmtui.config")
    except ImportError:
        return None
    try:
        path = config_path or config.default_config_path()
        # A file with some invalid settings still gives its valid audit_file.
        settings, _error = config.load_usable_settings(path)
        value = getattr(settings, "audit_file", None)
        if not value:
            return None
        where = config.setting_location(path, "audit_file")
    except Exception as error:  # a bad config is reported by whoever loads it
        log.debug("config not read for the audit path: %s", error)
        return None
    audit_path = audit_file_path(str(value), "audit_file")
    if not audit_path.is_absolute():
        audit_path = Path(path).absolute().parent / audit_path
    return audit_path, str(where)


def open_default_audit(
    environment: Mapping[str, str] | None = None, config_path: Path | None = None
) -> AuditLog:
    """Return the AuditLog at the default path; nothing is created until a write."""
    path, origin = default_audit_location(environment, config_path)
    return AuditLog(path, origin=origin)


def ssh_client_address(environment: Mapping[str, str] | None = None) -> str | None:
    """Return the SSH client's address from SSH_CLIENT or SSH_CONNECTION, if any."""
    environment = os.environ if environment is None else environment
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        value = environment.get(name, "").split()
        if value:
            return value[0]
    return None


def _local_user() -> str:
    """Return the name of the process's real user ID, or `uid:N` without one.

    The name comes from the password database, not from LOGNAME or USER,
    which any caller can set to another user's name.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry, as for an arbitrary uid in a container
        return f"uid:{uid}"


def _clean_text(text: str) -> str:
    cleaned = redact_unlock_keys(redact(text))
    if TOKEN_PATTERN.search(cleaned) or UNLOCK_KEY_PATTERN.search(cleaned):
        return REPLACED
    return cleaned


def sanitize(value: Any) -> Any:
    """Turn a field value into JSON data with every secret-looking text redacted."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return sanitize(value.value)
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Mapping):
        return {_clean_text(str(key)): sanitize(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((sanitize(item) for item in value), key=str)
    if isinstance(value, Iterable):
        return [sanitize(item) for item in value]
    return _clean_text(str(value))


class AuditLog:
    """An append-only JSON-lines audit file; implements the service's AuditSink."""

    def __init__(
        self,
        path: Path | str,
        environment: Mapping[str, str] | None = None,
        origin: AuditOrigin = DEFAULT_ORIGIN,
    ) -> None:
        self.path = Path(path)
        self._environment = environment
        # Where the path came from, which the fix in a warning names.
        self.origin = origin

    def event(self, action: str, **fields: Any) -> dict[str, Any]:
        """Build the sanitized event that `record` would write."""
        event: dict[str, Any] = {
            "time": format_utc(datetime.now(UTC)),
            "user": _local_user(),
        }
        ssh_client = ssh_client_address(self._environment)
        if ssh_client:
            event["ssh_client"] = ssh_client
        event["action"] = action
        for key, value in fields.items():
            if key in ("time", "user", "ssh_client", "action"):
                key = f"field_{key}"
            event[key] = value
        cleaned = sanitize(event)
        assert isinstance(cleaned, dict)
        return cleaned

    def record(self, action: str, **fields: Any) -> None:
        """Append one event; raise AuditWriteError when it cannot be stored."""
        line = json.dumps(self.event(action, **fields), ensure_ascii=False) + "\n"
        data = line.encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = open_regular_file(
                self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT
            )
        except FileRejected as error:
            raise AuditWriteError(
                f"The audit file {self._named()} could not be opened for writing "
                f"({error}); the {action} action went ahead but was not recorded.",
                self._fix(f"Move {self.path} away."),
            ) from None
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            raise AuditWriteError(
                f"The audit file {self._named()} could not be opened for writing "
                f"({cause}); the {action} action went ahead but was not recorded.",
                self._fix(fix, about_path=_names_the_path(error, self.path)),
            ) from None
        size = 0
        try:
            _lock(descriptor)
            info = os.fstat(descriptor)
            self._tighten_mode(info, descriptor)
            size = info.st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                # An earlier write was cut short. Its fragment stays a damaged
                # line of its own, instead of swallowing this event.
                data = b"\n" + data
            view = memoryview(data)
            while view:
                # A short write is followed by a write that raises the cause,
                # such as ENOSPC for a full disk.
                written = os.write(descriptor, view)
                if written == 0:
                    raise OSError(0, "the file system accepted no more bytes")
                view = view[written:]
            os.fsync(descriptor)
        except OSError as error:
            _cut_back(descriptor, size)
            cause, fix = explain_file_error(error, self.path)
            raise AuditWriteError(
                f"Writing to the audit file {self._named()} failed ({cause}); the "
                f"{action} was done but not recorded.",
                self._fix(fix, about_path=False),
            ) from None
        finally:
            os.close(descriptor)

    def _named(self) -> str:
        """Return the path for a message, with the setting that chose it."""
        if not self.origin.setting:
            return f"{self.path} (the default)"
        return f"{self.path} (from {self.origin.setting})"

    def _fix(self, fix: str, about_path: bool = True) -> str:
        """Return the next step of a warning whose fix for the path is `fix`.

        A fix `about_path`, such as moving a folder away, suits only the
        default path. A chosen path is changed where it was chosen instead.
        """
        if self.origin.setting and about_path:
            return self.origin.change
        return f"{fix} {self.origin.change}"

    def _tighten_mode(self, info: os.stat_result, descriptor: int) -> None:
        """Set an audit file of this user that others can read or write to 0600."""
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.fchmod(descriptor, 0o600)
            log.warning(
                "the audit file %s had mode %o; it is now 0600",
                self.path,
                info.st_mode & 0o777,
            )


def _names_the_path(error: OSError, path: Path) -> bool:
    """Return whether `error` comes from what is at `path`, not from the disk.

    A folder, a device or a file where a folder belongs is fixed by choosing
    another path. A full disk or missing permissions are fixed in place.
    """
    return error.errno not in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
    )


def _lock(descriptor: int) -> None:
    """Take the audit file's write lock, waiting at most LOCK_WAIT_SECONDS.

    Every writer takes it for one append. A writer that keeps it longer, such
    as a stopped process, is waited for only so long: O_APPEND still keeps
    each write whole, and only the repair of a cut-short write needs the lock.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                log.warning(
                    "the audit file is still locked by another process after "
                    "%g s; appending without the lock",
                    LOCK_WAIT_SECONDS,
                )
                return
            time.sleep(0.01)


def _cut_back(descriptor: int, size: int) -> None:
    """Remove what a failed append left after `size` bytes, when possible."""
    try:
        if os.fstat(descriptor).st_size > size:
            os.ftruncate(descriptor, size)
    except OSError as error:
        # The next append starts on a new line, so the fragment stays apart.
        log.debug("the audit file could not be cut back: %s", error)


@dataclass(slots=True)
class AuditReading:
    """Events read from an audit file, and the numbers of lines that were damaged."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    damaged_lines: list[int] = field(default_factory=list)
    missing: bool = False
    # False when the reading stopped before the first line of the file.
    complete: bool = True


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """Return the event's time in UTC, or None when it is unusable.

    A time that lies outside the years 1 to 9999 once turned into UTC, such
    as 0001-01-01T00:00:00+01:00, is unusable too, because it cannot be shown
    in UTC.
    """
    text = event.get("time")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def read_audit(
    path: Path | str,
    since: datetime | None = None,
    limit: int | None = None,
    other_file: str = f"Or point {AUDIT_FILE_ENV} at another file.",
    keep: _RotationEvents | None = None,
) -> AuditReading:
    """Read events oldest first, keeping those at or after `since`, the last `limit`.

    A line that is not a JSON object, or has no time that can be turned into
    UTC, is skipped and its number is listed in `damaged_lines`. A missing
    file gives no events. Each event's time is rewritten in UTC to the
    second, such as 2026-12-05T08:00:00Z, and a time without a zone is taken
    as UTC.
    `other_file` ends the message of a file that cannot be read: how the
    caller chose the path, and so how to choose another. With `keep`, only
    the events it accepts are kept, and lines it rules out are not parsed.
    """
    reading = AuditReading(path=Path(path))
    handle = _open_audit(reading, other_file)
    if handle is None:
        return reading
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # With a limit, only the last events are kept while the file is read.
    matching: MutableSequence[dict[str, Any]] = reading.events
    if limit is not None:
        # deque takes a length of at most sys.maxsize, and no file has more.
        matching = deque(maxlen=min(max(limit, 0), sys.maxsize))
    try:
        with handle:
            _read_events(handle, reading, since, matching, keep)
    except OSError as error:
        # The file opened but a read failed, as a read of /proc/self/mem or
        # of a file on a failing disk does.
        raise _explain_read_error(reading.path, error, other_file) from None
    if limit is not None:
        reading.events = list(matching)
    if reading.damaged_lines:
        # Callers report the damaged lines to the user; this is for -v logs.
        log.info(
            "audit file %s: skipped %d damaged line(s): %s",
            reading.path,
            len(reading.damaged_lines),
            ", ".join(str(number) for number in reading.damaged_lines[:10]),
        )
    return reading


def _open_audit(reading: AuditReading, other_file: str) -> BinaryIO | None:
    """Open the audit file of `reading` to read, or mark it missing and return None.

    Raises AuditReadError, ending with `other_file`, when it cannot be read.
    """
    try:
        return os.fdopen(open_regular_file(reading.path, os.O_RDONLY), "rb")
    except FileNotFoundError:
        reading.missing = True
        return None
    except FileRejected as error:
        if reading.path.is_dir():
            hint = (
                f"Name a file in that folder, such as "
                f"{reading.path / AUDIT_FILE_NAME}. {other_file}"
            )
        else:
            hint = f"Name a regular file instead of {reading.path}. {other_file}"
        raise AuditReadError(
            f"The audit file {reading.path} could not be read ({error}).", hint
        ) from None
    except OSError as error:
        raise _explain_read_error(reading.path, error, other_file) from None


class TailRequest(NamedTuple):
    """Events that read_audit_tail looks for: the last `limit` that `accepts` takes.

    `may_match`, when given, returns from a raw line whether it may hold such
    an event. A line that no open request may match is not parsed.
    """

    accepts: Callable[[Mapping[str, Any]], bool]
    limit: int
    may_match: Callable[[bytes], bool] | None = None


def contains_text(text: str) -> Callable[[bytes], bool]:
    """Return a raw-line test for `text` in a JSON string of the line.

    A JSON escape can spell any character, so a line with a backslash may
    match too.
    """
    mark = json.dumps(text, ensure_ascii=False)[1:-1].encode()
    return lambda raw: mark in raw or b"\\" in raw


def read_audit_tail(
    path: Path | str,
    requests: Sequence[TailRequest],
    since: datetime | None = None,
    other_file: str = f"Or point {AUDIT_FILE_ENV} at another file.",
) -> AuditReading:
    """Read the newest events, from the end of the file back, and stop early.

    The result holds, oldest first, for each request the last events at or
    after `since` that it accepts. Reading stops once every count is met, so
    asking for the last few events of a large file reads its end only.
    `damaged_lines` lists the damaged lines among those parsed, numbered
    from the start of the file; `complete` is True when every line was
    read. Events are read and rewritten as read_audit does, which raises
    the same errors.
    """
    reading = AuditReading(path=Path(path))
    handle = _open_audit(reading, other_file)
    if handle is None:
        return reading
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    with contextlib.suppress(OSError):
        descriptor = handle.fileno()
        if os.fstat(descriptor).st_size == 0 and os.pread(descriptor, 1, 0):
            # A file that reports no size yet has text, as those in /proc,
            # cannot be read from its end.
            handle.close()
            return _last_of_each(
                read_audit(path, since, other_file=other_file), requests
            )
    needed = [max(request.limit, 0) for request in requests]
    newest_first: list[dict[str, Any]] = []
    # Damaged lines, counted back from the last line (0).
    damaged_back: list[int] = []
    try:
        with handle:
            lines = _LinesBackward(handle.fileno())
            for back, raw in lines if any(needed) else ():
                if not raw.strip() or not _may_match_any(requests, needed, raw):
                    continue
                parsed = _parse_line(raw)
                if parsed is None:
                    damaged_back.append(back)
                    continue
                event, moment = parsed
                if since is not None and moment < since:
                    continue
                selected = False
                for position, request in enumerate(requests):
                    if needed[position] and request.accepts(event):
                        needed[position] -= 1
                        selected = True
                if selected:
                    newest_first.append(event)
                    if not any(needed):
                        break
            reading.complete = lines.exhausted
            if damaged_back:
                last_number = lines.lines_before() + lines.count
                reading.damaged_lines = [last_number - back for back in damaged_back]
                reading.damaged_lines.reverse()
    except OSError as error:
        raise _explain_read_error(reading.path, error, other_file) from None
    newest_first.reverse()
    reading.events = newest_first
    return reading


def _last_of_each(
    reading: AuditReading, requests: Sequence[TailRequest]
) -> AuditReading:
    """Keep, oldest first, the events among the last ones that each request takes."""
    selected: set[int] = set()
    for request in requests:
        if request.limit <= 0:
            continue
        accepted = [
            index
            for index, event in enumerate(reading.events)
            if request.accepts(event)
        ]
        selected.update(accepted[-request.limit :])
    reading.events = [reading.events[index] for index in sorted(selected)]
    return reading


def _may_match_any(
    requests: Sequence[TailRequest], needed: Sequence[int], raw: bytes
) -> bool:
    """Tell whether a raw line may hold an event that an open request takes."""
    return any(
        count and (request.may_match is None or request.may_match(raw))
        for request, count in zip(requests, needed, strict=True)
    )


class _LinesBackward:
    """The lines of an open file, last line first, read in blocks from the end.

    Iterating gives (n, line) with n counting back from the last line (0),
    and each line without its line break. A file that ends with a line break
    gives an empty line first, which does not change the numbers of the
    others counted from the start.
    """

    BLOCK_SIZE = 1 << 16

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.size = os.fstat(descriptor).st_size
        # How many lines were given, and where the last one given starts.
        self.count = 0
        self.earliest_offset = self.size
        # True once the first line of the file was given.
        self.exhausted = self.size == 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        position = self.size
        # The blocks, last first, of the line that starts before `position`.
        pending: list[bytes] = []
        while position > 0:
            start = max(0, position - self.BLOCK_SIZE)
            block = os.pread(self.descriptor, position - start, start)
            if not block:
                # The file was cut shorter while it was read.
                break
            position = start
            if b"\n" not in block:
                pending.append(block)
                continue
            pieces = block.split(b"\n")
            offsets = [start]
            for piece in pieces[:-1]:
                offsets.append(offsets[-1] + len(piece) + 1)
            pieces[-1] += b"".join(reversed(pending))
            pending = [pieces[0]]
            for index in range(len(pieces) - 1, 0, -1):
                yield self._give(offsets[index], pieces[index])
        if position == 0 and self.size:
            self.exhausted = True
            yield self._give(0, b"".join(reversed(pending)))

    def _give(self, offset: int, line: bytes) -> tuple[int, bytes]:
        self.earliest_offset = offset
        self.count += 1
        return self.count - 1, line

    def lines_before(self) -> int:
        """Count the lines before the last line given, by reading up to it."""
        count = 0
        position = 0
        while position < self.earliest_offset:
            size = min(1 << 20, self.earliest_offset - position)
            block = os.pread(self.descriptor, size, position)
            if not block:
                break
            count += block.count(b"\n")
            position += len(block)
        return count


# The actions of the events that rotated a token or the unlock key, or
# settled the outcome of such a rotation later.
ROTATION_RECORD_ACTIONS = ROTATING_ACTIONS | {"rotate-outcome", "rotate-unlock-key"}


def read_rotation_events(path: Path | str, cluster_id: str) -> list[dict[str, Any]]:
    """Read, oldest first, the events of a cluster in ROTATION_RECORD_ACTIONS.

    Lookups of when a token was issued or retired need these events only.
    A line that cannot be one of them is skipped before it is parsed, so a
    large record costs little time and memory. Raises AuditReadError as
    read_audit does; damaged lines are skipped without being listed.
    """
    reading = read_audit(path, keep=_RotationEvents(cluster_id))
    return reading.events


class _RotationEvents:
    """A filter that keeps the events of one cluster in ROTATION_RECORD_ACTIONS."""

    # Each of those actions, as this program writes it, contains one of these.
    ACTION_MARKS = (b'"rotate', b'"leak-response"', b'"join-window-close"')

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.cluster_mark = json.dumps(cluster_id, ensure_ascii=False).encode()

    def may_match(self, raw: bytes) -> bool:
        """Return, without parsing, whether a line may hold a wanted event.

        A JSON escape can spell any character, so a line with a backslash
        is always parsed.
        """
        if b"\\" in raw:
            return True
        if self.cluster_mark not in raw:
            return False
        return any(mark in raw for mark in self.ACTION_MARKS)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        return (
            event.get("action") in ROTATION_RECORD_ACTIONS
            and event.get("cluster_id") == self.cluster_id
        )


def _explain_read_error(path: Path, error: OSError, other_file: str) -> AuditReadError:
    """Return the AuditReadError that names why `path` could not be read."""
    cause, fix = explain_file_error(error, path)
    return AuditReadError(
        f"The audit file {path} could not be read ({cause}).", f"{fix} {other_file}"
    )


def _may_contain_secret(line: str) -> bool:
    """Tell whether a JSON line may contain a token or unlock key to redact.

    Without a backslash escape, each string of the line is a part of it
    between double quotes. On a line of 300 characters, this check took
    about 2 us and sanitizing the event about 40 us, which was most of the
    time of reading a large audit file.
    """
    if "\\" in line:
        return True
    # casefold, like the patterns' case-insensitive match, reads the long s
    # (U+017F) as s and the Kelvin sign as k.
    folded = line.casefold()
    if "swmtkn" in folded or "swmkey" in folded:
        return True
    longest = max(map(len, line.split('"')))
    return longest >= TOKEN_BODY_LENGTH and TOKEN_BODY_PATTERN.search(line) is not None


# The length of a token's digest and secret with the dash between them.
TOKEN_BODY_LENGTH = DIGEST_LENGTH + 1 + SECRET_LENGTH


def _read_events(
    handle: Iterable[bytes],
    reading: AuditReading,
    since: datetime | None,
    events: MutableSequence[dict[str, Any]],
    keep: _RotationEvents | None = None,
) -> None:
    """Add the events at or after `since`, and accepted by `keep`, to `events`.

    The numbers of damaged lines go to `reading`.
    """
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        if keep is not None and not keep.may_match(raw):
            continue
        parsed = _parse_line(raw)
        if parsed is None:
            reading.damaged_lines.append(number)
            continue
        event, moment = parsed
        if (since is None or moment >= since) and (keep is None or keep(event)):
            events.append(event)


def _parse_line(raw: bytes) -> tuple[dict[str, Any], datetime] | None:
    """Return the event of one line of the audit file and its time in UTC.

    Returns None when the line is damaged.

    A line is damaged when it is not a JSON object with a time that can be
    turned into UTC. The event's time is rewritten in the form that this
    program writes: UTC, to the second, with a Z, also when it was edited by
    hand with an offset, a fraction of a second, or no zone (read as UTC).
    """
    try:
        text = raw.decode("utf-8")
        event = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, invalid JSON and numbers too long to
        # convert. Deep nesting raises RecursionError.
        return None
    moment = event_time(event) if isinstance(event, dict) else None
    if moment is None:
        return None
    # This program never writes a token, but another program, or an edit by
    # hand, may have. Reading shows it as its fingerprint.
    if _may_contain_secret(text):
        try:
            event = sanitize(event)
        except RecursionError:
            return None
    event["time"] = format_utc(moment)
    return event, moment


def last_rotations(
    events: Iterable[Mapping[str, Any]], cluster_id: str
) -> dict[str, datetime]:
    """Return, per role, the time of the last successful rotation on a cluster."""
    found: dict[str, datetime] = {}
    for event in events:
        if event.get("action") not in ROTATING_ACTIONS:
            continue
        if event.get("result") != "ok" or event.get("cluster_id") != cluster_id:
            continue
        moment = event_time(event)
        new = event.get("new_fingerprints")
        if moment is None or not isinstance(new, Mapping):
            continue
        for role in new:
            if role not in found or found[role] < moment:
                found[str(role)] = moment
    return found


def unsettled_rotations(
    events: Iterable[Mapping[str, Any]], cluster_id: str
) -> dict[str, tuple[str, datetime | None]]:
    """Return, per role, the rotations of a cluster still recorded as unknown.

    Each value is the role's old fingerprint and the event's time. A later
    rotation event of the role, or a `rotate-outcome` event, settles it.
    """
    pending: dict[str, tuple[str, datetime | None]] = {}
    for event in events:
        action = event.get("action")
        if event.get("cluster_id") != cluster_id:
            continue
        if action != "rotate-outcome" and action not in ROTATING_ACTIONS:
            continue
        old = event.get("old_fingerprints")
        if not isinstance(old, Mapping):
            continue
        for role, old_fingerprint in old.items():
            unknown = action != "rotate-outcome" and event.get("result") == "unknown"
            if unknown and isinstance(old_fingerprint, str):
                pending[str(role)] = (old_fingerprint, event_time(event))
            else:
                pending.pop(str(role), None)
    return pending


def unsettled_unlock_rotation(
    events: Iterable[Mapping[str, Any]], cluster_id: str
) -> tuple[str, datetime | None] | None:
    """Return a cluster's unlock key rotation still recorded as unknown, if any.

    The value is the old key's fingerprint and the event's time. A later
    unlock key rotation event, or a `rotate-outcome` event with key
    fingerprints, settles it.
    """
    pending: tuple[str, datetime | None] | None = None
    for event in events:
        if event.get("cluster_id") != cluster_id:
            continue
        action = event.get("action")
        if action == "rotate-unlock-key":
            old = event.get("old_key_fingerprint")
            unknown = event.get("result") == "unknown" and isinstance(old, str)
            pending = (str(old), event_time(event)) if unknown else None
        elif action == "rotate-outcome" and "old_key_fingerprint" in event:
            pending = None
    return pending


def token_issued_at(
    events: Iterable[Mapping[str, Any]], cluster_id: str, role: str, fingerprint: str
) -> datetime | None:
    """Return when a successful rotation on a cluster issued this token, if recorded.

    The token is matched by the fingerprint that the rotation's event lists
    as the role's new one; the latest such event wins.
    """
    times = _rotation_times(events, cluster_id, role, fingerprint, "new_fingerprints")
    return max(times, default=None)


def token_retired_at(
    events: Iterable[Mapping[str, Any]], cluster_id: str, role: str, fingerprint: str
) -> datetime | None:
    """Return when a successful rotation on a cluster retired this token, if recorded.

    The token is matched by the fingerprint that the rotation's event lists
    as the role's old one. A token is retired once, so the earliest such
    event wins.
    """
    times = _rotation_times(events, cluster_id, role, fingerprint, "old_fingerprints")
    return min(times, default=None)


def _rotation_times(
    events: Iterable[Mapping[str, Any]],
    cluster_id: str,
    role: str,
    fingerprint: str,
    side: str,
) -> list[datetime]:
    """Return the times of the successful rotations that list `fingerprint` in `side`.

    `side` is "old_fingerprints" or "new_fingerprints" of a rotation event.
    A rotation recorded as unknown counts once a "rotate-outcome" event records that
    it took effect, at the time of the rotation rather than of that event.
    """
    times: list[datetime] = []
    # Times of the unknown rotations of `role`, by the fingerprint they replaced.
    unknown: dict[str, list[datetime]] = {}
    for event in events:
        action = event.get("action")
        if event.get("cluster_id") != cluster_id:
            continue
        if action in ROTATING_ACTIONS and event.get("result") == "unknown":
            replaced = event.get("old_fingerprints")
            moment = event_time(event)
            if isinstance(replaced, Mapping) and moment is not None:
                unknown.setdefault(str(replaced.get(role)), []).append(moment)
            continue
        settled = action == "rotate-outcome" and event.get("result") == "took-effect"
        if not settled and (
            action not in ROTATING_ACTIONS or event.get("result") != "ok"
        ):
            continue
        listed = event.get(side)
        if not isinstance(listed, Mapping) or listed.get(role) != fingerprint:
            continue
        moment = event_time(event)
        if moment is None:
            continue
        if settled:
            replaced = event.get("old_fingerprints")
            before = str(replaced.get(role)) if isinstance(replaced, Mapping) else ""
            earlier = [at for at in unknown.get(before, []) if at <= moment]
            moment = max(earlier, default=moment)
        times.append(moment)
    return times
