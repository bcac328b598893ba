"""The demo state file: modes, atomic writes, and broken files left as they are."""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from demo_support import Clock, make_demo, run_cli

from swarmtui.atomicfile import exclusive_lock
from swarmtui.backends.demo import DemoBackend
from swarmtui.errors import ExitCode, RequestTimeoutError, StateFileError
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import parse_token


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """A seeded demo state file with one rotation, so it lists a retired token."""
    path = tmp_path / "new-folder" / "demo.toml"
    backend = make_demo(path)
    snapshot = backend.inspect_swarm()
    backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "demo.toml"
    old_umask = os.umask(0o022)
    try:
        make_demo(path).inspect_swarm()
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o600
    assert mode_of(path.with_name("demo.toml.lock")) == 0o600
    assert mode_of(path.parent) == 0o700


def test_writes_leave_no_temporary_files(state_path: Path) -> None:
    backend = DemoBackend(path=state_path)
    for _ in range(3):
        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    names = sorted(path.name for path in state_path.parent.iterdir())
    assert names == ["demo.toml", "demo.toml.lock"]
    assert mode_of(state_path) == 0o600


def test_file_is_readable_toml(state_path: Path) -> None:
    document = tomllib.loads(state_path.read_text())
    snapshot = DemoBackend(path=state_path).inspect_swarm()
    assert document["worker_token"] == snapshot.worker_token
    assert document["ca_cert_pem"] == snapshot.ca_pem
    assert len(document["nodes"]) == 7


def test_hand_edit_is_picked_up(state_path: Path) -> None:
    backend = DemoBackend(path=state_path)
    assert backend.list_nodes()[0].hostname == "mgr-01"
    text = state_path.read_text().replace('hostname = "mgr-01"', 'hostname = "edited"')
    state_path.write_text(text)
    assert backend.list_nodes()[0].hostname == "edited"


def replace_line(pattern: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        changed, count = re.subn(pattern, new, text, count=1, flags=re.MULTILINE)
        assert count == 1, pattern
        return changed

    return edit


def break_token(text: str) -> str:
    match = re.search(r'^worker_token = "(SWMTKN-[^"]+)"$', text, re.MULTILINE)
    assert match is not None
    token = match.group(1)
    return text.replace(token, token[:-3] + "XYZ")


def swap_digest(text: str) -> str:
    match = re.search(r'^manager_token = "(SWMTKN-[^"]+)"$', text, re.MULTILINE)
    assert match is not None
    token = parse_token(match.group(1))
    other = "1" if token.digest[0] != "1" else "2"
    damaged = f"SWMTKN-1-{other}{token.digest[1:]}-{token.secret}"
    return text.replace(match.group(1), damaged)


# Each case: how to break the file, then text that the error must contain.
CORRUPTIONS: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
    "toml syntax": (
        replace_line(r"^version = \d+$", "version = = 3"),
        ("TOML syntax error", "line 4"),
    ),
    "unclosed array": (lambda text: text + "\nextra = [1, 2\n", ("TOML syntax",)),
    "missing key": (replace_line(r"^cluster_id = .*\n", ""), ("'cluster_id'",)),
    "wrong type": (
        replace_line(r"^version = \d+$", 'version = "twelve"'),
        ("'version' must be an integer", "line 4"),
    ),
    "boolean as version": (
        replace_line(r"^version = \d+$", "version = true"),
        ("not a boolean",),
    ),
    "malformed token": (
        break_token,
        ("'worker_token' is not a well-formed join token", "invalid character"),
    ),
    "digest not of this CA": (swap_digest, ("does not match 'ca_cert_pem'",)),
    "broken certificate": (
        replace_line(r"^MII.*$", "MIInotbase64!!"),
        ("not a readable PEM certificate",),
    ),
    "spec number too long": (
        replace_line(r"^spec_json = .*$", "spec_json = '" + "9" * 5000 + "'"),
        ("'spec_json' has a number too long",),
    ),
    "nesting too deep": (
        lambda text: text + "\nextra = " + "[" * 5000 + "]" * 5000 + "\n",
        ("nesting too deep",),
    ),
    "spec not json": (
        replace_line(r"^spec_json = .*$", "spec_json = '{not json'"),
        ("'spec_json' is not valid JSON", "line"),
    ),
    "node role": (
        replace_line(r'^role = "worker"$', 'role = "boss"'),
        ("'nodes[3].role' must be 'worker' or 'manager'",),
    ),
    "time without zone": (
        replace_line(r"^created_at = (\S+) (\S+)\+00:00$", r"created_at = \1 \2"),
        ("time zone",),
    ),
    "newer format": (replace_line(r"^format = 1$", "format = 2"), ("format 1",)),
    "empty file": (lambda text: "", ("it is empty",)),
    "not utf-8": (lambda text: "\udcff", ("not UTF-8",)),
    "token as fingerprint": (
        replace_line(r'^fingerprint = "fp:.*"$', 'fingerprint = "SWMTKN-1-abc"'),
        ("must be a token fingerprint",),
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_broken_file_is_reported_and_kept(state_path: Path, case: str) -> None:
    edit, expected_parts = CORRUPTIONS[case]
    original_text = state_path.read_text()
    broken = edit(original_text)
    state_path.write_bytes(broken.encode("utf-8", "surrogateescape"))
    os.chmod(state_path, 0o600)
    before = state_path.read_bytes()
    files_before = sorted(path.name for path in state_path.parent.iterdir())

    backend = DemoBackend(path=state_path, seed=1)
    with pytest.raises(StateFileError) as caught:
        backend.inspect_swarm()
    error = caught.value
    message = str(error)
    assert str(state_path) in message
    for part in expected_parts:
        assert part in message, message
    assert "--demo-state" in error.hint
    assert error.exit_code == ExitCode.FILE_ERROR
    assert error.path == str(state_path)

    # A change fails the same way and writes nothing.
    with pytest.raises(StateFileError):
        backend.update_swarm(11, {}, rotate_worker_token=True)
    with pytest.raises(StateFileError):
        backend.join("SWMTKN-1-" + "0" * 50 + "-" + "0" * 25, "node")
    assert state_path.read_bytes() == before
    assert sorted(path.name for path in state_path.parent.iterdir()) == files_before

    # No token from the file is repeated in the error.
    for token in re.findall(r"SWMTKN-[0-9A-Za-z-]+", original_text + broken):
        assert token not in message


def test_error_line_points_at_key(state_path: Path) -> None:
    text = state_path.read_text()
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("counter"))
    state_path.write_text(text.replace(lines[number - 1], 'counter = "x"'))
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=state_path).engine_info()
    assert caught.value.line == number
    assert f"at line {number}" in str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_shared_file_is_refused(state_path: Path, mode: int) -> None:
    os.chmod(state_path, mode)
    before = state_path.read_bytes()
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=state_path).inspect_swarm()
    assert f"chmod 600 {state_path}" in str(caught.value)
    assert f"{mode:04o}" in str(caught.value)
    assert state_path.read_bytes() == before
    assert mode_of(state_path) == mode


def test_refusal_ends_after_chmod(state_path: Path) -> None:
    os.chmod(state_path, 0o644)
    backend = DemoBackend(path=state_path)
    with pytest.raises(StateFileError):
        backend.inspect_swarm()
    os.chmod(state_path, 0o600)
    assert backend.inspect_swarm().version == 12


def test_open_backend_sees_mode_change(state_path: Path) -> None:
    backend = DemoBackend(path=state_path)
    backend.inspect_swarm()
    os.chmod(state_path, 0o644)
    with pytest.raises(StateFileError):
        backend.inspect_swarm()
    assert mode_of(state_path) == 0o644


def test_open_backend_sees_edit_with_old_mtime(state_path: Path) -> None:
    backend = DemoBackend(path=state_path)
    backend.inspect_swarm()
    info = os.stat(state_path)
    text = state_path.read_text()
    state_path.write_text(text.replace("format = 1", "format = x", 1))
    os.utime(state_path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(state_path).st_size == info.st_size
    before = state_path.read_bytes()
    with pytest.raises(StateFileError) as caught:
        TokenService(backend).rotate([Role.WORKER])
    assert "at line" in str(caught.value)
    assert state_path.read_bytes() == before


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank-lines"])
def test_empty_file_is_named_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=path).inspect_swarm()
    assert (
        caught.value.message == f"The demo state file {path} is invalid: it is empty."
    )
    assert f"--demo-state {path} demo-reset" in caught.value.hint
    assert path.read_text() == content


def test_folder_in_place_of_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.mkdir(mode=0o700)
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=path).inspect_swarm()
    assert "not a regular file" in str(caught.value)


def test_unwritable_folder_is_reported(tmp_path: Path) -> None:
    # A regular file where the folder should be cannot be worked around,
    # even by root.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=blocker / "demo.toml").inspect_swarm()
    assert "blocker" in str(caught.value)
    assert "--demo-state" in caught.value.hint


def test_reset_backs_up_broken_file(state_path: Path) -> None:
    state_path.write_text("format = [\n")
    os.chmod(state_path, 0o600)
    clock = Clock()
    backend = DemoBackend(path=state_path, seed=2, now=clock)
    with pytest.raises(StateFileError) as caught:
        backend.inspect_swarm()
    assert f"--demo-state {state_path} demo-reset" in caught.value.hint

    first = backend.reset()
    second = backend.reset()
    assert first is not None
    assert second is not None
    assert first.read_text() == "format = [\n"
    assert first.name == "demo.toml.bak-20261120T120000Z"
    assert second.name == "demo.toml.bak-20261120T120000Z-1"
    assert mode_of(first) == 0o600
    assert tomllib.loads(second.read_text())["seed"] == 2
    # The first reset starts at version 11; the second never reuses it.
    assert backend.inspect_swarm().version == 12
    assert mode_of(state_path) == 0o600


def test_reset_full_disk_leaves_no_backup(
    state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state_path.read_bytes()

    def no_space(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=state_path, seed=2).reset()

    assert str(caught.value).startswith(f"Cannot back up {state_path}")
    assert "no space left on the device" in str(caught.value)
    assert state_path.read_bytes() == before
    assert [path.name for path in state_path.parent.glob("*.bak-*")] == []


def test_reset_without_file(tmp_path: Path) -> None:
    backend = make_demo(tmp_path / "fresh.toml")
    assert backend.reset() is None
    assert backend.inspect_swarm().version == 11
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "fresh.toml",
        "fresh.toml.lock",
    ]


def test_reset_changes_swarm(state_path: Path) -> None:
    old = DemoBackend(path=state_path).inspect_swarm()
    DemoBackend(path=state_path, seed=99).reset()
    new = DemoBackend(path=state_path).inspect_swarm()
    assert new.cluster_id != old.cluster_id
    assert new.worker_token != old.worker_token


def test_reset_cli_keeps_backup(state_path: Path) -> None:
    before = state_path.read_bytes()
    result = run_cli(
        "--demo", "--demo-state", str(state_path), "demo-reset", home=state_path.parent
    )
    assert result.returncode == 0, result.stderr
    assert "Started a new demo swarm" in result.stdout
    backups = [path for path in state_path.parent.iterdir() if ".bak-" in path.name]
    assert len(backups) == 1
    assert backups[0].read_bytes() == before
    assert state_path.read_bytes() != before


def _reset_moves_aside(path: Path) -> Path:
    """Run demo-reset on `path` twice; return the one backup, checking the new swarm.

    The first run must start a new swarm, so that the second finds a good
    file and copies it.
    """
    result = run_cli(
        "--demo", "--demo-state", str(path), "demo-reset", home=path.parent
    )
    assert result.returncode == 0, result.stderr
    assert "Started a new demo swarm" in result.stdout
    backups = [item for item in path.parent.iterdir() if ".bak-" in item.name]
    assert len(backups) == 1
    assert f"Backed up the old demo swarm to {backups[0]}" in result.stderr
    assert path.is_file()
    assert not path.is_symlink()
    assert mode_of(path) == 0o600
    assert DemoBackend(path=path).inspect_swarm().version >= 1
    return backups[0]


def test_reset_moves_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    make_demo(path).inspect_swarm()
    with path.open("a") as handle:
        handle.write("# " + "x" * 2_000_000 + "\n")
    before = path.read_bytes()
    with pytest.raises(StateFileError, match="larger than 1 MiB"):
        DemoBackend(path=path).inspect_swarm()

    backup = _reset_moves_aside(path)
    assert backup.read_bytes() == before
    assert mode_of(backup) == 0o600


SPECIAL_FILES = {
    "folder": lambda path: path.mkdir(mode=0o700),
    "fifo": os.mkfifo,
    "link-to-device": lambda path: path.symlink_to("/dev/zero"),
    "link-to-folder": lambda path: path.symlink_to(path.parent),
}


@pytest.mark.parametrize("kind", sorted(SPECIAL_FILES))
def test_reset_keeps_special_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.toml"
    SPECIAL_FILES[kind](path)
    before = os.lstat(path)
    result = run_cli("--demo", "--demo-state", str(path), "demo-reset", home=tmp_path)
    assert result.returncode == ExitCode.FILE_ERROR, result.stderr
    assert f"The demo swarm was not reset: {path} is a" in result.stderr
    assert "not a regular file, so it was left as it is" in result.stderr
    assert "Choose another path with --demo-state" in result.stderr
    assert "demo-reset" not in result.stderr
    assert "Remove" not in result.stderr
    assert result.stdout == ""
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(item.name for item in tmp_path.iterdir()) == ["state.toml"]


@pytest.mark.parametrize("kind", sorted(SPECIAL_FILES))
def test_update_makes_no_lock_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.toml"
    SPECIAL_FILES[kind](path)
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=path).update_swarm(11, {}, rotate_worker_token=True)
    assert "not a regular file" in caught.value.message
    assert sorted(item.name for item in tmp_path.iterdir()) == ["state.toml"]


def test_reset_names_link_to_device(tmp_path: Path) -> None:
    path = tmp_path / "zero.toml"
    path.symlink_to("/dev/zero")
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=path).reset()
    assert "is a symbolic link to a character device" in caught.value.message
    assert os.readlink(path) == "/dev/zero"


@pytest.mark.parametrize("kind", sorted(SPECIAL_FILES))
def test_special_file_hint_keeps_it(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.toml"
    SPECIAL_FILES[kind](path)
    result = run_cli(
        "--demo",
        "--demo-state",
        str(path),
        "join-token",
        "-q",
        "worker",
        home=tmp_path,
    )
    assert result.returncode == ExitCode.FILE_ERROR, result.stderr
    assert f"The demo state file {path} cannot be used: it is a" in result.stderr
    assert "not a regular file." in result.stderr
    assert "Choose another path with --demo-state" in result.stderr
    assert "demo-reset" not in result.stderr
    assert "Fix the file" not in result.stderr


def test_reset_names_folder_it_cannot_change(tmp_path: Path) -> None:
    folder = tmp_path / "fixed"
    path = folder / "huge.toml"
    make_demo(path).inspect_swarm()
    with path.open("a") as handle:
        handle.write("# " + "x" * 2_000_000 + "\n")
    # An immutable folder refuses the rename, also to root.
    immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if immutable.returncode != 0:
        pytest.skip(f"chattr +i failed: {immutable.stderr.strip()!r}")
    try:
        with pytest.raises(StateFileError) as caught:
            DemoBackend(path=path, timeout=1.0).reset()
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert "could not be moved to" in str(caught.value)
    assert "demo-reset" not in str(caught.value) + caught.value.hint
    assert path.stat().st_size > 2_000_000


def test_link_and_real_path_share_lock(tmp_path: Path) -> None:
    real = tmp_path / "real" / "state.toml"
    real.parent.mkdir()
    make_demo(real, seed=8).inspect_swarm()
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    through_link = DemoBackend(path=link, timeout=0.3)
    before = through_link.inspect_swarm()

    assert through_link.lock_path == DemoBackend(path=real).lock_path
    with (
        exclusive_lock(DemoBackend(path=real).lock_path, 1.0),
        pytest.raises(RequestTimeoutError),
    ):
        TokenService(through_link).rotate([Role.WORKER])

    assert DemoBackend(path=real).inspect_swarm().worker_token == before.worker_token
    assert not (tmp_path / "link.toml.lock").exists()


def test_state_path_ending_in_slash(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    result = run_cli(
        "--demo",
        "--demo-state",
        f"{folder}/",
        "join-token",
        "-q",
        "worker",
        home=tmp_path / "home",
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert f"argument --demo-state: {folder}/ names a folder" in result.stderr
    assert result.stdout == ""
    assert not folder.exists()


def test_fifo_made_during_create_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarmtui.backends import demo

    path = tmp_path / "state.toml"
    make_state = demo._new_state

    def make_fifo_first(*arguments: Any) -> Any:
        os.mkfifo(path)
        return make_state(*arguments)

    monkeypatch.setattr(demo, "_new_state", make_fifo_first)
    with pytest.raises(StateFileError) as caught:
        DemoBackend(path=path).inspect_swarm()

    assert f"Cannot write {path} for the demo swarm" in caught.value.message
    assert caught.value.hint == (
        "Choose another path with --demo-state: a regular file, or one that "
        "does not exist yet."
    )
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_demo_lock_wait_follows_timeout(tmp_path: Path) -> None:
    state = tmp_path / "demo.toml"
    make_demo(state, seed=8).inspect_swarm()

    with exclusive_lock(DemoBackend(path=state).lock_path, 1.0):
        result = run_cli(
            "--demo",
            "--demo-state",
            str(state),
            "--timeout",
            "0.5",
            "join-token",
            "--rotate",
            "worker",
            home=tmp_path,
        )

    assert result.returncode == ExitCode.ENGINE_UNREACHABLE, result.stderr
    assert "stayed locked by another process for 0.5 seconds" in result.stderr
