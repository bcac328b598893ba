"""Private files written atomically and changed under a lock.

A reader sees either the old content or the new one, never a half-written
file: the data goes to a temporary file in the same folder, which is synced
and then renamed over the target, and the folder is synced after the rename.
Files are created with mode 0600 from the start, never widened then narrowed.
A symbolic link is followed: its target is replaced and the link is kept.
Reads go through `read_private_file`, which accepts only a regular file of a
bounded size, so a FIFO, a device or a huge file cannot hang or exhaust memory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700

# Larger than any settings, state, history or window file swarmtui writes.
MAX_FILE_BYTES = 1024 * 1024


# The next step when a path names a folder, a FIFO or a device.
OTHER_PATH_STEP = "Choose another path: a regular file, or one that does not exist yet."


class FileRejected(Exception):
    """A file that must not be read: not a regular file, or too large.

    The message completes "The file ... cannot be used: ...".
    """


class LockTimeout(Exception):
    """The lock file stayed locked by another process for the whole wait."""


def explain_file_error(error: OSError, path: Path) -> tuple[str, str]:
    """Return why reading or writing `path` failed and what to do, for a message.

    The cause is a lower-case phrase; the next step is a sentence. The cause
    names the real obstacle: a part of the path that is a file, a full disk,
    or the nearest existing folder whose permissions stop the write.
    """
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            "no space left on the device",
            f"Free some space on the file system that holds {path.parent}.",
        )
    if error.errno == errno.EROFS:
        return (
            "the file system is read-only",
            f"Choose a file on a writable file system instead of {path}.",
        )
    blocker = _file_in_path(path)
    if blocker is not None:
        return (
            f"{blocker} is a file, not a folder",
            f"Move {blocker} away, or choose another path.",
        )
    if error.errno == errno.EISDIR or path.is_dir():
        return (f"{path} is a folder", f"Move the folder {path} away.")
    if path.exists() and not path.is_file():
        # A device such as /dev/null may be in use by the whole system, so
        # the next step is another path, never removing what is there.
        return (f"{path} is not a regular file", OTHER_PATH_STEP)
    if error.errno == errno.EPERM:
        folder = _nearest_existing_folder(path.parent)
        return (
            "operation not permitted",
            f"Check the permissions of {folder} and of {path}, and whether one "
            "of them is immutable ('lsattr -d').",
        )
    if error.errno == errno.EACCES:
        if path.exists():
            return (
                "permission denied",
                f"Check the owner and permissions of {path} and of {path.parent}.",
            )
        folder = _nearest_existing_folder(path.parent)
        return ("permission denied", f"Check the owner and permissions of {folder}.")
    return (
        (error.strerror or str(error)).lower(),
        f"Check {path} and its folder.",
    )


def file_type_text(mode: int, *, through_link: bool = False) -> str:
    """Name the type of file that `mode` (an st_mode) describes, such as "a FIFO".

    With `through_link`, the name is of a symbolic link to that type of file.
    """
    if through_link:
        return "a symbolic link to " + file_type_text(mode)
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def special_file_type(path: Path) -> str | None:
    """Return the type of what `path` names when it is not a regular file.

    A symbolic link is followed. None for a regular file, a missing path
    and a path whose status cannot be read.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return file_type_text(mode, through_link=os.path.islink(path))


def _file_in_path(path: Path) -> Path | None:
    """Return the first parent of `path` that exists but is not a folder."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _nearest_existing_folder(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def ensure_folder(folder: Path) -> None:
    """Create `folder` with mode 0700, and its missing parents as `mkdir -p` does."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER_MODE)


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace `path` with `data` atomically; a new file gets `mode` at creation.

    When `path` is a symbolic link, the file it points to is replaced and the
    link stays. Raises OSError when the folder cannot be written or the
    target exists but is not a regular file; the target is then unchanged
    and no temporary file is left behind.
    """
    path = Path(os.path.realpath(path))
    try:
        mode_now = os.stat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        # A rename would replace a device or FIFO node, such as /dev/null
        # behind a symbolic link, with a regular file.
        if not stat.S_ISREG(mode_now):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_folder(path.parent)


def read_private_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Return the bytes of the regular file at `path`, at most `max_bytes` long.

    Raises FileNotFoundError and other OSErrors as `open` does, and
    FileRejected for a FIFO, a device, a folder or a file over the limit.
    The file is opened without blocking, so a FIFO with no writer is
    rejected at once instead of hanging.
    """
    descriptor = open_regular_file(path, os.O_RDONLY)
    with os.fdopen(descriptor, "rb") as handle:
        if os.fstat(descriptor).st_size > max_bytes:
            raise FileRejected(f"it is larger than {_size_text(max_bytes)}")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRejected(f"it is larger than {_size_text(max_bytes)}")
    return data


def open_regular_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """Open the regular file at `path` with `flags`; return its descriptor.

    Raises FileRejected for a FIFO, a device or a folder, and other OSErrors
    as `os.open` does. The open does not block, so a FIFO is rejected at once
    instead of hanging until another process opens its other end.
    """
    try:
        descriptor = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO with no reader, for writing
            raise FileRejected("it is not a regular file") from None
        raise
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise FileRejected("it is a folder, not a regular file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRejected("it is not a regular file")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _size_text(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    return f"{size} bytes"


def fsync_folder(folder: Path) -> None:
    """Sync a folder so that a rename inside it survives a crash."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Some file systems reject fsync on a folder; the file itself is synced.
        if error.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path`, waiting up to `timeout` seconds.

    The lock file is created with mode 0600 and left in place, because
    removing it would let two processes lock two different files.
    """
    descriptor = os.open(
        lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(str(lock_path)) from None
                time.sleep(0.02)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(descriptor)


def lock_path_beside(path: Path, suffix: str = ".lock") -> Path:
    """Return the lock file of `path`: its real path with `suffix` added.

    It sits next to the file that is written, so that a path through a
    symbolic link and the real path take the same lock.
    """
    real = Path(os.path.realpath(path))
    return real.with_name(real.name + suffix)


def home_expanded(text: str | os.PathLike[str], setting: str) -> Path:
    """Return the path `text` with a leading ~ or ~USER replaced by that home folder.

    Raises PathSettingError, naming `setting`, when the user does not exist
    or the home folder is not known, where Path.expanduser raises
    RuntimeError.
    """
    from swarmtui.errors import PathSettingError

    try:
        return Path(text).expanduser()
    except RuntimeError:
        user = os.fspath(text)[1:].partition("/")[0]
        if user:
            cause = f"no user named {user!r} exists on this machine"
        else:
            cause = "HOME is not set and the user database has no entry for you"
        raise PathSettingError(
            f"The path {os.fspath(text)!r} of {setting} starts with ~{user}, but "
            f"{cause}.",
            "Write the path out in full, or start it with ~/ for your own home folder.",
        ) from None
