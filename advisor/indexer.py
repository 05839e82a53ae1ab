"""Build an index of the corpus: a fresh, verified build that becomes current atomically.

    scan -> diff with the current manifest -> load + chunk changed files -> embed (cache first)
         -> store in Chroma + BM25 -> verify -> switch CURRENT -> prune old builds

Readers only ever open the build that CURRENT names, and CURRENT changes by `os.replace`,
so a reader sees the old build or the new one, never half of one. One writer at a time
(an exclusive lock); a crashed build leaves a directory that is never current and is
cleaned up by the next build.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.chunking import chunk_document
from advisor.loaders import LOADERS, LoadError, file_sha256
from advisor.types import Chunk

if TYPE_CHECKING:
    from advisor.embeddings import Embedder
    from advisor.settings import Settings

log = logging.getLogger(__name__)

LOADER_VERSION = 5  # bump when loaders or chunking change what they produce
# How a build is laid out. 2: one vector collection per chunk language (ranking centres each
# language on its own, and a filtered search is ~100x slower than a plain one at 100k chunks),
# and the vectors as vectors.npy beside chunks.jsonl. A build of another layout is not opened.
LAYOUT = 2
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class IndexBusyError(RuntimeError):
    """Another build holds the index lock."""


class IndexVerifyError(RuntimeError):
    """A new build failed its checks and was not made current."""


@dataclass
class FileFailure:
    source: str
    reason: str


@dataclass
class IndexReport:
    build_id: str
    previous_build: str | None
    noop: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    cached: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed"] = [asdict(f) for f in self.failed]
        return d


# ------------------------------------------------------------------ layout of the index folder


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


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def switch_current(index_dir: Path, build_id: str) -> None:
    """Make a build current with one atomic rename; remember the one it replaces."""
    old = current_build_id(index_dir)
    if old and old != build_id:
        _atomic_write(index_dir / "PREVIOUS", old)
    _atomic_write(index_dir / "CURRENT", build_id)


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """One writer: a second build fails at once instead of waiting or interfering."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise IndexBusyError(
                    f"another index build is running (process {holder}); wait for it to finish"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def index_is_building(index_dir: Path) -> bool:
    """True while some process holds the build lock (used by the UI's notice)."""
    path = index_dir / ".lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


# ------------------------------------------------------------------ corpus scan


def scan_corpus(corpus_dir: Path) -> tuple[dict[str, Path], list[FileFailure]]:
    """Indexable files by relative path, and files refused before reading (with reasons)."""
    found: dict[str, Path] = {}
    refused: list[FileFailure] = []
    root = corpus_dir.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder '{corpus_dir}' does not exist")
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_dir():
            continue
        if rel.lower() == "readme.md":  # the corpus's own catalogue, not knowledge
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            refused.append(FileFailure(rel, "symbolic link pointing outside the corpus"))
            continue
        if path.is_symlink() and not path.exists():
            refused.append(FileFailure(rel, "symbolic link to a file that does not exist"))
            continue
        if not path.is_file():  # a FIFO or a socket would block or fail the reader
            refused.append(FileFailure(rel, "not a regular file"))
            continue
        if path.suffix.lower() not in LOADERS:
            refused.append(FileFailure(rel, f"unsupported file type '{path.suffix or '(none)'}'"))
            continue
        found[rel] = path
    return found, refused


def settings_fingerprint(settings: Settings, model_name: str) -> dict[str, Any]:
    return {
        "model": model_name,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "loader_version": LOADER_VERSION,
        "layout": LAYOUT,
    }


# ------------------------------------------------------------------ the build


def _read_chunks(path: Path) -> list[Chunk]:
    with path.open() as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]


def load_build_chunks(index_dir: Path, build_id: str) -> list[Chunk]:
    return _read_chunks(builds_dir(index_dir) / build_id / "chunks.jsonl")


def _new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _prune(index_dir: Path, keep: set[str]) -> None:
    bdir = builds_dir(index_dir)
    if not bdir.exists():
        return
    for d in bdir.iterdir():
        if d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)


def build_index(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    full: bool = False,
    progress: Progress | None = None,
    vector_backend: VectorBackend | None = None,
) -> IndexReport:
    """Index `settings.corpus_dir` into a new build under `settings.index_dir` and make it current."""
    from advisor.embeddings import CachedEmbedder, EmbeddingCache, load_embedder, model_name

    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    with index_lock(index_dir):
        notify = _progress_file_writer(index_dir, progress)
        timings: dict[str, float] = {}
        cur = current_build_id(index_dir)
        prev_info: dict[str, Any] | None = None
        if cur and (builds_dir(index_dir) / cur / "build.json").exists():
            prev_info = read_build_info(index_dir, cur)
        files, refused = scan_corpus(Path(settings.corpus_dir))
        hashes = {rel: file_sha256(p) for rel, p in files.items()}
        fingerprint = settings_fingerprint(settings, embedder.name if embedder is not None else model_name(settings))
        reuse = prev_info is not None and not full and prev_info.get("fingerprint") == fingerprint
        prev_manifest: dict[str, Any] = prev_info["manifest"] if prev_info else {}
        report = IndexReport(build_id="", previous_build=cur)

        prev_failed = {f["source"]: f for f in (prev_info or {}).get("failed", [])}
        carried = {r for r in files if r not in prev_manifest and prev_failed.get(r, {}).get("sha256") == hashes[r]}
        for rel in files:
            old = prev_manifest.get(rel)
            if old is None:
                if rel not in carried:
                    report.added.append(rel)
            elif old["sha256"] != hashes[rel]:
                report.changed.append(rel)
            else:
                report.unchanged += 1
        report.removed = sorted(set(prev_manifest) - set(files))
        report.failed = list(refused)

        if reuse and not report.added and not report.changed and not report.removed:
            # Nothing changed since the current build: no new build, no embedding.
            assert cur is not None and prev_info is not None
            report.build_id = cur
            report.noop = True
            report.failed += [FileFailure(r, prev_failed[r]["reason"]) for r in sorted(carried)]
            report.documents = prev_info["documents"]
            report.chunks = prev_info["chunks"]
            report.seconds = time.perf_counter() - t0
            return report

        build_id = _new_build_id()
        report.build_id = build_id
        bdir = builds_dir(index_dir) / build_id
        _prune(index_dir, keep={b for b in (cur, previous_build_id(index_dir)) if b})
        bdir.mkdir(parents=True)

        # Load and chunk what is new or changed; keep the rest from the previous build.
        prev_chunks: dict[str, list[Chunk]] = {}
        if prev_info and cur:
            for c in load_build_chunks(index_dir, cur):
                prev_chunks.setdefault(c.source, []).append(c)
        manifest: dict[str, Any] = {}
        doc_chunks: dict[str, list[Chunk]] = {}
        to_load = [r for r in files if r in report.added or r in report.changed or not reuse]
        load_time = chunk_time = 0.0
        from advisor.guard import GuardedLoader

        # A worker of this build's own, started at the first file to read and ended with the loop.
        with GuardedLoader(settings.load_timeout, settings.load_memory_mb) as guard:
            for i, rel in enumerate(sorted(files)):
                if rel not in to_load:
                    if rel in carried:
                        report.failed.append(FileFailure(rel, prev_failed[rel]["reason"]))
                    else:
                        doc_chunks[rel] = prev_chunks.get(rel, [])
                        manifest[rel] = prev_manifest[rel]
                    continue
                notify("loading", i + 1, len(files))
                ts = time.perf_counter()
                try:
                    doc = guard.load(files[rel], rel)
                except LoadError as exc:
                    load_time += time.perf_counter() - ts
                    reason = str(exc)
                    if rel in prev_manifest:  # a broken new version must not lose the indexed one
                        reason += "; the previously indexed version is kept"
                        doc_chunks[rel] = prev_chunks.get(rel, [])
                        manifest[rel] = prev_manifest[rel]
                        if rel in report.changed:
                            report.changed.remove(rel)
                    else:
                        with contextlib.suppress(ValueError):
                            report.added.remove(rel)
                    report.failed.append(FileFailure(rel, reason))
                    continue
                load_time += time.perf_counter() - ts
                ts = time.perf_counter()
                chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
                chunk_time += time.perf_counter() - ts
                doc_chunks[rel] = chunks
                manifest[rel] = {
                    "sha256": hashes[rel],
                    "title": doc.title,
                    "language": doc.language,
                    "format": doc.format,
                    "chunks": len(chunks),
                    "indexed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
        timings["loading"] = load_time
        timings["chunking"] = chunk_time
        all_chunks = [c for rel in sorted(doc_chunks) for c in doc_chunks[rel]]
        ids = [c.id for c in all_chunks]
        if len(set(ids)) != len(ids):
            raise IndexVerifyError("duplicate chunk ids in the new build")

        # Embed: the cache answers everything that was embedded before.
        t = time.perf_counter()
        inner = embedder if embedder is not None else load_embedder(settings)
        cache = EmbeddingCache(index_dir / "cache" / "embeddings.sqlite")
        cached = CachedEmbedder(inner, cache)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            notify("embedding", done, len(all_chunks))

        vectors = cached.embed_documents([c.embed_text for c in all_chunks], progress=tick)
        report.embedded, report.cached = cached.embedded, cached.cached
        timings["embedding"] = time.perf_counter() - t

        # Store: vectors in Chroma, chunks and BM25 beside them.
        t = time.perf_counter()
        backend = vector_backend or vector_backend_for(settings)
        notify("storing", 0, len(all_chunks))
        backend.write(build_id, bdir, all_chunks, vectors, settings.ef_search)
        write_build_files(bdir, all_chunks, vectors)
        notify("storing", len(all_chunks), len(all_chunks))
        timings["storing"] = time.perf_counter() - t

        # Verify before anyone can see it.
        t = time.perf_counter()
        notify("verifying", 0, 1)
        backend.verify(build_id, bdir, all_chunks, vectors)
        timings["verifying"] = time.perf_counter() - t

        report.documents = len(manifest)
        report.chunks = len(all_chunks)
        report.seconds = time.perf_counter() - t0
        report.timings = timings
        info = {
            "id": build_id,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": inner.name,
            "fingerprint": fingerprint,
            "layout": LAYOUT,
            "backend": backend.kind,
            "documents": report.documents,
            "chunks": report.chunks,
            "manifest": manifest,
            "failed": [{"source": f.source, "reason": f.reason, "sha256": hashes.get(f.source)} for f in report.failed],
            "report": report.to_json(),
            "complete": True,
        }
        _atomic_write(bdir / "build.json", json.dumps(info, ensure_ascii=False, indent=1))
        switch_current(index_dir, build_id)
        _prune(index_dir, keep={build_id, cur} - {None})  # type: ignore[arg-type]
        backend.prune({b for b in (build_id, cur) if b})
        cache.close()
        report.seconds = time.perf_counter() - t0
        log.info("build %s current: %d documents, %d chunks", build_id, report.documents, report.chunks)
        return report


def _progress_file_writer(index_dir: Path, progress: Progress | None) -> Progress:
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
                _atomic_write(path, json.dumps({"pid": os.getpid(), "started": started, "stage": stage, "done": done, "total": total}))

    return notify


def read_progress(index_dir: Path) -> dict[str, Any] | None:
    """The running build's progress, or None when no build is running."""
    if not index_is_building(index_dir):
        return None
    try:
        return json.loads((index_dir / "progress.json").read_text())
    except (OSError, ValueError):
        return {"stage": "starting", "done": 0, "total": 0}


def write_build_files(bdir: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """What a build keeps beside its vectors: the chunks, BM25, per-language means, the vectors themselves."""
    from advisor.keyword import BM25Index

    with (bdir / "chunks.jsonl").open("w") as f:
        for c in chunks:
            f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    BM25Index.build(chunks).save(bdir / "bm25.pkl")
    save_language_stats(bdir / "language_stats.npz", chunks, vectors)
    np.save(bdir / "vectors.npy", np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1))


def layout_ok(info: dict[str, Any]) -> bool:
    """True when this version can open a build with this build.json (see LAYOUT)."""
    return info.get("layout") == LAYOUT


def build_layout_ok(index_dir: Path, build_id: str) -> bool:
    try:
        return layout_ok(read_build_info(index_dir, build_id))
    except (OSError, ValueError):
        return False


def save_language_stats(path: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """Per-language mean of the chunk vectors (see `retrieval.LanguageStats`)."""
    stats: dict[str, np.ndarray] = {}
    for lang in ("nl", "en"):
        rows = [i for i, c in enumerate(chunks) if c.language == lang]
        if len(rows) >= 2:
            stats[f"{lang}_mean"] = vectors[rows].astype(np.float64).mean(axis=0)
    with path.open("wb") as f:
        np.savez(f, **stats)


def rollback(index_dir: Path) -> str:
    """Make the previous build current again."""
    with index_lock(index_dir):
        prev = previous_build_id(index_dir)
        if not prev or not (builds_dir(index_dir) / prev / "build.json").exists():
            raise RuntimeError("there is no previous build to roll back to")
        switch_current(index_dir, prev)
        return prev


# ------------------------------------------------------------------ vector backends


def rows_by_language(chunks: list[Chunk]) -> dict[str, list[int]]:
    """Positions of the chunks of each language, languages in sorted order."""
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.language, []).append(i)
    return dict(sorted(rows.items()))


class VectorBackend:
    """Where a build's vectors live: a Chroma folder per build, or collections per build on a server.

    Either way a build has one collection per chunk language (see LAYOUT).
    """

    kind = "embedded"

    def write(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray, ef_search: int) -> None:
        from advisor.store import create_collection, upsert

        client = self._client(bdir)
        for lang, rows in rows_by_language(chunks).items():
            name = self.collection_name(build_id, lang)
            with contextlib.suppress(Exception):
                client.delete_collection(name)  # a crashed attempt at the same build
            upsert(create_collection(client, name, ef_search), [chunks[i] for i in rows], vectors[rows])

    def collections(self, build_id: str, bdir: Path) -> dict[str, Any]:
        """The build's collections by language."""
        client = self._client(bdir)
        prefix = self.collection_name(build_id, "")
        out: dict[str, Any] = {}
        for col in client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(prefix):
                out[name[len(prefix) :]] = client.get_collection(name)
        return dict(sorted(out.items()))

    def collection_name(self, build_id: str, lang: str) -> str:
        raise NotImplementedError

    def _client(self, bdir: Path) -> Any:
        raise NotImplementedError

    def prune(self, keep: set[str]) -> None:
        """Drop vectors of builds that are neither current nor previous."""

    def verify(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:
        from advisor.store import all_ids, query

        cols = self.collections(build_id, bdir)
        rows = rows_by_language(chunks)
        if set(cols) != set(rows):
            raise IndexVerifyError(f"vector store holds languages {sorted(cols)}, expected {sorted(rows)}")
        for lang, col in cols.items():
            count = col.count()
            if count != len(rows[lang]):
                raise IndexVerifyError(f"vector store holds {count} '{lang}' chunks, expected {len(rows[lang])}")
            if all_ids(col) != {chunks[i].id for i in rows[lang]}:
                raise IndexVerifyError(f"vector store ids of '{lang}' differ from the chunk list")
        # Self-query: one chunk of every document must find itself.
        firsts: dict[str, int] = {}
        for i, c in enumerate(chunks):
            firsts.setdefault(c.source, i)
        for source, i in list(firsts.items())[:200]:
            got = query(cols[chunks[i].language], vectors[i], 5)
            # its own id, or an identical vector (another chunk with the same embedding) on top
            if chunks[i].id not in {cid for cid, _ in got} and not (got and got[0][1] > 0.9999):
                raise IndexVerifyError(f"self-query of '{source}' did not find its own chunk")


class EmbeddedChroma(VectorBackend):
    kind = "embedded"

    def _client(self, bdir: Path) -> Any:
        from advisor.store import embedded_client

        return embedded_client(bdir / "chroma")

    def collection_name(self, build_id: str, lang: str) -> str:
        from advisor.store import COLLECTION

        return f"{COLLECTION}_{lang}"


class ServerChroma(VectorBackend):
    kind = "server"

    def __init__(self, url: str) -> None:
        self.url = url

    def _client(self, bdir: Path | None = None) -> Any:
        from advisor.store import server_client

        return server_client(self.url)

    def collection_name(self, build_id: str, lang: str) -> str:
        return f"{self.name(build_id)}_{lang}"

    @staticmethod
    def name(build_id: str) -> str:
        return "advisor_" + build_id.replace("-", "_")

    def prune(self, keep: set[str]) -> None:
        client = self._client()
        wanted = tuple(self.name(b) + "_" for b in keep)
        for col in client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith("advisor_") and not name.startswith(wanted):
                with contextlib.suppress(Exception):
                    client.delete_collection(name)


def vector_backend_for(settings: Settings) -> VectorBackend:
    match settings.chroma_server_url:
        case None | "":
            return EmbeddedChroma()
        case url:
            return ServerChroma(url)
