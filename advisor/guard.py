"""Read files in a worker process with a time and memory bound.

A malicious or broken file (a decompression bomb, a parser loop) must cost one file, not the
build: the worker's address space is capped, it is killed at the time limit, and the build goes
on with the next file in a fresh worker. The worker is a plain subprocess speaking a tiny
length-prefixed pickle protocol over its pipes (`python -m advisor.guard`), so it works from any
caller, guarded `__main__` or not.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

from advisor.loaders import LoadError, load_file
from advisor.types import Document

_HEADER = struct.Struct("<Q")


class GuardedLoader:
    """`load(path, source)` like `load_file`, but in a bounded worker process."""

    def __init__(self, timeout: float = 30.0, memory_mb: int = 2048, target: str = "advisor.loaders:load_file") -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.target = target
        self._proc: subprocess.Popen[bytes] | None = None

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "advisor.guard", str(self.memory_mb), self.target],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=os.getcwd(),
            )
        return self._proc

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def _read_exact(self, fd: int, n: int, deadline: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            part = os.read(fd, n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return bytes(buf)

    def load(self, path: Path, source: str) -> Document:
        proc = self._worker()
        assert proc.stdin is not None and proc.stdout is not None
        request = pickle.dumps((str(path), source))
        try:
            proc.stdin.write(_HEADER.pack(len(request)) + request)
            proc.stdin.flush()
            deadline = time.monotonic() + self.timeout
            fd = proc.stdout.fileno()
            (size,) = _HEADER.unpack(self._read_exact(fd, _HEADER.size, deadline))
            status, value = pickle.loads(self._read_exact(fd, size, deadline))  # noqa: S301 - our own worker
        except TimeoutError:
            self._kill()
            raise LoadError(f"reading took longer than {self.timeout:.0f} s; the file was skipped") from None
        except (EOFError, BrokenPipeError, OSError):
            self._kill()
            raise LoadError(f"reading needed more than {self.memory_mb} MB of memory or crashed the reader") from None
        if status == "ok":
            return value  # type: ignore[no-any-return]
        raise LoadError(value)

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> GuardedLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SHARED: dict[tuple[float, int], GuardedLoader] = {}


def shared_loader(timeout: float, memory_mb: int) -> GuardedLoader:
    """One worker per process and limits, reused across builds (a worker starts in ~0.5 s)."""
    key = (timeout, memory_mb)
    if key not in _SHARED:
        _SHARED[key] = GuardedLoader(timeout, memory_mb)
    return _SHARED[key]


def _serve(memory_mb: int, target: str) -> None:
    import importlib
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        path, source = pickle.loads(stdin.read(_HEADER.unpack(head)[0]))  # noqa: S301
        try:
            reply: tuple[str, object] = ("ok", fn(Path(path), source))
        except LoadError as exc:
            reply = ("err", str(exc))
        except MemoryError:
            reply = ("err", f"reading needed more than {memory_mb} MB of memory")
        except Exception as exc:  # noqa: BLE001 - any failure is a reason, not a crash
            reply = ("err", f"could not be read ({type(exc).__name__})")
        data = pickle.dumps(reply)
        stdout.write(_HEADER.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2])
