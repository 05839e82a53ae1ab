"""A build that lives in a Chroma server, for app nodes that keep nothing of their own.

What the server holds:

    advisor_<build>_<lang>   one collection per chunk language: each record a vector and a whole
                             chunk (text, citation fields, overlap, its row in the build's chunk list)
    advisor-files_<build>    the build's other files, base64 in parts of PART_BYTES:
                             build.json, bm25.pkl, language_stats.npz
    advisor-control          two records: `pointer` (current and previous build) and `lease` (the writer)

Reading. A node reads the pointer at most once per `poll_seconds`. A build it has not seen yet is
copied into `<index>/builds/<id>/`, the same folder layout as an embedded build (so the vectors are
memory-mapped and BM25 unpickled as on one machine); the copy is written to a temporary folder and
renamed, so a crash never leaves half a copy. The local folder is only a cache, keyed by build id.

Writing. A build is written completely (collections, files), read back as a node reads it and
compared with what was built, its `build.json` written last; only then is the pointer switched:
one upsert of one record, which the server applies whole. Readers see the old build or the new one.

One writer across machines: a lease record with an owner token and an expiry, renewed by the
builder every few seconds (`Lease`). Chroma has no compare-and-swap, so the lease is taken by
write, wait, read back; what remains of the race is described in `Lease` and docs/reliability.md.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from advisor.core.fsutil import fsync_tree
from advisor.core.types import Chunk
from advisor.index.layout import (
    BuildStore,
    IndexBusyError,
    IndexVerifyError,
    OpenBuild,
    Progress,
    builds_dir,
    drop_build_folders,
    read_build_folder,
    write_chunk_files,
)
from advisor.index.vectors import ServerChroma, chunk_from_record, server_client

log = logging.getLogger(__name__)

CONTROL = "advisor-control"
FILES_PREFIX = "advisor-files_"
POINTER = "pointer"
LEASE = "lease"
FILES = ("bm25.pkl", "language_stats.npz")  # uploaded with the collections; build.json comes last
PART_BYTES = 1 << 20  # bytes per stored part of a file: one record's document, 1.4 MB as base64
PARTS_PER_REQUEST = 8
RECORDS_PER_READ = 1000
SETTLE_SECONDS = 0.5  # between writing the lease and reading it back (see `Lease`)
STALE_FETCH_SECONDS = 600
NO_VECTOR = [0.0]  # records of the control and files collections carry no meaning in their vector


def _host() -> str:
    """This machine: its name and the kernel's boot id (a process id means something only within both)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


def _process_start(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), '' when it does not run."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def _holder_gone(rec: dict[str, Any]) -> bool:
    """True when the lease's holder was a process on this machine that no longer runs: a killed
    builder's lease is free at once for the next build on the same machine, not after its expiry."""
    if rec.get("host") != _host() or not Path("/proc/self/stat").exists():
        return False
    start = _process_start(int(rec.get("pid", 0)))
    return start == "" or start != rec.get("start")


def _held(rec: dict[str, Any] | None) -> bool:
    return rec is not None and float(rec.get("expires", 0)) > time.time() and not _holder_gone(rec)


def _busy(rec: dict[str, Any] | None) -> IndexBusyError:
    holder = (rec or {}).get("holder", "another machine")
    return IndexBusyError(f"another index build is running ({holder}); wait for it to finish")


class Lease:
    """One index build at a time across every machine that shares the server.

    Taking it: read the lease record; if another owner holds it (not expired, and not a process of
    this machine that has died), refuse. Otherwise write it with our random owner token, wait
    SETTLE_SECONDS, read it back: if another token is there, a rival wrote after us and we refuse.
    While the build runs, a thread renews the expiry every few seconds and notices if the record
    ever names another owner; `check()` renews and re-reads once more right before the pointer
    switch, and the build does not switch unless the lease is still ours.

    The race that remains (there is no compare-and-swap): two builders that both read "free" and
    whose write and read-back interleave within the settle time, i.e. one of them stalls for longer
    than SETTLE_SECONDS between its read and its write; or a builder frozen for longer than the
    lease (suspended VM, network partition) that resumes between `check()` and the switch. Either
    way each build is in collections of its own and is verified before the switch, so the pointer
    still names one complete build; the cost is one build's work and, at worst, the loser's build
    pruned by the winner. Expiry compares the holder's clock with the reader's, so machines' clocks
    must agree to well within `chroma_lease_seconds` (NTP).
    """

    def __init__(self, control: Any, ttl: float) -> None:
        self.control = control
        self.ttl = ttl
        self.owner = secrets.token_hex(16)
        self.progress: dict[str, Any] = {"stage": "starting", "done": 0, "total": 0}
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.acquired_at = 0.0
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self) -> dict[str, Any] | None:
        return lease_record(self.control)

    def _write(self) -> None:
        pid = os.getpid()
        meta = {
            "owner": self.owner,
            "host": _host(),
            "pid": pid,
            "start": _process_start(pid),
            "holder": f"process {pid} on {socket.gethostname()}",
            "expires": time.time() + self.ttl,
            "started": self.started,
            **{k: self.progress[k] for k in ("stage", "done", "total")},
        }
        self.control.upsert(ids=[LEASE], embeddings=[NO_VECTOR], metadatas=[meta])

    def acquire(self) -> None:
        rec = self.record()
        if rec is not None and rec.get("owner") != self.owner and _held(rec):
            raise _busy(rec)
        taken = time.time()
        self._write()
        time.sleep(SETTLE_SECONDS)
        rec = self.record()
        if rec is None or rec.get("owner") != self.owner:
            raise _busy(rec)
        self.acquired_at = taken
        self._thread = threading.Thread(target=self._renew, name="build-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        every = max(0.2, min(2.0, self.ttl / 4))
        while not self._stop.wait(every):
            try:
                rec = self.record()
                if rec is None or rec.get("owner") != self.owner:
                    self.lost = True
                    log.error("the build lease was taken over by %s", (rec or {}).get("holder", "nobody"))
                    return
                self._write()
            except Exception as exc:  # noqa: BLE001 - keep trying; `check` decides before the switch
                log.warning("could not renew the build lease: %s", exc)

    def check(self) -> None:
        """Renew, then make sure the lease is still ours: the last step before the pointer switch."""
        if self.lost:
            raise IndexBusyError("the build lease was lost during the build; the new build was not made current")
        rec = self.record()
        if rec is None or rec.get("owner") != self.owner or float(rec.get("expires", 0)) < time.time():
            raise IndexBusyError("the build lease expired or was taken over; the new build was not made current")
        self._write()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(Exception):
            rec = self.record()
            if rec is not None and rec.get("owner") == self.owner:
                self.control.delete(ids=[LEASE])


def lease_record(control: Any) -> dict[str, Any] | None:
    got = control.get(ids=[LEASE], include=["metadatas"])
    return dict(got["metadatas"][0]) if got["ids"] else None


def files_collection_name(build_id: str) -> str:
    return FILES_PREFIX + build_id.replace("-", "_")


def build_of_collection(name: str) -> str | None:
    """The build a collection of ours belongs to, or None for any other collection."""
    if name.startswith(FILES_PREFIX):
        return name[len(FILES_PREFIX) :].replace("_", "-")
    if name.startswith("advisor_") and name.count("_") >= 2:
        return name[len("advisor_") :].rsplit("_", 1)[0].replace("_", "-")
    return None


def build_started(build_id: str) -> float | None:
    """When a build began, from its id (`YYYYmmdd-HHMMSS-xxxxxx`, UTC); None for another form."""
    try:
        return datetime.strptime(build_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch_in_progress(folder: Path) -> bool:
    """A partial copy of a build (`.fetch-…`) younger than STALE_FETCH_SECONDS."""
    if not folder.name.startswith(".fetch-"):
        return False
    try:
        return time.time() - folder.stat().st_mtime <= STALE_FETCH_SECONDS
    except OSError:
        return True


class ServerStore(BuildStore):
    """Builds, pointer and lease in a Chroma server; this machine's index folder is a cache."""

    kind = "server"

    def __init__(self, url: str, index_dir: Path, *, lease_seconds: float = 30.0, poll_seconds: float = 1.0) -> None:
        self.url = url
        self.index_dir = Path(index_dir)
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.lease: Lease | None = None
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._control_collection: Any = None  # its handle, got once; dropped when a call on it fails
        self._pointer: dict[str, Any] | None = None
        self._pointer_at = float("-inf")
        self._pointer_lock = threading.Lock()
        self._lease_seen: tuple[float, dict[str, Any] | None] = (float("-inf"), None)
        self._infos: dict[str, dict[str, Any]] = {}
        self._fetch_lock = threading.Lock()

    # ---------------------------------------------------------------- the server

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = server_client(self.url)
            return self._client

    @property
    def vectors(self) -> ServerChroma:  # type: ignore[override]
        return ServerChroma(self.url, self.client)

    def _control(self) -> Any:
        """The control collection (pointer and lease records): asked of the server once, not on every
        pointer read."""
        got = self._control_collection
        if got is None:
            got = self.client.get_or_create_collection(CONTROL, embedding_function=None, metadata={"app": "alliance-advisor"})
            self._control_collection = got
        return got

    def _on_control(self, call: Callable[[Any], Any]) -> Any:
        """`call` on the control collection; once more with a handle asked for afresh when it fails
        (the server was restarted, or the collection made again)."""
        try:
            return call(self._control())
        except Exception:  # noqa: BLE001 - the second try raises what is wrong
            self._control_collection = None
            return call(self._control())

    # ---------------------------------------------------------------- the pointer

    def _read_pointer(self, fresh: bool = False) -> dict[str, Any]:
        """The pointer record; a cached one when read less than `poll_seconds` ago (unless `fresh`).

        One thread reads while the others keep the cached record; when the server cannot be
        reached, a node keeps answering from the build it knows (logged), and tries again later.
        """
        now = time.monotonic()
        if not fresh and self._pointer is not None and now - self._pointer_at < self.poll_seconds:
            return self._pointer
        if not self._pointer_lock.acquire(blocking=fresh or self._pointer is None):
            return self._pointer or {}
        try:
            try:
                got = self._on_control(lambda control: control.get(ids=[POINTER], include=["metadatas"]))
            except Exception as exc:
                if fresh or self._pointer is None:
                    raise RuntimeError(f"cannot read the current build from the Chroma server at {self.url}: {exc}") from exc
                log.warning("cannot read the current build from %s (%s); staying on build %s", self.url, exc, self._pointer.get("current"))
                self._pointer_at = time.monotonic()
                return self._pointer
            self._pointer = dict(got["metadatas"][0]) if got["ids"] else {}
            self._pointer_at = time.monotonic()
            return self._pointer
        finally:
            self._pointer_lock.release()

    def current(self, fresh: bool = False) -> str | None:
        return self._read_pointer(fresh).get("current") or None

    def previous(self) -> str | None:
        return self._read_pointer().get("previous") or None

    def _switch(self, current: str, previous: str | None) -> None:
        """Make `current` the current build: one record, written whole, then read back."""
        assert self.lease is not None, "the pointer moves only under the lease"
        self.lease.check()
        meta = {
            "current": current,
            "previous": previous or "",
            "switched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "by": f"process {os.getpid()} on {socket.gethostname()}",
        }
        control = self._control()
        control.upsert(ids=[POINTER], embeddings=[NO_VECTOR], metadatas=[meta])
        got = control.get(ids=[POINTER], include=["metadatas"])
        if not got["ids"] or got["metadatas"][0].get("current") != current:
            raise IndexVerifyError("the current-build pointer on the Chroma server did not take the new build")
        with self._pointer_lock:
            self._pointer, self._pointer_at = meta, time.monotonic()

    # ---------------------------------------------------------------- files of a build

    def _put_file(self, build_id: str, name: str, data: bytes) -> None:
        col = self.client.get_or_create_collection(files_collection_name(build_id), embedding_function=None, metadata={"app": "alliance-advisor"})
        parts = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
        meta = {"name": name, "parts": len(parts), "bytes": len(data), "sha256": _digest(data)}
        for i in range(0, len(parts), PARTS_PER_REQUEST):
            batch = range(i, min(i + PARTS_PER_REQUEST, len(parts)))
            col.upsert(
                ids=[f"{name}#{j}" for j in batch],
                embeddings=[NO_VECTOR for _ in batch],
                documents=[base64.b64encode(parts[j]).decode("ascii") for j in batch],
                metadatas=[{**meta, "part": j} for j in batch],
            )

    def _get_file(self, build_id: str, name: str) -> bytes:
        """A file of a build, checked against its digest; `FileNotFoundError` when it is not there."""
        from chromadb.errors import NotFoundError  # heavy; only a server store reaches here

        try:
            col = self.client.get_collection(files_collection_name(build_id), embedding_function=None)
        except NotFoundError:
            raise FileNotFoundError(f"build {build_id} is not on the Chroma server") from None
        first = col.get(ids=[f"{name}#0"], include=["documents", "metadatas"])
        if not first["ids"]:
            raise FileNotFoundError(f"build {build_id} has no {name} on the Chroma server")
        meta = first["metadatas"][0]
        docs = {0: first["documents"][0]}
        rest = [f"{name}#{j}" for j in range(1, int(meta["parts"]))]
        for i in range(0, len(rest), PARTS_PER_REQUEST):
            got = col.get(ids=rest[i : i + PARTS_PER_REQUEST], include=["documents"])
            docs.update({int(pid.rsplit("#", 1)[1]): doc for pid, doc in zip(got["ids"], got["documents"])})
        if len(docs) != int(meta["parts"]):
            raise FileNotFoundError(f"build {build_id} has an incomplete {name} on the Chroma server")
        data = b"".join(base64.b64decode(docs[j]) for j in range(len(docs)))
        if _digest(data) != meta["sha256"]:
            raise IndexVerifyError(f"{name} of build {build_id} on the Chroma server does not match its digest")
        return data

    def info(self, build_id: str) -> dict[str, Any]:
        got = self._infos.get(build_id)  # a build never changes: its info is read once
        if got is None:
            got = json.loads(self._get_file(build_id, "build.json"))
            with self._client_lock:
                while len(self._infos) >= 4:
                    self._infos.pop(next(iter(self._infos)))
                self._infos[build_id] = got
        return got

    def _records(self, build_id: str, n: int) -> tuple[list[Chunk], np.ndarray]:
        """The build's chunk list and vectors in build order, rebuilt from its collections' records."""
        chunks: list[Chunk | None] = [None] * n
        vectors: np.ndarray | None = None
        for lang, col in self.vectors.collections(build_id, None).items():
            offset = 0
            while True:
                got = col.get(include=["documents", "metadatas", "embeddings"], limit=RECORDS_PER_READ, offset=offset)
                if not got["ids"]:
                    break
                emb = np.asarray(got["embeddings"], dtype=np.float32)
                if vectors is None:
                    vectors = np.zeros((n, emb.shape[1]), dtype=np.float32)
                for j, (cid, doc, meta) in enumerate(zip(got["ids"], got["documents"], got["metadatas"])):
                    row, chunk = chunk_from_record(cid, doc, meta)
                    if not 0 <= row < n or chunks[row] is not None:
                        raise IndexVerifyError(f"build {build_id}: the '{lang}' records do not match its chunk list")
                    chunks[row], vectors[row] = chunk, emb[j]
                offset += len(got["ids"])
        missing = sum(c is None for c in chunks)
        if missing:
            raise IndexVerifyError(f"build {build_id}: {missing} of its {n} chunks are not on the Chroma server")
        return [c for c in chunks if c is not None], vectors if vectors is not None else np.zeros((0, 0), np.float32)

    # ---------------------------------------------------------------- reading: the node's cache

    def open(self, build_id: str) -> OpenBuild:
        folder = self._cached(build_id)
        return read_build_folder(folder, build_id, lambda: self.vectors.collections(build_id, folder))

    def _cached(self, build_id: str) -> Path:
        """This machine's copy of a build, copied from the server the first time it is needed."""
        folder = builds_dir(self.index_dir) / build_id
        if (folder / "build.json").exists():  # a copy is renamed into place whole
            return folder
        with self._fetch_lock:
            if (folder / "build.json").exists():
                return folder
            t = time.perf_counter()
            tmp = self._fetch(build_id)
            try:
                os.replace(tmp, folder)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not (folder / "build.json").exists():  # not another process's finished copy
                    raise
            log.info("copied build %s from the Chroma server in %.2f s", build_id, time.perf_counter() - t)
            pointer = self._pointer or {}
            self._drop_cached({build_id, pointer.get("current", ""), pointer.get("previous", "")})
        return folder

    def _fetch(self, build_id: str) -> Path:
        info_bytes = self._get_file(build_id, "build.json")
        info = json.loads(info_bytes)
        chunks, vectors = self._records(build_id, int(info["chunks"]))
        tmp = builds_dir(self.index_dir) / f".fetch-{build_id}-{os.getpid()}-{secrets.token_hex(3)}"
        tmp.mkdir(parents=True)
        write_chunk_files(tmp, chunks, vectors)
        for name in FILES:
            (tmp / name).write_bytes(self._get_file(build_id, name))
        (tmp / "build.json").write_bytes(info_bytes)  # last: it marks a complete copy
        fsync_tree(tmp)
        return tmp

    def _drop_cached(self, keep: set[str]) -> None:
        """Remove copies of builds that are no longer current or previous, and stale partial copies
        (a copy being made by another thread or process is spared)."""
        drop_build_folders(self.index_dir, keep, spare=_fetch_in_progress)

    # ---------------------------------------------------------------- who is building

    def _lease_now(self) -> dict[str, Any] | None:
        at, rec = self._lease_seen
        if time.monotonic() - at >= self.poll_seconds:
            try:
                rec = self._on_control(lease_record)
            except Exception as exc:  # noqa: BLE001 - a status line must not fail on it
                log.warning("cannot read the build lease from %s: %s", self.url, exc)
                rec = None
            self._lease_seen = (time.monotonic(), rec)
        return rec

    def is_building(self) -> bool:
        return _held(self._lease_now())

    def progress(self) -> dict[str, Any] | None:
        rec = self._lease_now()
        if not _held(rec):
            return None
        assert rec is not None
        return {k: rec.get(k) for k in ("pid", "started", "stage", "done", "total", "holder")}

    # ---------------------------------------------------------------- writing

    @contextlib.contextmanager
    def writer(self, progress: Progress | None = None) -> Iterator[Progress]:
        lease = Lease(self._control(), self.lease_seconds)
        lease.acquire()
        self.lease = lease
        self._lease_seen = (float("-inf"), None)

        def notify(stage: str, done: int, total: int) -> None:
            if progress is not None:
                progress(stage, done, total)
            lease.progress = {"stage": stage, "done": done, "total": total}  # the renewal publishes it

        try:
            yield notify
        finally:
            self.lease = None
            lease.release()
            self._lease_seen = (float("-inf"), None)

    def begin(self, build_id: str) -> Path:
        self.prune({b for b in (self.current(fresh=True), self.previous()) if b})
        staging = self.index_dir / "staging"
        shutil.rmtree(staging, ignore_errors=True)  # a crashed build's (we hold the lease)
        bdir = staging / build_id
        bdir.mkdir(parents=True)
        return bdir

    def upload(self, build_id: str, bdir: Path) -> None:
        for name in FILES:
            self._put_file(build_id, name, (bdir / name).read_bytes())

    def verify(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Read the build back as a node will and compare it with what was built."""
        got_chunks, got_vectors = self._records(build_id, len(chunks))
        if got_chunks != chunks:
            raise IndexVerifyError("the chunk records on the Chroma server differ from the built chunk list")
        # Chroma stores cosine-space vectors normalised: they come back within a float32 rounding.
        if len(chunks) and not np.allclose(got_vectors, np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1), atol=1e-6):
            raise IndexVerifyError("the vectors on the Chroma server differ from the built vectors")
        np.save(bdir / "vectors.npy", got_vectors)  # this machine's copy holds what every node reads
        for name in FILES:
            if self._get_file(build_id, name) != (bdir / name).read_bytes():
                raise IndexVerifyError(f"{name} on the Chroma server differs from the built one")

    def publish(self, build_id: str, bdir: Path, info: dict[str, Any]) -> None:
        data = json.dumps(info, ensure_ascii=False, indent=1).encode()
        self._put_file(build_id, "build.json", data)
        if self._get_file(build_id, "build.json") != data:
            raise IndexVerifyError("build.json on the Chroma server differs from the built one")
        self._switch(build_id, self.current(fresh=True))
        # This machine's cache: the staged files are what a node copies (verified equal above).
        (bdir / "build.json").write_bytes(data)
        try:
            builds_dir(self.index_dir).mkdir(parents=True, exist_ok=True)
            os.replace(bdir, builds_dir(self.index_dir) / build_id)
        except OSError:  # a copy is there already
            shutil.rmtree(bdir, ignore_errors=True)

    def prune(self, keep: set[str]) -> list[str]:
        """Drop the collections of builds not in `keep` (and this machine's copies of them).

        Only builds begun before this writer took the lease: a build begun after it belongs to a
        rival writer of the race described in `Lease`, and is left for the next prune.
        """
        before = self.lease.acquired_at if self.lease is not None else time.time()
        dropped: set[str] = set()
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            build = build_of_collection(name)
            if build is None or build in keep:
                continue
            started = build_started(build)
            if started is not None and started > before:
                continue
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
                dropped.add(build)
        self._drop_cached(keep)
        return sorted(dropped)

    def rollback(self) -> str:
        with self.writer():
            cur, prev = self.current(fresh=True), self.previous()
            ok = (self.info_or_none(prev) or {}).get("complete", False)
            if not prev or not ok or not self.vectors.collections(prev, None):
                raise RuntimeError("there is no previous build to roll back to")
            self._switch(prev, cur)
            return prev

