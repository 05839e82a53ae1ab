"""layout."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.core.fsutil import LockBusy, atomic_write, exclusive_or_busy, is_locked
from advisor.core.types import Chunk

if TYPE_CHECKING:
    pass


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


def _read_chunks(path: Path) -> list[Chunk]:
    with path.open() as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def load_build_chunks(index_dir: Path, build_id: str) -> list[Chunk]:
    return _read_chunks(builds_dir(index_dir) / build_id / "chunks.jsonl")


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


def build_layout_ok(index_dir: Path, build_id: str) -> bool:
    try:
        return layout_ok(read_build_info(index_dir, build_id))
    except (OSError, ValueError):
        return False
