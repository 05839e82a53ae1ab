"""Where readers find builds: the `BuildStore` interface, and the folder layout of a build.

A build is immutable once written. A store names the current build (a pointer that moves in one
atomic step), holds the single-writer lock, and opens a build for reading (`OpenBuild`). Two stores
implement it (`advisor.index.stores.open_store` picks one from the settings): the index folder of
this machine (`CURRENT`, `builds/<id>/`, a `flock`), or a Chroma server shared by app nodes
(`advisor.index.shared`: a pointer record, a lease, and a local cache of the build in the same
folder layout). Readers go through a store, never through the builder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from advisor.core.fsutil import LockBusy, atomic_write, exclusive_or_busy, is_locked
from advisor.core.types import Chunk
from advisor.index.keyword import BM25Index


# How a build is laid out. 2: one vector collection per chunk language (ranking centres each
# language on its own, and a filtered search is ~100x slower than a plain one at 100k chunks),
# and the vectors as vectors.npy beside chunks.jsonl. 3: chunks carry their section's role and
# their overlap with the previous chunk. 4: language_stats.npz also holds the means of the
# background passages (advisor.index.background). A build of another layout is not opened.
LAYOUT = 4


Progress = Callable[[str, int, int], None]  # (stage, done, total)


class IndexVerifyError(RuntimeError):
    """A new build failed its checks and was not made current."""


class IndexBusyError(RuntimeError):
    """Another build holds the index lock."""


def builds_dir(index_dir: Path) -> Path:
    return index_dir / "builds"


def drop_build_folders(index_dir: Path, keep: set[str], spare: Callable[[Path], bool] = lambda d: False) -> list[str]:
    """Delete the build folders of `index_dir` that are not in `keep` (nor spared); their names."""
    root = builds_dir(index_dir)
    dropped = []
    for d in sorted(root.iterdir()) if root.exists() else ():
        if d.name not in keep and not spare(d):
            shutil.rmtree(d, ignore_errors=True)
            dropped.append(d.name)
    return dropped


def current_build_id(index_dir: Path) -> str | None:
    try:
        value = (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return value or None


def previous_build_id(index_dir: Path) -> str | None:
    try:
        return (index_dir / "PREVIOUS").read_text().strip() or None
    except FileNotFoundError:
        return None


def read_build_info(index_dir: Path, build_id: str) -> dict[str, Any]:
    return json.loads((builds_dir(index_dir) / build_id / "build.json").read_text())


def switch_current(index_dir: Path, build_id: str) -> None:
    """Make a build current with one atomic rename; remember the one it replaces."""
    old = current_build_id(index_dir)
    if old and old != build_id:
        atomic_write(index_dir / "PREVIOUS", old)
    atomic_write(index_dir / "CURRENT", build_id)


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """One writer: a second build fails at once instead of waiting or interfering."""
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        with exclusive_or_busy(index_dir / ".lock"):
            yield
    except LockBusy as busy:
        raise IndexBusyError(f"another index build is running (process {busy.holder}); wait for it to finish") from None


def index_is_building(index_dir: Path) -> bool:
    """True while some process holds the build lock (used by the UI's notice)."""
    return is_locked(index_dir / ".lock")


def read_chunks(path: Path) -> list[Chunk]:
    with path.open() as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def load_build_chunks(index_dir: Path, build_id: str) -> list[Chunk]:
    return read_chunks(builds_dir(index_dir) / build_id / "chunks.jsonl")


def read_progress(index_dir: Path) -> dict[str, Any] | None:
    """The running build's progress, or None when no build is running."""
    if not index_is_building(index_dir):
        return None
    try:
        return json.loads((index_dir / "progress.json").read_text())
    except (OSError, ValueError):
        return {"stage": "starting", "done": 0, "total": 0}


def layout_ok(info: dict[str, Any]) -> bool:
    """True when this version can open a build with this build.json (see LAYOUT)."""
    return info.get("layout") == LAYOUT


def progress_file_writer(index_dir: Path, progress: Progress | None) -> Progress:
    """Forward progress and also publish it in `index/progress.json` for other processes (the UI)."""
    path = index_dir / "progress.json"
    last = [0.0]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def notify(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)
        now = time.monotonic()
        if now - last[0] > 0.25 or done == total:
            last[0] = now
            with contextlib.suppress(OSError):
                atomic_write(path, json.dumps({"pid": os.getpid(), "started": started, "stage": stage, "done": done, "total": total}))

    return notify


# ---------------------------------------------------------------- a build opened for reading


@dataclass(frozen=True)
class OpenBuild:
    """What a reader needs from one build besides its info (`BuildStore.info`): chunks in build
    order, BM25 over them, the vectors in the same order (memory-mapped), the per-language means,
    and how to open its vector collections (only when first needed: a small build is searched on its vectors, and a cold
    start that never opens Chroma is seconds faster)."""

    build_id: str
    chunks: list[Chunk]
    bm25: BM25Index
    vectors: np.ndarray
    language_stats_path: Path
    open_collections: Callable[[], dict[str, Any]]


def read_build_folder(folder: Path, build_id: str, open_collections: Callable[[], dict[str, Any]]) -> OpenBuild:
    """A build's files in the folder layout (`chunks.jsonl`, `bm25.pkl`, `vectors.npy`,
    `language_stats.npz`; the store reads its `build.json`): a build folder, or a node's cached
    copy of a server build."""
    return OpenBuild(
        build_id=build_id,
        chunks=read_chunks(folder / "chunks.jsonl"),
        bm25=BM25Index.load(folder / "bm25.pkl"),
        vectors=np.load(folder / "vectors.npy", mmap_mode="r"),
        language_stats_path=folder / "language_stats.npz",
        open_collections=open_collections,
    )


def write_chunk_files(folder: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """The chunk list and the vectors in build order, as a build folder holds them."""
    with (folder / "chunks.jsonl").open("w") as f:
        for c in chunks:
            f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    np.save(folder / "vectors.npy", np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1))


class BuildStore(ABC):
    """Where builds live and which one is current: the one interface readers and the builder use.

    Readers: `current`, `info`, `open`, `is_building`, `progress`. The builder, inside `writer()`
    (one writer at a time, `IndexBusyError` otherwise): `begin` a build's local folder, `upload` its
    files, `verify` them as a reader would see them, `publish` (the atomic switch), `prune`.
    """

    kind = "embedded"
    vectors: Any  # the `advisor.index.vectors.VectorBackend` that holds this store's collections

    @abstractmethod
    def current(self, fresh: bool = False) -> str | None:
        """The current build's id. `fresh`: never a cached answer (the builder's view)."""

    @abstractmethod
    def previous(self) -> str | None:
        """The build the current one replaced (what `rollback` returns to)."""

    @abstractmethod
    def info(self, build_id: str) -> dict[str, Any]:
        """A build's `build.json`; `FileNotFoundError` when the build does not exist (any more)."""

    def info_or_none(self, build_id: str | None) -> dict[str, Any] | None:
        if not build_id:
            return None
        try:
            return self.info(build_id)
        except (OSError, ValueError):
            return None

    def layout_ok(self, build_id: str) -> bool:
        """True when this version can open the build (see LAYOUT)."""
        info = self.info_or_none(build_id)
        return info is not None and layout_ok(info)

    @abstractmethod
    def open(self, build_id: str) -> OpenBuild:
        """The build, ready to search."""

    def chunks(self, build_id: str) -> list[Chunk]:
        return self.open(build_id).chunks

    @abstractmethod
    def is_building(self) -> bool:
        """True while some process (on any machine that shares the store) holds the writer lock."""

    @abstractmethod
    def progress(self) -> dict[str, Any] | None:
        """The running build's progress, or None when no build is running."""

    @abstractmethod
    def writer(self, progress: Progress | None = None) -> contextlib.AbstractContextManager[Progress]:
        """Hold the single-writer lock; yields a progress callback that also publishes the progress
        to other processes. `IndexBusyError` at once when another writer holds it."""

    @abstractmethod
    def begin(self, build_id: str) -> Path:
        """Clear away what crashed builds left (never current or previous) and make the local
        folder where the new build's files are written."""

    def upload(self, build_id: str, bdir: Path) -> None:
        """Store the build's files where readers find them (the folder store already has)."""

    def verify(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Check the files as a reader will see them; `IndexVerifyError` otherwise."""

    @abstractmethod
    def publish(self, build_id: str, bdir: Path, info: dict[str, Any]) -> None:
        """Write the build's info and make it current in one atomic step."""

    @abstractmethod
    def prune(self, keep: set[str]) -> list[str]:
        """Drop builds not in `keep`; the dropped ids."""

    @abstractmethod
    def rollback(self) -> str:
        """Make the previous build current again (under the writer lock); its id."""
