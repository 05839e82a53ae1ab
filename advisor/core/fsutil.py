"""File-system primitives the stages share: hashing, durable atomic writes, locks.

Written once here so that the index layout, the model conversion and the loaders agree on what
"written" and "locked" mean.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path


class LockBusy(OSError):
    """Another process holds the lock; `holder` is what it wrote into the lock file (its PID)."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"locked by process {holder}")
        self.holder = holder


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename in it is durable afterwards); best effort."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder, so the rename that publishes the folder cannot outrun its contents."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, flushed: a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Wait for, then hold, an exclusive lock across processes (filelock)."""
    from filelock import FileLock

    with FileLock(str(lock_path)):
        yield


@contextlib.contextmanager
def exclusive_or_busy(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock at once, or raise `LockBusy` naming the holder's PID.

    flock rather than filelock: the holder writes its PID into the file for the message, and
    `is_locked` can probe with a shared lock that never makes a starting holder fail.
    """
    import fcntl

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise LockBusy(os.pread(fd, 32, 0).decode(errors="replace").strip() or "?") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def is_locked(lock_path: Path) -> bool:
    """True while some process holds `exclusive_or_busy(lock_path)`."""
    import fcntl

    if not lock_path.exists():
        return False
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
