"""Join windows: a join token that is retired after a time or a number of joins.

Swarm tokens never expire, so a window is kept by swarmtui itself. Opening a
window for a role records the nodes already in the swarm and the token's
fingerprint. While it is open, swarmtui polls the node list; a node of that
role that is not in the recorded list counts as a join. The window closes
when its end time passes or when the join count reaches its maximum, and
closing it rotates that role's token, so the token handed out for the window
can no longer join. When the token was already rotated by anyone since the
window opened, closing only forgets the window.

Open windows are stored in ``join-windows.json`` in the user state folder
(``$SWARMTUI_WINDOWS_FILE`` overrides it), mode 0600, so that a window
outlives the process that opened it. When that process dies first, nothing
rotates by itself: the next console start on the same swarm finds the stored
windows that are due (time passed or joins reached) and offers to rotate,
and ``swarmtui join-window close-expired`` rotates them without asking.
A join count is only seen while some swarmtui process polls, so a window
with only a join limit stays stored until it is closed that way or by hand
(``swarmtui join-window close-all``).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from swarmtui.atomicfile import (
    OTHER_PATH_STEP,
    FileRejected,
    LockTimeout,
    ensure_folder,
    exclusive_lock,
    explain_file_error,
    lock_path_beside,
    read_private_file,
    special_file_type,
    write_atomic,
)
from swarmtui.errors import JoinWindowError, RotationConflictError, SwarmTuiError
from swarmtui.models import NodeInfo, Role, RotationResult, SwarmSnapshot, SwarmView
from swarmtui.service import TokenService
from swarmtui.state_files import (
    WINDOWS_FILE_ENV,
    default_windows_path,
)
from swarmtui.timetext import format_utc, seconds_text
from swarmtui.tokens import fingerprint

log = logging.getLogger(__name__)

# 'forget' reads only the window file, so it needs no option that chooses
# an engine.
FORGET_COMMAND = "swarmtui join-window forget"
# The next step when the window file's path names a folder or a device.
OTHER_FILE_STEP = (
    f"Set {WINDOWS_FILE_ENV} to another path: a regular file, or one that does "
    "not exist yet."
)
CLOSE_ACTION = "join-window-close"
# Seconds that a change of the window file waits for another process that
# holds its lock. A change takes milliseconds, so a longer hold means a
# process that is stopped or hung.
LOCK_TIMEOUT = 5.0
# Engine calls that one close may make while it holds the close lock: a read
# of the swarm, a rotation with its reads, and a second rotation after a
# conflict. NOTE: an estimate. A close waits for another close this many
# times its own --timeout, so a holder with a longer --timeout can outlast it.
CLOSE_LOCK_ENGINE_CALLS = 20


class WindowOfOtherSwarmError(JoinWindowError):
    """A window that the engine cannot close, because it serves another swarm."""

    def __init__(self, message: str, hint: str, serving_cluster_id: str) -> None:
        super().__init__(message, hint)
        self.serving_cluster_id = serving_cluster_id


class CloseReason(enum.StrEnum):
    """The cause of a join window's closing."""

    TIME = "time"
    JOINS = "joins"
    BY_USER = "closed by the user"
    TERMINATED = "stopped by SIGTERM"
    HANGUP = "stopped by SIGHUP"
    OUTPUT_CLOSED = "output closed"
    # An unexpected error stopped the watch, so the token is not left live.
    WATCH_FAILED = "watch failed"
    # The token was rotated since the window opened, or the swarm replaced.
    REPLACED = "token rotated"
    # The window was removed from the window file while it was watched.
    REMOVED = "no longer stored"


def new_window_id() -> str:
    """Return a new random window ID of 12 hexadecimal digits."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class JoinWindow:
    """An open join window for one role of one swarm.

    `until` is the end time and `max_joins` the number of joins after which
    the window closes; either may be None, not both. `baseline_node_ids`
    lists the nodes that were in the swarm when the window opened.
    """

    role: Role
    opened_at: datetime
    until: datetime | None
    max_joins: int | None
    baseline_node_ids: frozenset[str]
    cluster_id: str = ""
    endpoint: str = ""
    token_fingerprint: str = ""
    id: str = field(default_factory=new_window_id)

    def __post_init__(self) -> None:
        if self.until is None and self.max_joins is None:
            raise JoinWindowError(
                "A join window needs an end time, a number of joins, or both.",
                "Give a number of minutes, a number of joins, or both.",
            )
        if self.max_joins is not None and self.max_joins < 1:
            raise JoinWindowError(
                f"A join window needs at least 1 join, not {self.max_joins}.",
                "Give a number of joins of 1 or more.",
            )
        if self.until is not None and self.until <= self.opened_at:
            raise JoinWindowError(
                "A join window must end after it opens.",
                "Give a positive number of minutes.",
            )

    def remaining(self, now: datetime) -> timedelta | None:
        """Return the time left, never negative, or None without an end time."""
        if self.until is None:
            return None
        return max(self.until - now, timedelta(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": str(self.role),
            "opened_at": format_utc(self.opened_at),
            "until": self.until.isoformat() if self.until else None,
            "max_joins": self.max_joins,
            "baseline_node_ids": sorted(self.baseline_node_ids),
            "cluster_id": self.cluster_id,
            "endpoint": self.endpoint,
            "token_fingerprint": self.token_fingerprint,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JoinWindow:
        """Build a window from its stored form.

        Raises KeyError for a missing field, DamagedEntry for limits that no
        window can have, and ValueError, TypeError or OverflowError for
        other invalid values.
        """
        window_id = str(data["id"])
        role = Role(data["role"])
        opened_at = _parse_time(str(data["opened_at"]))
        until_text = data.get("until")
        until = None if until_text is None else _parse_time(str(until_text))
        max_joins = _stored_joins(data.get("max_joins"))
        if until is None and max_joins is None:
            raise DamagedEntry(
                "has neither an end time ('until') nor a number of joins ('max_joins')"
            )
        if until is not None and until <= opened_at:
            raise DamagedEntry("ends ('until') before or when it opens ('opened_at')")
        return cls(
            id=window_id,
            role=role,
            opened_at=opened_at,
            until=until,
            max_joins=max_joins,
            baseline_node_ids=frozenset(
                str(node) for node in data.get("baseline_node_ids", ())
            ),
            cluster_id=str(data.get("cluster_id", "")),
            endpoint=str(data.get("endpoint", "")),
            token_fingerprint=str(data.get("token_fingerprint", "")),
        )


class DamagedEntry(ValueError):
    """A stored window whose limits no window can have.

    The message completes "window N ...".
    """


def _stored_joins(value: Any) -> int | None:
    """Return a stored 'max_joins': null, or a whole number of 1 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DamagedEntry(
            "has a 'max_joins' that is neither null nor a whole number of 1 or more"
        )
    return value


def _windows_from_text(text: str) -> list[JoinWindow]:
    """Parse the window file's text; raise ValueError that names what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"it is not valid JSON (line {error.lineno})") from None
    except (ValueError, RecursionError):
        # The JSON decoder raises ValueError for an integer too long to
        # convert, and RecursionError for arrays nested too deeply.
        raise ValueError(
            "it has a number too long or nesting too deep to read"
        ) from None
    return _windows_from_json(document)


def _windows_from_json(document: Any) -> list[JoinWindow]:
    if not isinstance(document, dict):
        raise ValueError("the top level is not a JSON object")
    items = document.get("windows", [])
    if not isinstance(items, list):
        raise ValueError("'windows' is not a list")
    windows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"window {number} is not a JSON object")
        try:
            windows.append(JoinWindow.from_json(item))
        except KeyError as error:
            missing = error.args[0]
            raise ValueError(f"window {number} has no {missing!r} field") from None
        except DamagedEntry as error:
            raise ValueError(f"window {number} {error}") from None
        except (ValueError, TypeError, OverflowError, JoinWindowError):
            raise ValueError(f"window {number} has an invalid field value") from None
    return windows


def _damage_text(error: Exception) -> str:
    if isinstance(error, ValueError):
        return str(error)
    return "its content is not a list of join windows"


def _file_problem(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(error)


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WindowEvaluation(NamedTuple):
    """The nodes that joined in a window, and whether and why it should close."""

    joined: tuple[NodeInfo, ...]
    should_close: bool
    reason: CloseReason | None


def evaluate(
    window: JoinWindow,
    nodes: Iterable[NodeInfo],
    now: datetime,
    first_roles: dict[str, Role] | None = None,
) -> WindowEvaluation:
    """Count the window's joins in `nodes` and decide whether it should close.

    A join is a node of the window's role that was not in the swarm when the
    window opened. The join limit wins over the end time when both are due.

    A node's role can change after it joined: a node that joined with the
    manager token and was demoted is still a join of the manager window.
    `first_roles`, kept by the caller from one poll to the next, records the
    role each new node had when a poll first saw it, and the count uses
    that role. Without it, the role the node has now counts.
    """
    roles = {} if first_roles is None else first_roles
    new_nodes = [node for node in nodes if node.id not in window.baseline_node_ids]
    for node in new_nodes:
        roles.setdefault(node.id, node.role)
    # NOTE: the role comes from the first poll that saw the node, so a node
    # promoted or demoted before that poll, or while no process watched the
    # window, counts under its new role.
    joined = tuple(
        sorted(
            (node for node in new_nodes if roles[node.id] is window.role),
            key=lambda node: (node.created_at or now, node.id),
        )
    )
    if window.max_joins is not None and len(joined) >= window.max_joins:
        return WindowEvaluation(joined, True, CloseReason.JOINS)
    if window.until is not None and now >= window.until:
        return WindowEvaluation(joined, True, CloseReason.TIME)
    return WindowEvaluation(joined, False, None)


def token_replaced(window: JoinWindow, snapshot: SwarmSnapshot) -> bool:
    """Tell whether the swarm no longer has the token that `window` handed out."""
    return (
        snapshot.cluster_id != window.cluster_id
        or fingerprint(snapshot.token(window.role)) != window.token_fingerprint
    )


class WindowStore:
    """The open join windows, kept in one JSON file of mode 0600.

    Every change reads, changes and writes the file under an exclusive lock
    on a lock file next to it, so that two processes that change it at once
    both keep their change. Reads take no lock: the file is replaced
    atomically, so a reader sees the old list or the new one.
    """

    def __init__(
        self, path: Path | str | None = None, *, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        self.path = Path(path) if path is not None else default_windows_path()
        self.lock_timeout = lock_timeout
        override = os.environ.get(WINDOWS_FILE_ENV, "")
        # True when the variable chose the path, which messages then name.
        self.path_from_environment = bool(override) and (
            default_windows_path() == self.path
        )

    def _named(self) -> str:
        """Return the path for a message, with the variable that chose it."""
        if self.path_from_environment:
            return f"{self.path} (from {WINDOWS_FILE_ENV})"
        return str(self.path)

    @property
    def lock_path(self) -> Path:
        return lock_path_beside(self.path)

    @property
    def close_lock_path(self) -> Path:
        return lock_path_beside(self.path, ".close.lock")

    def _check_regular_file(self) -> None:
        """Raise JoinWindowError when the path names a folder, a FIFO or a device.

        Such a path stays as it is, so the next step is another path.
        """
        file_type = special_file_type(self.path)
        if file_type is not None:
            raise JoinWindowError(
                f"The join window file {self._named()} cannot be used: it is "
                f"{file_type}, not a regular file.",
                OTHER_FILE_STEP,
            )

    def load(self) -> list[JoinWindow]:
        """Read the stored windows; an unreadable file raises JoinWindowError."""
        try:
            text = read_private_file(self.path).decode("utf-8")
        except FileNotFoundError:
            return []
        except (FileRejected, UnicodeDecodeError) as error:
            self._check_regular_file()
            raise JoinWindowError(
                f"The join window file {self._named()} cannot be used: "
                f"{_file_problem(error)}.",
                "Rotate the tokens by hand if a window was open, then delete the file.",
            ) from None
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            raise JoinWindowError(
                f"The join window file {self._named()} could not be read ({cause}).",
                fix,
            ) from None
        try:
            return _windows_from_text(text)
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
        ) as error:
            raise JoinWindowError(
                f"The join window file {self._named()} is damaged: "
                f"{_damage_text(error)}.",
                "Rotate the tokens by hand if a window was open, then delete the file.",
            ) from None

    def save(self, windows: Iterable[JoinWindow]) -> None:
        """Replace the file atomically with `windows`; mode 0600."""
        document = {"windows": [window.to_json() for window in windows]}
        text = json.dumps(document, indent=2) + "\n"
        try:
            ensure_folder(Path(os.path.realpath(self.path)).parent)
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            if fix == OTHER_PATH_STEP:
                fix = OTHER_FILE_STEP
            else:
                fix += f" Or set {WINDOWS_FILE_ENV} to a writable file."
            raise JoinWindowError(
                f"The join window file {self._named()} could not be written ({cause}).",
                fix,
            ) from None

    def update(
        self, change: Callable[[list[JoinWindow]], list[JoinWindow] | None]
    ) -> None:
        """Apply `change` to the stored windows under the lock, and save its result.

        `change` returns the new list, or None to leave the file as it is.
        An error that it raises leaves the file unchanged.
        """
        with self._locked():
            windows = change(self.load())
            if windows is not None:
                self.save(windows)

    def add(self, window: JoinWindow) -> None:
        self.update(
            lambda windows: [
                *(item for item in windows if item.id != window.id),
                window,
            ]
        )

    def pop(self, window_id: str) -> JoinWindow | None:
        """Remove a stored window and return it, or None when it was not stored."""
        removed: list[JoinWindow] = []

        def without(windows: list[JoinWindow]) -> list[JoinWindow] | None:
            removed.extend(item for item in windows if item.id == window_id)
            if not removed:
                return None
            return [item for item in windows if item.id != window_id]

        self.update(without)
        return removed[0] if removed else None

    def remove(self, window_id: str) -> bool:
        """Remove a stored window; return whether it was stored."""
        return self.pop(window_id) is not None

    def for_cluster(self, cluster_id: str) -> list[JoinWindow]:
        return [item for item in self.load() if item.cluster_id == cluster_id]

    @contextlib.contextmanager
    def closing(self, window: JoinWindow, wait: float) -> Iterator[bool]:
        """Hold the close lock for up to `wait` s; yield whether `window` is stored.

        A close checks that its window is still stored, rotates the token and
        removes the window while it holds this lock. So of two processes
        that close one window at once, the second finds it removed and
        rotates nothing. The lock is apart from the file's own lock, so that
        opening a window or changing the file does not wait for an engine.
        """
        lock = contextlib.ExitStack()
        try:
            lock.enter_context(exclusive_lock(self.close_lock_path, wait))
        except LockTimeout:
            raise JoinWindowError(
                f"Another swarmtui process was closing a join window of "
                f"{self.path} for {seconds_text(wait)} (lock file "
                f"{self.close_lock_path}), so the {window.role} join window "
                f"{window.id} was not closed and its token was not rotated.",
                "Run the command again once that process has finished. A "
                "swarmtui process that is stopped (Ctrl+Z) or hung holds the "
                "lock: resume or end it.",
            ) from None
        except OSError as error:
            # Rotating the handed-out token matters more than keeping a
            # second process from closing the same window.
            cause, _ = explain_file_error(error, self.close_lock_path)
            log.warning(
                "join window %s closes without the lock file %s (%s)",
                window.id,
                self.close_lock_path,
                cause,
            )
        with lock:
            yield self._still_stored(window)

    def _still_stored(self, window: JoinWindow) -> bool:
        try:
            windows = self.load()
        except JoinWindowError as error:
            # The file cannot show that another process closed the window,
            # so the close goes on and rotates the token. Removing the window
            # then fails with the same error, which the close's message names.
            log.info("join window %s: %s", window.id, error.message)
            return True
        return any(item.id == window.id for item in windows)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive lock of the window file, waiting up to lock_timeout."""
        # Checked before the lock, so that a link to a device such as
        # /dev/null gets no lock file next to the device.
        self._check_regular_file()
        lock = contextlib.ExitStack()
        try:
            ensure_folder(Path(os.path.realpath(self.path)).parent)
            lock.enter_context(exclusive_lock(self.lock_path, self.lock_timeout))
        except LockTimeout:
            raise JoinWindowError(
                f"The join window file {self.path} stayed locked by another "
                f"process for {seconds_text(self.lock_timeout)} (lock file "
                f"{self.lock_path}), so it was not changed.",
                "A swarmtui process that is stopped (Ctrl+Z) or hung holds the "
                "lock: resume or end it, then try again.",
            ) from None
        except OSError as error:
            # The lock file's name follows the window file, so the advice is
            # about the folder or the window file's path.
            cause, _ = explain_file_error(error, self.lock_path)
            raise JoinWindowError(
                f"The lock file {self.lock_path} of the join window file could "
                f"not be opened ({cause}).",
                f"Make {self.lock_path.parent} writable, or set {WINDOWS_FILE_ENV} "
                "to a file in a writable folder.",
            ) from None
        with lock:
            yield


@dataclass(frozen=True, slots=True)
class WindowClosed:
    """A closed window: why, who joined, and the rotation (None if not needed)."""

    window: JoinWindow
    reason: CloseReason
    joined: tuple[NodeInfo, ...]
    rotation: RotationResult | None
    # Why the window stayed in the window file after its token was rotated.
    store_error: JoinWindowError | None = None
    # True when the window was no longer stored once this process could
    # close it, because another process closed or forgot it first.
    closed_elsewhere: bool = False
    # For a window closed elsewhere: whether the token it handed out is
    # still current (None when the swarm could not be read to tell).
    token_still_current: bool | None = False
    # Why the swarm could not be read to tell.
    check_error: SwarmTuiError | None = None
    # The cluster the engine served instead of the window's swarm, which
    # left the token's state unknown.
    serving_cluster_id: str = ""

    @property
    def other_swarm_hint(self) -> str:
        """Return where to rotate a token left live on a swarm this engine left."""
        return (
            f"Rotate the {self.window.role} token on a manager of swarm "
            f"{self.window.cluster_id[:12]} ('docker swarm join-token --rotate "
            f"{self.window.role}') unless that swarm no longer exists."
        )

    @property
    def token_left_live(self) -> bool:
        """Return True when no close ended the token: it may still let nodes join."""
        return self.closed_elsewhere and self.token_still_current is not False

    @property
    def message(self) -> str:
        if self.closed_elsewhere:
            return self._elsewhere_text()
        text = self._closed_text()
        if self.store_error is not None:
            text += (
                f" It could not be removed from the window file: "
                f"{self.store_error.message} It ends when the file is next "
                "read, because its token was rotated."
            )
        return text

    def _elsewhere_text(self) -> str:
        role = self.window.role
        start = f"The {role} join window {self.window.id} was no longer stored"
        if self.token_still_current is False:
            return (
                f"{start}: another swarmtui process closed it first, and the "
                f"{role} token it handed out ({self.window.token_fingerprint}) "
                "no longer joins, so nothing was rotated here."
            )
        if self.serving_cluster_id:
            return (
                f"{start}, and the engine now serves another swarm "
                f"({self.serving_cluster_id[:12]}), so whether the {role} token "
                f"it handed out ({self.window.token_fingerprint}) still lets "
                f"nodes join swarm {self.window.cluster_id[:12]} is unknown here."
            )
        if self.token_still_current:
            return (
                f"{start}, yet the {role} token it handed out "
                f"({self.window.token_fingerprint}) is still current: the window "
                "was removed with 'join-window forget' or from the window file, "
                "not closed, so that token still lets nodes join."
            )
        return (
            f"{start}, and reading the swarm to check whether the {role} token "
            f"it handed out ({self.window.token_fingerprint}) is still current "
            f"failed: {self.check_error}"
        )

    def _closed_text(self) -> str:
        role = self.window.role
        closed = {
            CloseReason.TIME: "closed because its time ran out",
            CloseReason.JOINS: f"closed because {len(self.joined)} node(s) joined",
            CloseReason.BY_USER: "was closed on request",
            CloseReason.TERMINATED: "closed because swarmtui was stopped (SIGTERM)",
            CloseReason.HANGUP: (
                "closed because its terminal or SSH session ended (SIGHUP)"
            ),
            CloseReason.OUTPUT_CLOSED: (
                "closed at once because the token could not be written to "
                "standard output"
            ),
            CloseReason.REPLACED: "ended",
            CloseReason.WATCH_FAILED: (
                "closed at once because watching it failed unexpectedly"
            ),
            CloseReason.REMOVED: "closed because it was removed from the window file",
        }[self.reason]
        if self.reason is CloseReason.REPLACED and self.rotation is None:
            return (
                f"The {role} join window ended: the {role} token it handed out "
                f"({self.window.token_fingerprint}) was rotated and can "
                f"no longer join. The current {role} token is not limited by "
                "any window."
            )
        if self.rotation is None:
            return (
                f"The {role} join window {closed}; the {role} token had "
                "already been rotated since it opened, so it was not rotated "
                "again."
            )
        before = self.rotation.before.token_fingerprint(role)
        after = self.rotation.after.token_fingerprint(role)
        return (
            f"The {role} join window {closed}; the {role} token was rotated "
            f"({before} -> {after}) and the old one can no longer join."
        )


# Maximum length of a join window: a year, in minutes. A longer one is
# almost surely a typo, and far larger values overflow datetime.
MAX_WINDOW_MINUTES = 366 * 24 * 60
# Minimum length: one microsecond, the resolution of datetime, in minutes.
# A shorter window would end at the time it opens.
MIN_WINDOW_MINUTES = 1 / 60_000_000
# The minimum as messages write it, rounded up so that it is accepted.
MIN_WINDOW_MINUTES_TEXT = f"{MIN_WINDOW_MINUTES:.3g}"


def _reject_second_window(
    windows: Iterable[JoinWindow],
    view: SwarmView,
    role: Role,
    now: datetime,
    cli_command: str,
) -> None:
    """Raise JoinWindowError when a stored window covers the role's current token.

    Closing either of two such windows would rotate the token, so the other
    would end early. `cli_command` starts the command that the hint names.
    """
    for other in windows:
        if (
            other.cluster_id == view.cluster_id
            and other.role is role
            and other.token_fingerprint == view.token_fingerprint(role)
        ):
            until = ""
            if other.until is not None and other.until <= now:
                until = f" (due since {format_utc(other.until)})"
            elif other.until is not None:
                until = f" until {format_utc(other.until)}"
            raise JoinWindowError(
                f"A {role} join window ({other.id}) is already open{until} for the "
                f"current {role} token; a second one would rotate that token "
                "when it closes, and end the first early.",
                "Hand out the token of the open window, or close it first (O in "
                f"the console, or '{cli_command} join-window close-all') and open "
                "a new one.",
            )


def open_window(
    service: TokenService,
    role: Role,
    *,
    minutes: float | None = None,
    max_joins: int | None = None,
    store: WindowStore | None = None,
    now: datetime | None = None,
    cli_command: str = "swarmtui",
    window_id: str | None = None,
) -> tuple[JoinWindow, SwarmView]:
    """Open and store a window for `role`; return it and the swarm as read.

    The check that no other window covers the role's token and the write of
    the new window happen under the store's lock, so of two processes that
    open a window for one role at once, one is rejected. `cli_command`, such
    as "swarmtui --demo", starts the commands that error hints name.
    """
    if minutes is not None and not (
        MIN_WINDOW_MINUTES <= minutes <= MAX_WINDOW_MINUTES  # also rejects nan
    ):
        raise JoinWindowError(
            f"A join window needs a number of minutes from "
            f"{MIN_WINDOW_MINUTES_TEXT} (one microsecond) to {MAX_WINDOW_MINUTES} "
            f"(a year), not {minutes:g}.",
            "Give 1 or more minutes, or a fraction such as 0.5.",
        )
    view = service.read()
    opened_at = now or datetime.now(UTC)
    if store is not None:
        # Checked before the node list is read too, so that a second window
        # is rejected without that call.
        _reject_second_window(store.load(), view, role, opened_at, cli_command)
    nodes = service.backend.list_nodes()
    window = JoinWindow(
        role=role,
        opened_at=opened_at,
        until=None if minutes is None else opened_at + timedelta(minutes=minutes),
        max_joins=max_joins,
        baseline_node_ids=frozenset(node.id for node in nodes),
        cluster_id=view.cluster_id,
        endpoint=view.endpoint,
        token_fingerprint=view.token_fingerprint(role),
        id=window_id or new_window_id(),
    )
    if store is not None:

        def with_window(windows: list[JoinWindow]) -> list[JoinWindow]:
            _reject_second_window(windows, view, role, opened_at, cli_command)
            return [*windows, window]

        store.update(with_window)
    service.record(
        "join-window-open",
        roles=[role],
        view=view,
        result="ok",
        window_id=window.id,
        until=window.until,
        max_joins=window.max_joins,
        fingerprint=window.token_fingerprint,
    )
    return window, view


def close_window(
    service: TokenService,
    window: JoinWindow,
    reason: CloseReason,
    *,
    joined: tuple[NodeInfo, ...] = (),
    store: WindowStore | None = None,
) -> WindowClosed:
    """Rotate the window's role unless its token already changed, then forget it.

    With a `store`, the close holds the store's close lock from the check
    that the window is still stored until it is removed. A window that
    another process closed meanwhile is returned with `closed_elsewhere`,
    and nothing is rotated or recorded for it.
    """
    if store is None:
        return _rotate_and_forget(service, window, reason, joined, None)
    wait = store.lock_timeout + CLOSE_LOCK_ENGINE_CALLS * service.backend.timeout
    with contextlib.ExitStack() as held:
        try:
            stored = held.enter_context(store.closing(window, wait))
        except JoinWindowError as error:
            record_failed_close(service, window, error.title)
            raise
        if not stored:
            log.info("join window %s is no longer stored, not closed", window.id)
            # A window forgotten or deleted from the file was not closed, so
            # the token it handed out may still join.
            still_current: bool | None = None
            check_error = None
            serving = ""
            try:
                view = service.read()
            except SwarmTuiError as error:
                check_error = error
            else:
                if view.cluster_id != window.cluster_id:
                    # The node left the window's swarm, which may live on
                    # elsewhere with the token.
                    serving = view.cluster_id
                else:
                    still_current = (
                        view.token_fingerprint(window.role) == window.token_fingerprint
                    )
            closed = WindowClosed(
                window=window,
                reason=reason,
                joined=joined,
                rotation=None,
                closed_elsewhere=True,
                token_still_current=still_current,
                check_error=check_error,
                serving_cluster_id=serving,
            )
            if closed.token_left_live:
                record_failed_close(
                    service, window, "No longer stored, and its token not rotated"
                )
            return closed
        return _rotate_and_forget(service, window, reason, joined, store)


def record_failed_close(service: TokenService, window: JoinWindow, error: str) -> None:
    """Record a close that failed, with `error`, before its rotation started.

    A failed rotation is recorded by the service, so with this every attempt
    to close leaves a record.
    """
    service.record(
        CLOSE_ACTION,
        roles=[window.role],
        result="failed",
        window_id=window.id,
        cluster_id=window.cluster_id,
        old_fingerprints={window.role.value: window.token_fingerprint},
        error=error,
    )


def _rotate_and_forget(
    service: TokenService,
    window: JoinWindow,
    reason: CloseReason,
    joined: tuple[NodeInfo, ...],
    store: WindowStore | None,
) -> WindowClosed:
    """Rotate the window's role unless its token already changed; remove the window.

    A concurrent update by another admin is retried once on the fresh state,
    because the only goal here is a new token. The stored window is removed
    only after the rotation succeeded.
    """
    try:
        view = service.read()
    except SwarmTuiError as error:
        record_failed_close(service, window, error.title)
        raise
    if view.cluster_id != window.cluster_id:
        raise WindowOfOtherSwarmError(
            f"The join window was opened on swarm {window.cluster_id[:12]}, but "
            f"the engine at {service.endpoint} serves swarm {view.cluster_id[:12]}.",
            f"Close it on a manager of swarm {window.cluster_id[:12]} (it was "
            f"opened at {window.endpoint}), or remove it with 'join-window forget "
            f"{window.id}' if that swarm no longer exists.",
            view.cluster_id,
        )
    rotation: RotationResult | None = None
    window_fields = {"window_id": window.id}
    if view.token_fingerprint(window.role) == window.token_fingerprint:
        try:
            rotation = service.rotate(
                [window.role],
                expected=view,
                action=CLOSE_ACTION,
                audit_fields=window_fields,
            )
        except RotationConflictError as conflict:
            log.info("join window %s: concurrent update, retrying once", window.id)
            fresh = conflict.fresh
            if fresh.token_fingerprint(window.role) == window.token_fingerprint:
                rotation = service.rotate(
                    [window.role],
                    expected=fresh,
                    action=CLOSE_ACTION,
                    audit_fields=window_fields,
                )
            else:
                # The token was rotated meanwhile; the record names the new one.
                view = fresh
    store_error = None
    try:
        removed = store.remove(window.id) if store is not None else True
    except JoinWindowError as error:
        if rotation is None:
            raise
        # The rotation took effect, so it is reported and recorded. The
        # close's message names the store error, so the log line is for -v.
        log.info("join window %s stays stored: %s", window.id, error.message)
        removed, store_error = True, error
    if rotation is None and not removed:
        # 'join-window forget', which takes no close lock, removed the window
        # meanwhile.
        return WindowClosed(window=window, reason=reason, joined=joined, rotation=None)
    joined = _joins_at_close(service, window, joined)
    service.record(
        "join-window-closed",
        roles=[window.role],
        view=rotation.after if rotation else view,
        result="rotated" if rotation else "already-rotated",
        window_id=window.id,
        reason=str(reason),
        nodes_joined=len(joined),
    )
    return WindowClosed(
        window=window,
        reason=reason,
        joined=joined,
        rotation=rotation,
        store_error=store_error,
    )


def _joins_at_close(
    service: TokenService, window: JoinWindow, joined: tuple[NodeInfo, ...]
) -> tuple[NodeInfo, ...]:
    """Add to `joined` the nodes that joined since the caller last counted.

    A close by a signal, by the user or by a rotation elsewhere comes
    between two polls, so the node list is read once more. The token no
    longer joins anything by then. When the list cannot be read, the count
    stays as the caller had it.
    """
    try:
        nodes = service.backend.list_nodes()
    except SwarmTuiError as error:
        log.info("join window %s: nodes not listed at close: %s", window.id, error)
        return joined
    counted = {node.id for node in joined}
    later = evaluate(window, nodes, datetime.now(UTC)).joined
    listed = {node.id: node for node in nodes}
    # A node counted before its hostname or address was reported keeps its
    # role as counted, and takes them from this list.
    known = tuple(_with_details(node, listed.get(node.id)) for node in joined)
    return (*known, *(node for node in later if node.id not in counted))


def _with_details(node: NodeInfo, newer: NodeInfo | None) -> NodeInfo:
    """Return `node` with the hostname and address it lacks taken from `newer`."""
    if newer is None:
        return node
    return replace(
        node,
        hostname=node.hostname or newer.hostname,
        address=node.address or newer.address,
    )


def token_rotated_since(window: JoinWindow, view: SwarmView) -> bool:
    """Tell whether `view` no longer has the token that `window` handed out.

    `view` is a read of the window's own swarm.
    """
    return view.token_fingerprint(window.role) != window.token_fingerprint


def due_windows(
    service: TokenService, store: WindowStore, now: datetime | None = None
) -> tuple[SwarmView, list[tuple[JoinWindow, WindowEvaluation]]]:
    """Return the swarm as read and its stored windows that should close now.

    A window whose token was rotated since it opened is due with the reason
    REPLACED: that rotation ended it, and closing it rotates nothing.
    """
    view = service.read()
    windows = store.for_cluster(view.cluster_id)
    if not windows:
        return view, []
    nodes = service.backend.list_nodes()
    now = now or datetime.now(UTC)
    due = []
    for window in windows:
        evaluation = evaluate(window, nodes, now)
        if token_rotated_since(window, view):
            evaluation = WindowEvaluation(evaluation.joined, True, CloseReason.REPLACED)
        if evaluation.should_close:
            due.append((window, evaluation))
    return view, due


def close_windows(
    service: TokenService,
    store: WindowStore,
    due: Iterable[tuple[JoinWindow, WindowEvaluation]],
) -> list[WindowClosed]:
    """Close each window of `due` for the reason of its evaluation."""
    closed = []
    for window, evaluation in due:
        assert evaluation.reason is not None
        closed.append(
            close_window(
                service,
                window,
                evaluation.reason,
                joined=evaluation.joined,
                store=store,
            )
        )
    return closed


def close_due_windows(
    service: TokenService, store: WindowStore, now: datetime | None = None
) -> list[WindowClosed]:
    """Close every stored window of the service's swarm that is due."""
    _, due = due_windows(service, store, now)
    return close_windows(service, store, due)


def close_all_windows(
    service: TokenService, store: WindowStore
) -> tuple[SwarmView, list[WindowClosed]]:
    """Close every stored window of the service's swarm now, rotating its token.

    A window whose token was rotated since it opened ends as REPLACED,
    without another rotation. Returns the swarm as read and the closed windows.
    """
    view = service.read()
    closed = []
    for window in store.for_cluster(view.cluster_id):
        reason = (
            CloseReason.REPLACED
            if token_rotated_since(window, view)
            else CloseReason.BY_USER
        )
        closed.append(close_window(service, window, reason, store=store))
    return view, closed
