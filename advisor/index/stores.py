"""The two places a build can live, and the one choice between them (`open_store`).

- `FolderStore`: the index folder of this machine, the embedded default. `CURRENT` names the
  current build and changes by `os.replace`; a build is `builds/<id>/` (Chroma folder, chunks,
  BM25, vectors, language statistics, `build.json`); one writer by `flock` on `.lock`.
- `advisor.index.shared.ServerStore`: a Chroma server shared by app nodes. The whole build, the
  current-build pointer and the writer's lease are in the server; the local folder is a cache.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.core.fsutil import atomic_write
from advisor.core.types import Chunk
from advisor.index.layout import (
    BuildStore,
    OpenBuild,
    Progress,
    builds_dir,
    current_build_id,
    drop_build_folders,
    index_is_building,
    index_lock,
    load_build_chunks,
    previous_build_id,
    progress_file_writer,
    read_build_folder,
    read_build_info,
    read_progress,
    switch_current,
)
from advisor.index.shared import ServerStore
from advisor.index.vectors import EmbeddedChroma

if TYPE_CHECKING:
    from advisor.core.settings import Settings


class FolderStore(BuildStore):
    """Builds in this machine's index folder (see the module docstring)."""

    kind = "embedded"

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.vectors = EmbeddedChroma()

    def current(self, fresh: bool = False) -> str | None:
        return current_build_id(self.index_dir)

    def previous(self) -> str | None:
        return previous_build_id(self.index_dir)

    def info(self, build_id: str) -> dict[str, Any]:
        return read_build_info(self.index_dir, build_id)

    def open(self, build_id: str) -> OpenBuild:
        bdir = builds_dir(self.index_dir) / build_id
        return read_build_folder(bdir, build_id, lambda: self.vectors.collections(build_id, bdir))

    def chunks(self, build_id: str) -> list[Chunk]:
        """Only the chunk list: the builder reads it without opening the Chroma folder."""
        return load_build_chunks(self.index_dir, build_id)

    def is_building(self) -> bool:
        return index_is_building(self.index_dir)

    def progress(self) -> dict[str, Any] | None:
        return read_progress(self.index_dir)

    @contextlib.contextmanager
    def writer(self, progress: Progress | None = None) -> Iterator[Progress]:
        with index_lock(self.index_dir):
            yield progress_file_writer(self.index_dir, progress)

    def begin(self, build_id: str) -> Path:
        drop_build_folders(self.index_dir, {b for b in (self.current(), self.previous()) if b})
        bdir = builds_dir(self.index_dir) / build_id
        bdir.mkdir(parents=True)
        return bdir

    def publish(self, build_id: str, bdir: Path, info: dict[str, Any]) -> None:
        atomic_write(bdir / "build.json", json.dumps(info, ensure_ascii=False, indent=1))
        switch_current(self.index_dir, build_id)

    def prune(self, keep: set[str]) -> list[str]:
        return drop_build_folders(self.index_dir, keep)

    def rollback(self) -> str:
        with index_lock(self.index_dir):
            prev = self.previous()
            if not prev or not (builds_dir(self.index_dir) / prev / "build.json").exists():
                raise RuntimeError("there is no previous build to roll back to")
            switch_current(self.index_dir, prev)
            return prev


def open_store(settings: Settings) -> BuildStore:
    """The store the settings name: the index folder, or a Chroma server (`chroma_server_url`)."""
    match settings.chroma_server_url:
        case None | "":
            return FolderStore(Path(settings.index_dir))
        case url:
            return _server_store(url, str(Path(settings.index_dir).resolve()), settings.chroma_lease_seconds, settings.chroma_poll_seconds)


@functools.lru_cache(maxsize=16)
def _server_store(url: str, index_dir: str, lease_seconds: float, poll_seconds: float) -> ServerStore:
    """One per server and cache folder in a process, like a connection pool: the reader, the API's
    health and the desk share its HTTP client and its pointer cache (read at most once per
    `poll_seconds`), instead of each opening a client (~0.1-0.3 s) per call."""
    return ServerStore(url, Path(index_dir), lease_seconds=lease_seconds, poll_seconds=poll_seconds)
