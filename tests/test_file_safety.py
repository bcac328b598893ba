"""Private files: writes through symbolic links, and reads of odd or huge files."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo_support import make_demo, run_cli

from swarmtui.atomicfile import (
    MAX_FILE_BYTES,
    FileRejected,
    explain_file_error,
    read_private_file,
    write_atomic,
)
from swarmtui.audit import AuditLog, read_audit
from swarmtui.config import Settings, load_settings, save_settings
from swarmtui.endpoint import current_context_name
from swarmtui.errors import (
    AuditReadError,
    AuditWriteError,
    ConfigError,
    EndpointError,
    JoinWindowError,
    StateFileError,
)
from swarmtui.history import FileTokenHistory
from swarmtui.models import Role
from swarmtui.windows import CloseReason, JoinWindow, WindowClosed, WindowStore


def window() -> JoinWindow:
    return JoinWindow(
        role=Role.WORKER,
        opened_at=datetime.now(UTC),
        until=None,
        max_joins=1,
        baseline_node_ids=frozenset(),
    )


def linked_file(tmp_path: Path, content: bytes = b"old\n") -> tuple[Path, Path]:
    """Create target/file and a link to it in another folder; return (link, target)."""
    (tmp_path / "target").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "target" / "file"
    target.write_bytes(content)
    target.chmod(0o600)
    link = tmp_path / "links" / "file"
    link.symlink_to(target)
    return link, target


def test_write_atomic_keeps_symlink(tmp_path: Path) -> None:
    link, target = linked_file(tmp_path)
    write_atomic(link, b"new\n")
    assert link.is_symlink()
    assert target.read_bytes() == b"new\n"
    assert os.listdir(tmp_path / "links") == ["file"]
    assert os.listdir(tmp_path / "target") == ["file"]


def test_write_atomic_keeps_relative_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real.toml"
    target.write_bytes(b"old")
    link = tmp_path / "link.toml"
    link.symlink_to("real.toml")
    write_atomic(link, b"new")
    assert os.readlink(link) == "real.toml"
    assert target.read_bytes() == b"new"


def test_save_settings_keeps_symlink(tmp_path: Path) -> None:
    link, target = linked_file(tmp_path, b"timeout = 30\n")
    save_settings(link, Settings(timeout=20.0))
    assert link.is_symlink()
    assert load_settings(target).timeout == 20.0


def test_demo_state_keeps_symlink(tmp_path: Path) -> None:
    target = tmp_path / "state" / "demo.toml"
    target.parent.mkdir()
    make_demo(target).inspect_swarm()
    link = tmp_path / "demo-link.toml"
    link.symlink_to(target)
    backend = make_demo(link)
    before = backend.inspect_swarm().worker_token
    backend.update_swarm(
        backend.inspect_swarm().version,
        backend.inspect_swarm().spec,
        rotate_worker_token=True,
    )
    assert link.is_symlink()
    assert make_demo(target).inspect_swarm().worker_token != before


def test_window_store_keeps_symlink(tmp_path: Path) -> None:
    link, target = linked_file(tmp_path, b'{"windows": []}\n')
    store = WindowStore(link)
    store.save([window()])
    assert link.is_symlink()
    assert len(WindowStore(target).load()) == 1


def test_history_keeps_symlink(tmp_path: Path) -> None:
    link, target = linked_file(tmp_path, b"")
    target.unlink()
    history = FileTokenHistory(link)
    history.remember("cluster", Role.WORKER, "fp:aaaa-bbbb-cccc")
    assert link.is_symlink()
    assert target.stat().st_size > 0


def test_read_rejects_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileRejected, match="not a regular file"):
        read_private_file(fifo)


def test_read_rejects_folder(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="folder"):
        read_private_file(tmp_path)


def test_read_rejects_device() -> None:
    with pytest.raises(FileRejected, match="not a regular file"):
        read_private_file(Path("/dev/zero"))


def test_read_rejects_large_file(tmp_path: Path) -> None:
    large = tmp_path / "large"
    large.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(FileRejected, match="larger than 1 MiB"):
        read_private_file(large)


def test_read_accepts_file_at_limit(tmp_path: Path) -> None:
    exact = tmp_path / "exact"
    exact.write_bytes(b"#" * MAX_FILE_BYTES)
    assert len(read_private_file(exact)) == MAX_FILE_BYTES


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "large"])
def test_config_rejects_odd_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_text("# comment\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert str(path) in raised.value.message
    assert "cannot be used" in raised.value.message


def test_demo_state_rejects_large_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text("# comment\n" * (MAX_FILE_BYTES // 10 + 1))
    path.chmod(0o600)
    with pytest.raises(StateFileError, match="larger than 1 MiB"):
        make_demo(path).inspect_swarm()


def test_window_store_rejects_fifo(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    os.mkfifo(path)
    with pytest.raises(JoinWindowError, match="not a regular file"):
        WindowStore(path).load()


def list_windows(home: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """Run `swarmtui join-window list` with SWARMTUI_WINDOWS_FILE set to `path`."""
    return run_cli(
        "join-window",
        "list",
        home=home,
        environment={"SWARMTUI_WINDOWS_FILE": str(path)},
    )


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_window_file_env_special(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "windows.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    result = list_windows(tmp_path, path)
    assert result.returncode == 1, result.stderr
    assert (
        f"The join window file {path} (from SWARMTUI_WINDOWS_FILE) cannot be used"
    ) in result.stderr
    assert "not a regular file." in result.stderr
    assert "Set SWARMTUI_WINDOWS_FILE to another path" in result.stderr
    assert "delete" not in result.stderr
    assert path.exists()


def test_window_add_keeps_linked_fifo(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "links").mkdir()
    fifo = tmp_path / "target" / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "links" / "windows.json"
    link.symlink_to(fifo)

    with pytest.raises(JoinWindowError) as caught:
        WindowStore(link).add(window())

    assert "is a symbolic link to a FIFO, not a regular file" in caught.value.message
    assert [item.name for item in (tmp_path / "target").iterdir()] == ["fifo"]
    assert [item.name for item in (tmp_path / "links").iterdir()] == ["windows.json"]


def test_window_file_env_damaged(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    path.write_text("{\n")
    result = list_windows(tmp_path, path)
    assert result.returncode == 1, result.stderr
    assert (
        f"The join window file {path} (from SWARMTUI_WINDOWS_FILE) is damaged"
    ) in result.stderr


def test_window_folder_env_named(tmp_path: Path) -> None:
    folder = tmp_path / "windows"
    folder.mkdir()
    (folder / "join-windows.json").write_text("{\n")
    result = run_cli(
        "join-window",
        "list",
        home=tmp_path,
        environment={"SWARMTUI_WINDOWS_FILE": f"{folder}/"},
    )
    assert result.returncode == 1, result.stderr
    path = folder / "join-windows.json"
    assert (
        f"The join window file {path} (from SWARMTUI_WINDOWS_FILE) is damaged"
    ) in result.stderr


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "the top level is not a JSON object"),
        ({"windows": {}}, "'windows' is not a list"),
        ({"windows": [1]}, "window 1 is not a JSON object"),
        ({"windows": [{"id": "x"}]}, "window 1 has no 'role' field"),
        (
            {"windows": [{"id": "x", "role": "boss", "opened_at": "2026-01-01"}]},
            "window 1 has an invalid field value",
        ),
    ],
)
def test_damaged_window_file_message(
    tmp_path: Path, document: object, expected: str
) -> None:
    path = tmp_path / "windows.json"
    path.write_text(json.dumps(document))
    with pytest.raises(JoinWindowError) as raised:
        WindowStore(path).load()
    assert expected in raised.value.message
    assert "attribute" not in raised.value.message


@pytest.mark.parametrize(
    "text",
    ['{"windows": [' + "9" * 5000 + "]}", "[" * 100_000 + "]" * 100_000],
    ids=["long-number", "deep-nesting"],
)
def test_unreadable_window_json_message(tmp_path: Path, text: str) -> None:
    path = tmp_path / "windows.json"
    path.write_text(text)
    with pytest.raises(JoinWindowError) as raised:
        WindowStore(path).load()
    assert raised.value.message == (
        f"The join window file {path} is damaged: it has a number too long or "
        "nesting too deep to read."
    )


def test_window_file_not_json(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    path.write_text("{\n oops")
    with pytest.raises(JoinWindowError, match=r"not valid JSON \(line 2\)"):
        WindowStore(path).load()


def test_sigterm_close_message() -> None:
    closed = WindowClosed(
        window=window(), reason=CloseReason.TERMINATED, joined=(), rotation=None
    )
    assert "closed because swarmtui was stopped (SIGTERM)" in closed.message
    assert "by hand" not in closed.message


def test_docker_config_fifo_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(EndpointError, match="not a regular file"):
        current_context_name(tmp_path)


def test_docker_config_device_rejected(tmp_path: Path) -> None:
    (tmp_path / "config.json").symlink_to("/dev/zero")
    with pytest.raises(EndpointError, match="not a regular file"):
        current_context_name(tmp_path)


def test_audit_write_rejects_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)

    with pytest.raises(AuditWriteError, match="it is not a regular file"):
        AuditLog(fifo, environment={}).record("show", role="worker")


def test_audit_write_rejects_fifo_with_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(AuditWriteError, match="it is not a regular file"):
            AuditLog(fifo, environment={}).record("show", role="worker")
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)


def test_audit_read_rejects_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)

    with pytest.raises(AuditReadError, match="it is not a regular file"):
        read_audit(fifo)


def test_demo_reset_keeps_fifo(tmp_path: Path) -> None:
    from swarmtui.backends.demo import DemoBackend

    fifo = tmp_path / "demo.toml"
    os.mkfifo(fifo)

    with pytest.raises(StateFileError, match="is a FIFO, not a regular file"):
        DemoBackend(path=fifo, seed=1).reset()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [item.name for item in tmp_path.iterdir()] == ["demo.toml"]


def test_file_error_full_disk(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    error = OSError(errno.ENOSPC, "No space left on device")
    cause, fix = explain_file_error(error, path)
    assert cause == "no space left on the device"
    assert fix == f"Free some space on the file system that holds {path.parent}."
    assert "permissions" not in fix


def test_file_error_read_only_file_system(tmp_path: Path) -> None:
    error = OSError(errno.EROFS, "Read-only file system")
    cause, _ = explain_file_error(error, tmp_path / "a.toml")
    assert cause == "the file system is read-only"


def test_file_error_names_file_in_path(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    error = OSError(errno.EEXIST, "File exists")
    cause, fix = explain_file_error(error, blocker / "deeper" / "a.json")
    assert cause == f"{blocker} is a file, not a folder"
    assert fix == f"Move {blocker} away, or choose another path."


def test_file_error_folder_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "a.json"
    folder.mkdir()
    cause, _ = explain_file_error(OSError(errno.EISDIR, "Is a directory"), folder)
    assert cause == f"{folder} is a folder"


def test_file_error_permission_names_existing_folder(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "swarmtui" / "audit.jsonl"
    error = OSError(errno.EACCES, "Permission denied")
    cause, fix = explain_file_error(error, path)
    assert cause == "permission denied"
    assert fix == f"Check the owner and permissions of {tmp_path}."


def test_file_error_permission_on_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    error = OSError(errno.EACCES, "Permission denied")
    _, fix = explain_file_error(error, path)
    assert fix == f"Check the owner and permissions of {path} and of {tmp_path}."


def test_file_error_not_permitted_mentions_immutable(tmp_path: Path) -> None:
    path = tmp_path / "config" / "config.toml"
    error = OSError(errno.EPERM, "Operation not permitted")
    cause, fix = explain_file_error(error, path)
    assert cause == "operation not permitted"
    assert f"Check the permissions of {tmp_path} and of {path}" in fix
    assert "lsattr -d" in fix
