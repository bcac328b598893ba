"""A token history kept in a file, so a later process can recognise an old token.

The file stores fingerprints only, never tokens: for each cluster, the
fingerprint last seen for each role, when it was first seen, and the
fingerprints retired since. A
token rotated by another tool (the docker CLI, another admin) is noticed the
next time swarmtui reads a different current token for that role, and is
recorded as retired at that moment.

The file is JSON with mode 0600 in the platform's user state folder, written
atomically under a lock. A regular file that is damaged is moved aside with a
warning and a new, empty history starts; it is never overwritten in place.
A file written by a newer swarmtui (a higher format number), a path that is
not a regular file (a folder, a FIFO, a device) and a file that cannot be
read are left as they are: the process warns and records no history.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmtui.atomicfile import (
    MAX_FILE_BYTES,
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
from swarmtui.models import Role

log = logging.getLogger(__name__)

HISTORY_FORMAT = 1
DEFAULT_FILE_NAME = "token-history.json"
# The history only adds detail, so a read or rotation waits at most this long
# for another process that holds its lock, then goes on without it.
LOCK_TIMEOUT = 1.0
# Older entries are dropped first once a cluster has this many retired tokens.
MAX_RETIRED_PER_CLUSTER = 500
# Broken files set aside within one second get the suffixes -1, -2 and so on.
MAX_SET_ASIDE_PER_SECOND = 100
# The reader takes files up to MAX_FILE_BYTES. The writer drops the oldest
# retired fingerprints, of any cluster, to keep the file at most this size.
MAX_HISTORY_BYTES = MAX_FILE_BYTES - 64 * 1024
# Swarm IDs are 25 characters. A longer one, which only a faulty engine
# sends, is not recorded, so that it cannot fill the file.
MAX_CLUSTER_ID_CHARACTERS = 64

_FINGERPRINT = re.compile(r"fp:[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}")
_ROLES = {role.value for role in Role}


def default_history_path() -> Path:
    """Return the token history file in the platform's user state folder."""
    import platformdirs

    return platformdirs.user_state_path("swarmtui") / DEFAULT_FILE_NAME


def open_default_history() -> FileTokenHistory:
    """Open the token history in its default place."""
    return FileTokenHistory(default_history_path())


class HistoryFormatError(ValueError):
    """A history file whose content is not what this module writes."""


def _empty() -> dict[str, Any]:
    return {"format": HISTORY_FORMAT, "clusters": {}}


def _check_time(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise HistoryFormatError(f"{where} must be a time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HistoryFormatError(f"{where} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise HistoryFormatError(f"{where} has no time zone")
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise HistoryFormatError(
            f"{where} lies outside the years 1 to 9999 in UTC"
        ) from None


def _check_entry(entry: Any, where: str, time_key: str) -> None:
    if not isinstance(entry, dict):
        raise HistoryFormatError(f"{where} must be an object")
    if entry.get("role") not in _ROLES:
        raise HistoryFormatError(f"{where}.role must be 'worker' or 'manager'")
    _check_time(entry.get(time_key), f"{where}.{time_key}")


def validate_document(document: Any) -> dict[str, Any]:
    """Check the shape of a parsed history file and return it."""
    if not isinstance(document, dict):
        raise HistoryFormatError("the top level must be an object")
    if "format" not in document:
        raise HistoryFormatError("the key 'format' is missing")
    # true equals 1 in Python, and 1.0 too, so the type is checked as well.
    number = document["format"]
    if type(number) is not int or number != HISTORY_FORMAT:
        raise HistoryFormatError(
            f"'format' is {json.dumps(document['format'])[:40]}, expected "
            f"{HISTORY_FORMAT}"
        )
    clusters = document.get("clusters")
    if not isinstance(clusters, dict):
        raise HistoryFormatError("'clusters' must be an object")
    for cluster_id, cluster in clusters.items():
        where = f"clusters.{cluster_id}"
        if not isinstance(cluster, dict):
            raise HistoryFormatError(f"{where} must be an object")
        current = cluster.get("current", {})
        if not isinstance(current, dict):
            raise HistoryFormatError(f"{where}.current must be an object")
        for role, value in current.items():
            if role not in _ROLES or not isinstance(value, str):
                raise HistoryFormatError(f"{where}.current.{role} is not valid")
            if not _FINGERPRINT.fullmatch(value):
                raise HistoryFormatError(f"{where}.current.{role} is not a fingerprint")
        _drop_bad_seen_times(cluster, where)
        retired = cluster.get("retired", {})
        if not isinstance(retired, dict):
            raise HistoryFormatError(f"{where}.retired must be an object")
        for key, entry in retired.items():
            if not _FINGERPRINT.fullmatch(key):
                raise HistoryFormatError(
                    f"{where}.retired has a key that is not a fingerprint"
                )
            _check_entry(entry, f"{where}.retired[{key}]", "retired_at")
    return document


def _drop_bad_seen_times(cluster: dict[str, Any], where: str) -> None:
    """Remove the first-seen times of a cluster that cannot be used.

    They only date the current tokens, so a bad one is dropped with a log
    line rather than setting the whole history aside with its retired tokens.
    """
    seen = cluster.get("seen")
    if seen is None:
        return
    if not isinstance(seen, dict):
        log.info("token history: %s.seen is not an object; dropped", where)
        del cluster["seen"]
        return
    for role, value in list(seen.items()):
        try:
            if role not in _ROLES:
                raise HistoryFormatError(f"{where}.seen.{role} is not a role")
            _check_time(value, f"{where}.seen.{role}")
        except HistoryFormatError as error:
            log.info("token history: %s; dropped", error)
            del seen[role]


class FileTokenHistory:
    """A TokenHistory stored in a JSON file; see the module docstring."""

    def __init__(
        self, path: Path, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self.path = Path(path)
        self._now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._warned = False

    @property
    def lock_path(self) -> Path:
        return lock_path_beside(self.path)

    # -- TokenHistory -----------------------------------------------------

    def remember(self, cluster_id: str, role: Role, fingerprint: str) -> None:
        """Record the current token of a role; a changed one retires the old."""
        self.update(cluster_id, current={Role(role): fingerprint})

    def retire(self, cluster_id: str, role: Role, fingerprint: str) -> None:
        self.update(cluster_id, retired={Role(role): fingerprint})

    def update(
        self,
        cluster_id: str,
        *,
        current: Mapping[Role, str] | None = None,
        retired: Mapping[Role, str] | None = None,
    ) -> None:
        """Retire the `retired` tokens, then record the `current` ones, in one write.

        A current token that differs from the one recorded retires the
        recorded one, as `remember` does.
        """

        if len(cluster_id) > MAX_CLUSTER_ID_CHARACTERS:
            log.info(
                "token history: a cluster ID of %d characters is not recorded",
                len(cluster_id),
            )
            return

        def change(document: dict[str, Any]) -> bool:
            cluster = _cluster(document, cluster_id)
            changed = False
            for role, fingerprint in (retired or {}).items():
                role = Role(role)
                _add_retired(cluster, fingerprint, role, self._now())
                if cluster["current"].get(role.value) == fingerprint:
                    del cluster["current"][role.value]
                    cluster.get("seen", {}).pop(role.value, None)
                changed = True
            for role, fingerprint in (current or {}).items():
                role = Role(role)
                previous = cluster["current"].get(role.value)
                if previous == fingerprint:
                    continue
                cluster["current"][role.value] = fingerprint
                cluster.setdefault("seen", {})[role.value] = self._now().isoformat()
                if previous is not None and previous not in cluster["retired"]:
                    # NOTE: the token changed outside this history (another
                    # tool rotated it), so the time recorded is when the
                    # change was first seen, not when it happened.
                    _add_retired(cluster, previous, role, self._now())
                cluster["retired"].pop(fingerprint, None)
                changed = True
            return changed

        self._update(change)

    def lookup(self, cluster_id: str, fingerprint: str) -> tuple[Role, datetime] | None:
        document = self._read()
        cluster = document["clusters"].get(cluster_id)
        if not cluster:
            return None
        entry = cluster.get("retired", {}).get(fingerprint)
        if entry is None:
            return None
        return Role(entry["role"]), _parse_utc(entry["retired_at"])

    def current_since(
        self, cluster_id: str, role: Role, fingerprint: str
    ) -> datetime | None:
        """Return when this history first saw `fingerprint` as the role's token.

        That is the time its predecessor was retired: by a rotation that
        swarmtui made, or when swarmtui first read the new token after another
        tool rotated it. None when no predecessor of the current token is known.
        """
        role = Role(role)
        cluster = self._read()["clusters"].get(cluster_id)
        if not cluster or cluster.get("current", {}).get(role.value) != fingerprint:
            return None
        times = [
            _parse_utc(entry["retired_at"])
            for entry in cluster.get("retired", {}).values()
            if entry["role"] == role.value
        ]
        return max(times) if times else None

    def first_seen(
        self, cluster_id: str, role: Role, fingerprint: str
    ) -> datetime | None:
        """Return when this history first recorded `fingerprint` as the role's token.

        None when another token is current, or the file was written before
        these times were kept.
        """
        role = Role(role)
        cluster = self._read()["clusters"].get(cluster_id)
        if not cluster or cluster.get("current", {}).get(role.value) != fingerprint:
            return None
        seen = cluster.get("seen", {}).get(role.value)
        return _parse_utc(seen) if seen is not None else None

    # -- file access ------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        """Return the history, empty when the file is missing or cannot be used."""
        document = self._load()
        return _empty() if document is None else document

    def _load(self) -> dict[str, Any] | None:
        """Read the file and return its history, or None to leave the file alone.

        A missing file and a damaged one, which is moved aside, give an empty
        history. None means that this process must not write the file,
        because a newer swarmtui wrote it, it cannot be read, or the path
        names a folder, a FIFO or a device.
        """
        try:
            data = read_private_file(self.path)
        except FileNotFoundError:
            return _empty()
        except FileRejected as error:
            file_type = special_file_type(self.path)
            if file_type is None:
                self._set_aside(str(error))
                return _empty()
            self._warn_special_file(file_type)
            return None
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            self._warn(
                f"the token history {self.path} could not be read ({cause}), so "
                f"old tokens are neither recorded nor recognised. {fix}"
            )
            return None
        try:
            document = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self._set_aside(f"line {line} is not UTF-8 text")
            return _empty()
        except json.JSONDecodeError as error:
            self._set_aside(
                f"it is not valid JSON at line {error.lineno} column {error.colno}"
            )
            return _empty()
        except (ValueError, RecursionError):
            # The JSON decoder raises ValueError for an integer too long to
            # convert, and RecursionError for arrays nested too deeply.
            self._set_aside("it has a number too long or nesting too deep to read")
            return _empty()
        newer = _newer_format(document)
        if newer is not None:
            self._warn(
                f"the token history {self.path} was written by a newer swarmtui "
                f"(file format {newer}, and this swarmtui reads format "
                f"{HISTORY_FORMAT}), so it is left as it is and this run records "
                "no token history. Use the newer swarmtui, or move the file away "
                "to start a new history with this one."
            )
            return None
        try:
            return validate_document(document)
        except HistoryFormatError as error:
            self._set_aside(str(error))
            return _empty()

    def _move_aside(self, stamp: str) -> Path:
        """Rename the file to a `.corrupt-STAMP[-N]` name that no file has yet.

        A hard link to the new name fails when that name exists, so a file
        set aside earlier in the same second is never replaced. A file system
        without hard links gets a rename to a name that was free just before.
        """
        for number in range(MAX_SET_ASIDE_PER_SECOND):
            suffix = f"-{number}" if number else ""
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}")
            try:
                os.link(self.path, target)
            except FileExistsError:
                continue
            except OSError:
                # NOTE: no test reaches this, since their file systems have
                # hard links.
                if os.path.lexists(target):
                    continue
                os.replace(self.path, target)
                return target
            os.unlink(self.path)
            return target
        raise FileExistsError(errno.EEXIST, "file exists", str(target))

    def _set_aside(self, problem: str) -> None:
        """Move a broken history file out of the way, keeping it for inspection."""
        stamp = self._now().strftime("%Y%m%dT%H%M%S")
        try:
            target = self._move_aside(stamp)
        except OSError as error:
            self._warn(
                f"the token history {self.path} is unreadable ({problem}) and "
                f"could not be moved aside ({error.strerror}); old tokens will "
                "not be recognised"
            )
            return
        log.warning(
            "the token history %s was unreadable (%s); it was moved to %s and a "
            "new history was started",
            self.path,
            problem,
            target,
        )

    def _warn_special_file(self, file_type: str) -> None:
        self._warn(
            f"the token history {self.path} is {file_type}, not a regular file, "
            "so old tokens are neither recorded nor recognised. To keep a token "
            f"history, make {self.path} a regular file or a path that does not "
            "exist."
        )

    def _warn(self, message: str) -> None:
        if not self._warned:
            log.warning("%s", message)
            self._warned = True

    def _update(self, change: Callable[[dict[str, Any]], bool]) -> None:
        """Apply `change` to the newest document under the lock, then write it.

        A history that cannot be written is logged once and skipped: the
        history only improves old-token results and never blocks an action.
        """
        # Checked before the lock, so that a link to a device such as
        # /dev/null gets no lock file next to the device.
        file_type = special_file_type(self.path)
        if file_type is not None:
            self._warn_special_file(file_type)
            return
        try:
            ensure_folder(self.path.parent)
            with exclusive_lock(self.lock_path, LOCK_TIMEOUT):
                document = self._load()
                if document is None or not change(document):
                    return
                write_atomic(self.path, _fitted(document))
        except LockTimeout:
            self._warn(f"the token history {self.path} stayed locked; not updated")
        except OSError as error:
            cause, fix = explain_file_error(error, self.path)
            self._warn(
                f"the token history {self.path} could not be written ({cause}), "
                f"so old tokens may not be recognised as old. {fix}"
            )


def _encoded(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _fitted(document: dict[str, Any]) -> bytes:
    """Return the file's bytes, at most MAX_HISTORY_BYTES long.

    The oldest entries go first: a retired fingerprint is as old as its
    retirement, and a cluster, with its current tokens, as its newest
    first-seen or retirement time. So the tokens of swarms seen long ago
    go before those of a recent rotation.
    """
    data = _encoded(document)
    dropped = 0
    dropped_clusters = 0
    clusters = document["clusters"]
    while len(data) > MAX_HISTORY_BYTES and clusters:
        # Drop the share of the entries by which the file is too large, or one.
        share = (len(data) - MAX_HISTORY_BYTES) / len(data)
        # By the moment, not the text: a file edited by hand may give times
        # with other UTC offsets. A retired entry sorts before its cluster.
        entries = sorted(
            [
                (_parse_utc(entry["retired_at"]), 0, cluster_id, fingerprint)
                for cluster_id, cluster in clusters.items()
                for fingerprint, entry in cluster.get("retired", {}).items()
            ]
            + [
                (_last_active(cluster), 1, cluster_id, "")
                for cluster_id, cluster in clusters.items()
            ]
        )
        count = max(1, int(len(entries) * share) + 1)
        for _, kind, cluster_id, fingerprint in entries[:count]:
            cluster = clusters.get(cluster_id)
            if cluster is None:
                continue
            if kind == 1:
                del clusters[cluster_id]
                dropped_clusters += 1
            elif cluster.get("retired", {}).pop(fingerprint, None) is not None:
                dropped += 1
        data = _encoded(document)
    if dropped or dropped_clusters:
        log.info(
            "token history: dropped the %d oldest retired fingerprint(s) and "
            "%d cluster(s) seen longest ago to keep the file under %d bytes",
            dropped,
            dropped_clusters,
            MAX_HISTORY_BYTES,
        )
    return data


def _last_active(cluster: dict[str, Any]) -> datetime:
    """Return the newest first-seen or retirement time of a cluster.

    A cluster without such times counts as seen longest ago.
    """
    times = [
        _parse_utc(text)
        for text in cluster.get("seen", {}).values()
        if isinstance(text, str)
    ]
    times += [
        _parse_utc(entry["retired_at"]) for entry in cluster.get("retired", {}).values()
    ]
    return max(times, default=datetime.min.replace(tzinfo=UTC))


def _newer_format(document: Any) -> int | None:
    """Return the format number of a document from a newer swarmtui, else None."""
    if not isinstance(document, dict):
        return None
    number = document.get("format")
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    return number if number > HISTORY_FORMAT else None


def _parse_utc(text: str) -> datetime:
    """Return a time that `validate_document` accepted, in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _cluster(document: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    cluster: dict[str, Any] = document["clusters"].setdefault(cluster_id, {})
    cluster.setdefault("current", {})
    cluster.setdefault("retired", {})
    return cluster


def _add_retired(
    cluster: dict[str, Any], fingerprint: str, role: Role, at: datetime
) -> None:
    retired: dict[str, Any] = cluster["retired"]
    retired.setdefault(fingerprint, {"role": role.value, "retired_at": at.isoformat()})
    if len(retired) > MAX_RETIRED_PER_CLUSTER:
        oldest = sorted(retired, key=lambda key: _parse_utc(retired[key]["retired_at"]))
        for key in oldest[: len(retired) - MAX_RETIRED_PER_CLUSTER]:
            del retired[key]
