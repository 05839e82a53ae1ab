"""Read files in a worker process with a time and memory bound.

A malicious or broken file (a decompression bomb, a parser loop) must cost one file, not the
build: the worker's address space is capped, it is killed at the time limit, and the build goes
on with the next file in a fresh worker. The worker is a plain subprocess speaking a tiny
length-prefixed pickle protocol over its pipes (`python -m advisor.ingest.sandbox`), so it works from any
caller, guarded `__main__` or not.

The worker gets only the environment it needs to run Python (`child_environment`), never the
server's secrets: it parses files a maintainer did not necessarily write.

Whoever needs bounded reading owns a `GuardedLoader` and closes it: the indexer one per build, the
document viewer's `DocumentCache` one per app. A loader may be shared by threads: one request at a
time goes to its worker.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from advisor.core.types import Document
from advisor.ingest.loaders import LoadError

_HEADER = struct.Struct("<Q")
_READY = b"R"
STARTUP_TIMEOUT = 60.0  # seconds a fresh worker may take to import the loaders (not counted in `timeout`)

# What a child process may inherit from the server's environment: enough to run Python and the
# numeric libraries the way the server does, nothing that could hold a secret.
ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TERM",
        "TMPDIR", "TMP", "TEMP", "PYTHONPATH", "PYTHONHOME", "PYTHONHASHSEED", "PYTHONUTF8",
        "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONWARNINGS",
        "VIRTUAL_ENV", "HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "HF_HUB_DISABLE_TELEMETRY",
        "TRANSFORMERS_OFFLINE", "SENTENCE_TRANSFORMERS_HOME", "TORCH_HOME", "XDG_CACHE_HOME",
        "TOKENIZERS_PARALLELISM", "CUDA_VISIBLE_DEVICES", "NO_PROXY", "no_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    }
)
ENV_PREFIXES = ("LC_", "OMP_", "OPENBLAS_", "MKL_", "KMP_", "NUMEXPR_", "ORT_")


def child_environment(environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> dict[str, str]:
    """The allow-listed part of `environ` (default `os.environ`), plus the variables named in `extra`."""
    environ = os.environ if environ is None else environ
    keep = ENV_NAMES | frozenset(extra)
    return {k: v for k, v in environ.items() if k in keep or k.startswith(ENV_PREFIXES)}


class GuardedLoader:
    """`load(path, source)` like `load_file`, but in a bounded worker process; safe to share between threads."""

    def __init__(self, timeout: float = 30.0, memory_mb: int = 2048, target: str = "advisor.ingest.loaders:load_file") -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.target = target
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one request at a time on the worker's pipes

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            proc = subprocess.Popen(
                [sys.executable, "-m", "advisor.ingest.sandbox", str(self.memory_mb), self.target],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=os.getcwd(),
                env=child_environment(),
            )
            self._proc = proc
            assert proc.stdout is not None
            # Wait until it has imported the loaders, so `timeout` bounds reading, not start-up.
            try:
                if self._read_exact(proc.stdout.fileno(), 1, time.monotonic() + max(STARTUP_TIMEOUT, self.timeout)) != _READY:
                    raise EOFError
            except (TimeoutError, EOFError, OSError):
                self._kill()
                raise LoadError("the file reader could not be started") from None
        return self._proc

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._close_pipes(self._proc)
            self._proc = None

    @staticmethod
    def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    def _read_exact(self, fd: int, n: int, deadline: float) -> bytes:
        # poll, not select: select() fails for descriptors past 1024, which a busy server reaches.
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise TimeoutError
            part = os.read(fd, n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return bytes(buf)

    def load(self, path: Path, source: str) -> Document:
        with self._lock:
            return self._load(path, source)

    def _load(self, path: Path, source: str) -> Document:
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
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            self._kill()
            raise LoadError(f"reading needed more than {self.memory_mb} MB of memory or crashed the reader") from None
        if status == "ok":
            return value  # type: ignore[no-any-return]
        raise LoadError(value)

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            if proc.stdin:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._close_pipes(proc)

    def __enter__(self) -> GuardedLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(memory_mb: int, target: str) -> None:
    import importlib
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(_READY)
    stdout.flush()
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
