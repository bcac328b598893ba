"""The file-backed token history: fingerprints only, mode 0600, bad files set aside."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from demo_support import FIXED_NOW, Clock

from swarmtui import history as history_module
from swarmtui.history import (
    MAX_HISTORY_BYTES,
    MAX_RETIRED_PER_CLUSTER,
    FileTokenHistory,
    default_history_path,
    open_default_history,
)
from swarmtui.models import Role
from swarmtui.tokens import fingerprint

CLUSTER = "0123456789abcdefghijklmno"
WORKER_TOKEN = "SWMTKN-1-" + "1" * 50 + "-" + "a" * 25
MANAGER_TOKEN = "SWMTKN-1-" + "1" * 50 + "-" + "b" * 25
NEW_WORKER_TOKEN = "SWMTKN-1-" + "1" * 50 + "-" + "c" * 25


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "token-history.json"


@pytest.fixture
def history(path: Path, clock: Clock) -> FileTokenHistory:
    return FileTokenHistory(path, now=clock)


def test_retired_token_found_by_new_instance(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    retired_at = clock.advance(hours=3)
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    reopened = FileTokenHistory(path)
    assert reopened.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) == (
        Role.WORKER,
        retired_at,
    )
    assert reopened.lookup(CLUSTER, fingerprint(MANAGER_TOKEN)) is None
    assert reopened.lookup("another-cluster", fingerprint(WORKER_TOKEN)) is None


def test_change_seen_by_remember_retires_old(
    history: FileTokenHistory, clock: Clock
) -> None:
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.remember(CLUSTER, Role.MANAGER, fingerprint(MANAGER_TOKEN))
    noticed_at = clock.advance(days=1)
    history.remember(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) == (
        Role.WORKER,
        noticed_at,
    )
    assert history.lookup(CLUSTER, fingerprint(NEW_WORKER_TOKEN)) is None
    assert history.lookup(CLUSTER, fingerprint(MANAGER_TOKEN)) is None


def test_update_rotation_writes_once(
    history: FileTokenHistory,
    path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history.update(
        CLUSTER,
        current={
            Role.WORKER: fingerprint(WORKER_TOKEN),
            Role.MANAGER: fingerprint(MANAGER_TOKEN),
        },
    )
    written: list[Path] = []
    original = history_module.write_atomic

    def counting_write(target: Path, data: bytes) -> None:
        written.append(target)
        original(target, data)

    monkeypatch.setattr(history_module, "write_atomic", counting_write)
    rotated_at = clock.advance(hours=2)
    history.update(
        CLUSTER,
        retired={Role.WORKER: fingerprint(WORKER_TOKEN)},
        current={
            Role.WORKER: fingerprint(NEW_WORKER_TOKEN),
            Role.MANAGER: fingerprint(MANAGER_TOKEN),
        },
    )

    assert written == [path]
    reopened = FileTokenHistory(path)
    assert reopened.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) == (
        Role.WORKER,
        rotated_at,
    )
    assert reopened.lookup(CLUSTER, fingerprint(MANAGER_TOKEN)) is None
    assert (
        reopened.current_since(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))
        == rotated_at
    )


def test_update_unchanged_token_stays_current(
    history: FileTokenHistory, path: Path
) -> None:
    history.update(CLUSTER, current={Role.WORKER: fingerprint(WORKER_TOKEN)})
    history.update(
        CLUSTER,
        retired={Role.WORKER: fingerprint(WORKER_TOKEN)},
        current={Role.WORKER: fingerprint(WORKER_TOKEN)},
    )

    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None
    document = json.loads(path.read_text())
    current = document["clusters"][CLUSTER]["current"]
    assert current == {"worker": fingerprint(WORKER_TOKEN)}


def test_update_without_change_skips_write(
    history: FileTokenHistory, path: Path
) -> None:
    history.update(CLUSTER, current={Role.WORKER: fingerprint(WORKER_TOKEN)})
    written = path.stat().st_mtime_ns
    os.utime(path, ns=(written - 10**9, written - 10**9))
    history.update(CLUSTER, current={Role.WORKER: fingerprint(WORKER_TOKEN)})
    assert path.stat().st_mtime_ns == written - 10**9


def test_file_is_private_and_holds_no_token(
    history: FileTokenHistory, path: Path
) -> None:
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.remember(CLUSTER, Role.MANAGER, fingerprint(MANAGER_TOKEN))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for token in (WORKER_TOKEN, MANAGER_TOKEN):
        assert token not in text
        assert token.rsplit("-", 1)[1] not in text
    assert fingerprint(WORKER_TOKEN) in text
    assert sorted(item.name for item in path.parent.iterdir()) == [
        "token-history.json",
        "token-history.json.lock",
    ]


def test_unchanged_remember_does_not_write(
    history: FileTokenHistory, path: Path
) -> None:
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    first = path.stat()
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    second = path.stat()
    assert (first.st_ino, first.st_mtime_ns) == (second.st_ino, second.st_mtime_ns)


def test_first_seen_kept_until_change(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    first = clock()
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    clock.advance(hours=2)
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    reopened = FileTokenHistory(path)
    assert reopened.first_seen(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN)) == (
        first
    )
    assert reopened.first_seen(CLUSTER, Role.MANAGER, fingerprint(WORKER_TOKEN)) is (
        None
    )

    changed = clock.advance(hours=1)
    history.remember(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))
    assert history.first_seen(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN)) is (None)
    assert history.first_seen(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN)) == (
        changed
    )

    clock.advance(hours=1)
    history.retire(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))
    document = json.loads(path.read_text())
    assert "worker" not in document["clusters"][CLUSTER]["seen"]


@pytest.mark.parametrize(
    "seen",
    [[], "today", {"admin": "2026-01-01T00:00:00+00:00"}, {"worker": "today"}],
    ids=["list", "text", "role", "time"],
)
def test_bad_first_seen_keeps_history(path: Path, seen: object) -> None:
    path.parent.mkdir(parents=True)
    old = fingerprint(WORKER_TOKEN)
    cluster = {
        "current": {"worker": fingerprint(NEW_WORKER_TOKEN)},
        "retired": {old: {"role": "worker", "retired_at": "2026-01-01T00:00:00+00:00"}},
        "seen": seen,
    }
    path.write_text(json.dumps({"format": 1, "clusters": {CLUSTER: cluster}}))
    history = FileTokenHistory(path)

    found = history.lookup(CLUSTER, old)
    first = history.first_seen(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))

    assert found is not None
    assert found[0] is Role.WORKER
    assert first is None
    assert [item.name for item in path.parent.iterdir()] == [path.name]


def test_first_seen_absent_in_older_file(path: Path) -> None:
    path.parent.mkdir(parents=True)
    current = {"worker": fingerprint(WORKER_TOKEN)}
    document = {"format": 1, "clusters": {CLUSTER: {"current": current}}}
    path.write_text(json.dumps(document))
    history = FileTokenHistory(path)

    assert history.first_seen(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN)) is None
    assert path.read_text() == json.dumps(document)


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": 0, "clusters": {}}',
        b'{"format": "2", "clusters": {}}',
        b'{"format": true, "clusters": {}}',
        b'{"format": 1.0, "clusters": {}}',
        b'{"clusters": {}}',
        b'{"format": 1, "clusters": {"c": {"retired": {"SWMTKN-1-x": {}}}}}',
        b'{"format": 1, "clusters": {"c": {"retired": {"fp:aaaa-bbbb-cccc": '
        b'{"role": "worker", "retired_at": "yesterday"}}}}}',
        b'{"format": 1, "clusters": {"c": {"retired": {"fp:aaaa-bbbb-cccc": '
        b'{"role": "worker", "retired_at": "0001-01-01T00:00:00+01:00"}}}}}',
        b'{"format": 1, "clusters": {"c": {"retired": {"fp:aaaa-bbbb-cccc": '
        b'{"role": "worker", "retired_at": "9999-12-31T23:59:00-01:00"}}}}}',
    ],
    ids=[
        "syntax",
        "binary",
        "list",
        "format-zero",
        "format-string",
        "format-true",
        "format-float",
        "format-missing",
        "token-key",
        "bad-time",
        "before-utc-year-1",
        "after-utc-year-9999",
    ],
)
def test_corrupt_file_moved_aside(
    history: FileTokenHistory,
    path: Path,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check_moved_aside(history, path, content, caplog)


@pytest.mark.parametrize(
    "content",
    [b"[" * 200_000 + b"]" * 200_000, b'{"format": ' + b"9" * 5000 + b"}"],
    ids=["deep-nesting", "long-number"],
)
def test_unparsable_file_moved_aside(
    history: FileTokenHistory,
    path: Path,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check_moved_aside(history, path, content, caplog)


def check_moved_aside(
    history: FileTokenHistory,
    path: Path,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    caplog.set_level(logging.WARNING)
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None
    set_aside = [item for item in path.parent.iterdir() if ".corrupt-" in item.name]
    assert len(set_aside) == 1
    assert set_aside[0].read_bytes() == content
    assert "moved to" in caplog.text
    assert not re.search(r"[A-Z][a-z]+Error", caplog.text)
    assert not path.exists()

    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is not None
    assert set_aside[0].read_bytes() == content


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "(it is not valid JSON at line 1 column 2)"),
        (b'{"format": 1,\n "clusters": \xff}', "(line 2 is not UTF-8 text)"),
        (b'{"format": 0, "clusters": {}}', "('format' is 0, expected 1)"),
        (b'{"clusters": {}}', "(the key 'format' is missing)"),
        (b"[" * 200_000 + b"]" * 200_000, "(it has a number too long or nesting"),
    ],
    ids=["syntax", "binary", "format-zero", "format-missing", "deep-nesting"],
)
def test_set_aside_names_problem(
    history: FileTokenHistory,
    path: Path,
    content: bytes,
    problem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    caplog.set_level(logging.WARNING)
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None
    assert f"the token history {path} was unreadable {problem}" in caplog.text


def test_newer_format_left_alone(
    history: FileTokenHistory, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    content = (
        b'{"clusters": {"c": {"retired": {"fp:aaaa-bbbb-cccc": {"role": '
        b'"worker", "retired_at": "2026-01-01T00:00:00+00:00"}}}}, "format": 2}'
    )
    path.write_bytes(content)
    caplog.set_level(logging.WARNING)

    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None

    assert path.read_bytes() == content
    assert sorted(item.name for item in path.parent.iterdir()) == [
        path.name,
        path.name + ".lock",
    ]
    assert caplog.text.count("written by a newer swarmtui") == 1
    assert "(file format 2, and this swarmtui reads format 1)" in caplog.text
    assert "this run records no token history" in caplog.text
    assert not re.search(r"[A-Z][a-z]+Error", caplog.text)


@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-fifo"])
def test_special_file_left_alone(
    history: FileTokenHistory,
    path: Path,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path.parent.mkdir(parents=True)
    target = path.parent.parent / "elsewhere" / "fifo"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        target.parent.mkdir()
        os.mkfifo(target)
        path.symlink_to(target)
    before = os.lstat(path)
    caplog.set_level(logging.WARNING)

    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None

    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert [item.name for item in path.parent.iterdir()] == [path.name]
    if kind == "link-to-fifo":
        assert [item.name for item in target.parent.iterdir()] == ["fifo"]
    assert caplog.text.count("not a regular file") == 1
    assert "moved" not in caplog.text


def test_second_set_aside_keeps_first(
    history: FileTokenHistory, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    caplog.set_level(logging.WARNING)
    for content in (b"{first", b"{second"):
        path.write_bytes(content)
        assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None

    set_aside = sorted(item.name for item in path.parent.iterdir())
    stamp = FIXED_NOW.strftime("%Y%m%dT%H%M%S")
    assert set_aside == [
        f"{path.name}.corrupt-{stamp}",
        f"{path.name}.corrupt-{stamp}-1",
    ]
    assert (path.parent / set_aside[0]).read_bytes() == b"{first"
    assert (path.parent / set_aside[1]).read_bytes() == b"{second"


def test_unwritable_history_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    history = FileTokenHistory(blocker / "history.json")
    caplog.set_level(logging.WARNING)
    history.retire(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.retire(CLUSTER, Role.MANAGER, fingerprint(MANAGER_TOKEN))
    assert history.lookup(CLUSTER, fingerprint(WORKER_TOKEN)) is None
    assert caplog.text.count("could not be written") == 1
    assert f"({blocker} is a file, not a folder)" in caplog.text


def test_retired_list_is_bounded(history: FileTokenHistory, path: Path) -> None:
    document = {"format": 1, "clusters": {CLUSTER: {"current": {}, "retired": {}}}}
    retired = document["clusters"][CLUSTER]["retired"]
    for number in range(MAX_RETIRED_PER_CLUSTER):
        key = f"fp:{number:04d}-0000-0000"
        retired[key] = {
            "role": "worker",
            "retired_at": f"2020-01-01T00:00:{number % 60:02d}+00:00",
        }
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document))
    os.chmod(path, 0o600)
    history.retire(CLUSTER, Role.MANAGER, fingerprint(MANAGER_TOKEN))
    stored = json.loads(path.read_text())["clusters"][CLUSTER]["retired"]
    assert len(stored) == MAX_RETIRED_PER_CLUSTER
    assert fingerprint(MANAGER_TOKEN) in stored
    assert "fp:0000-0000-0000" not in stored


def full_history(
    path: Path, clusters: int, day: str = "", offset: str = "+00:00"
) -> None:
    """Write a history of `clusters` clusters, each with a full retired list.

    The entries are of `day` (such as "2026-11-21"), or of one day of
    January 2020 per cluster, at times with the UTC `offset`.
    """
    document: dict[str, object] = {"format": 1, "clusters": {}}
    for index in range(clusters):
        date = day or f"2020-01-{index % 28 + 1:02d}"
        retired = {
            f"fp:{index:04d}-{number:04d}-0000": {
                "role": "worker",
                "retired_at": f"{date}T00:{number // 60 % 60:02d}"
                f":{number % 60:02d}{offset}",
            }
            for number in range(MAX_RETIRED_PER_CLUSTER)
        }
        cluster = {
            "current": {"worker": f"fp:{index:04d}-cccc-0000"},
            "retired": retired,
        }
        document["clusters"][f"c{index:024d}"] = cluster  # type: ignore[index]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True))
    os.chmod(path, 0o600)


def test_history_stays_under_read_limit(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    full_history(path, clusters=19)
    assert path.stat().st_size > MAX_HISTORY_BYTES

    for number in range(40):
        clock.advance(minutes=1)
        token = "SWMTKN-1-" + "1" * 50 + "-" + f"{number:025d}"
        history.remember(CLUSTER, Role.WORKER, fingerprint(token))

    assert path.stat().st_size <= MAX_HISTORY_BYTES
    reopened = FileTokenHistory(path)
    newest = "SWMTKN-1-" + "1" * 50 + "-" + f"{38:025d}"
    assert reopened.lookup(CLUSTER, fingerprint(newest)) is not None
    stored = json.loads(path.read_text())["clusters"]
    assert len(stored) == 20
    assert stored["c" + "0" * 24]["current"] == {"worker": "fp:0000-cccc-0000"}
    # The oldest retired entries went first: those of the first day.
    assert "fp:0000-0000-0000" not in stored["c" + "0" * 24]["retired"]
    assert "fp:0018-0499-0000" in stored[f"c{18:024d}"]["retired"]
    assert not list(path.parent.glob("*.corrupt-*"))


def test_history_trimmed_by_moment_not_text(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    # 00:00 at UTC+14 on the 21st is 10:00 UTC on the 20th: before the
    # clock's noon, though the text sorts after it.
    full_history(path, clusters=19, day="2026-11-21", offset="+14:00")

    tokens = ["SWMTKN-1-" + "1" * 50 + "-" + f"{number:025d}" for number in range(4)]
    for token in tokens:
        clock.advance(minutes=1)
        history.remember(CLUSTER, Role.WORKER, fingerprint(token))

    assert path.stat().st_size <= MAX_HISTORY_BYTES
    reopened = FileTokenHistory(path)
    for token in tokens[:-1]:
        assert reopened.lookup(CLUSTER, fingerprint(token)) is not None


def write_current_only_history(
    path: Path, seen: Callable[[int], str]
) -> dict[str, dict[str, Any]]:
    """Write a history just under the size limit, of clusters with current tokens only.

    `seen(index)` gives the time each cluster's worker token was first seen.
    Returns the clusters written.
    """

    def cluster(index: int) -> dict[str, Any]:
        return {
            "current": {"worker": f"fp:{index:04d}-cccc-0000"},
            "seen": {"worker": seen(index)},
            "retired": {},
        }

    cluster_size = len(json.dumps({"c" + "0" * 24: cluster(0)}, indent=1))
    count = MAX_HISTORY_BYTES // cluster_size
    clusters = {f"c{index:024d}": cluster(index) for index in range(count)}
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": 1, "clusters": clusters}, indent=1))
    os.chmod(path, 0o600)
    return clusters


def test_many_swarms_drop_oldest_clusters(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    clusters = write_current_only_history(
        path, lambda index: f"2020-01-{index % 28 + 1:02d}T00:00:00+00:00"
    )

    for number in range(20):
        clock.advance(minutes=1)
        history.remember(f"new{number:022d}", Role.WORKER, fingerprint(WORKER_TOKEN))

    assert path.stat().st_size <= MAX_HISTORY_BYTES
    stored = json.loads(path.read_text())["clusters"]
    assert all(f"new{number:022d}" in stored for number in range(20))
    # The clusters first seen longest ago went first.
    dropped = [key for key in clusters if key not in stored]
    assert dropped
    last_dropped = max(clusters[key]["seen"]["worker"] for key in dropped)
    first_kept = min(stored[key]["seen"]["worker"] for key in clusters if key in stored)
    assert last_dropped <= first_kept
    assert not list(path.parent.glob("*.corrupt-*"))
    reopened = FileTokenHistory(path)
    assert reopened.lookup("new" + "0" * 22, fingerprint(WORKER_TOKEN)) is None
    assert "new" + "0" * 22 in json.loads(path.read_text())["clusters"]


def test_recent_rotations_kept_over_stale_clusters(
    history: FileTokenHistory, path: Path, clock: Clock
) -> None:
    # Swarms first seen long ago, none of them with a retired token.
    clusters = write_current_only_history(
        path, lambda index: "2025-01-01T00:00:00+00:00"
    )
    tokens = ["SWMTKN-1-" + "1" * 50 + "-" + f"{number:025d}" for number in range(4)]

    for token in tokens:
        clock.advance(minutes=1)
        history.remember(CLUSTER, Role.WORKER, fingerprint(token))

    assert path.stat().st_size <= MAX_HISTORY_BYTES
    reopened = FileTokenHistory(path)
    for token in tokens[:-1]:
        assert reopened.lookup(CLUSTER, fingerprint(token)) is not None
    stored = json.loads(path.read_text())["clusters"]
    assert len(stored) < len(clusters)


def test_long_cluster_id_not_recorded(history: FileTokenHistory, path: Path) -> None:
    history.remember("x" * 100_000, Role.WORKER, fingerprint(WORKER_TOKEN))
    history.remember(CLUSTER, Role.WORKER, fingerprint(WORKER_TOKEN))

    stored = json.loads(path.read_text())["clusters"]
    assert list(stored) == [CLUSTER]


def test_default_path_in_user_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    expected = tmp_path / "st" / "swarmtui" / "token-history.json"
    assert default_history_path() == expected
    assert open_default_history().path == expected


def test_times_read_back_in_utc(path: Path) -> None:
    path.parent.mkdir(parents=True)
    old = fingerprint(WORKER_TOKEN)
    document = {
        "format": 1,
        "clusters": {
            CLUSTER: {
                "current": {"worker": fingerprint(NEW_WORKER_TOKEN)},
                "retired": {
                    old: {"role": "worker", "retired_at": "2026-12-05T17:49:00+02:00"}
                },
            }
        },
    }
    path.write_text(json.dumps(document))
    history = FileTokenHistory(path)

    found = history.lookup(CLUSTER, old)
    since = history.current_since(CLUSTER, Role.WORKER, fingerprint(NEW_WORKER_TOKEN))

    assert found is not None
    assert f"{found[1]:%Y-%m-%d %H:%M %Z}" == "2026-12-05 15:49 UTC"
    assert since is not None
    assert f"{since:%H:%M %Z}" == "15:49 UTC"
