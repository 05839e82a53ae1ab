"""Build an index of the corpus: a fresh, verified build that becomes current atomically.

    scan -> diff with the current manifest -> load + chunk changed files -> embed (cache first)
         -> store in Chroma + BM25 -> verify -> switch the pointer -> prune old builds

Where the build goes is the store's business (`advisor.index.stores`): the index folder, where
`CURRENT` changes by `os.replace`, or a Chroma server, where one pointer record changes. Either
way readers only open the build the pointer names, so they see the old build or the new one,
never half of one. One writer at a time (a lock, or a lease across machines); a crashed build
leaves files that are never current and are cleaned up by the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.core.fsutil import sha256_file
from advisor.core.types import Chunk
from advisor.embedding.models import CachedEmbedder, EmbeddingCache, load_embedder, model_name, runtime_name
from advisor.index.background import background_passages, probe_questions
from advisor.index.keyword import BM25Index
from advisor.index.lexicon import vocabulary
from advisor.index.layout import (
    LAYOUT,
    BuildStore,
    IndexVerifyError,
    Progress,
    layout_ok,
    write_chunk_files,
)
from advisor.index.stores import FolderStore, open_store
from advisor.index.vectors import VectorBackend
from advisor.ingest.chunking import chunk_document
from advisor.ingest.loaders import LOADERS, LoadError
from advisor.ingest.sandbox import GuardedLoader

if TYPE_CHECKING:
    from advisor.core.settings import Settings
    from advisor.embedding.models import Embedder


log = logging.getLogger(__name__)


LOADER_VERSION = 16  # bump when loaders, chunking, section roles or the build's statistics change what they produce




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


def settings_fingerprint(settings: Settings, model_name: str, runtime: str = "") -> dict[str, Any]:
    return {
        "model": model_name,
        "runtime": runtime,  # vectors of another runtime are not reused: a switch rebuilds
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "loader_version": LOADER_VERSION,
        "layout": LAYOUT,
    }


def _new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


@dataclass(frozen=True)
class Plan:
    """The corpus diffed against the current build's manifest: what to load, keep and report."""

    previous_build: str | None
    previous_info: dict[str, Any] | None
    previous_manifest: dict[str, Any]
    previous_failed: dict[str, dict[str, Any]]
    files: dict[str, Path]
    hashes: dict[str, str]
    refused: list[FileFailure]
    fingerprint: dict[str, Any]
    reuse: bool
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    carried: set[str]  # new to the manifest, but failed before with the same content

    @property
    def noop(self) -> bool:
        return self.reuse and not self.added and not self.changed and not self.removed

    @property
    def to_load(self) -> set[str]:
        return {r for r in self.files if r in self.added or r in self.changed or not self.reuse}

    def carried_failure(self, rel: str) -> FileFailure:
        return FileFailure(rel, self.previous_failed[rel]["reason"])


@dataclass(frozen=True)
class Loaded:
    """Chunks and manifest entries per source (loaded or kept), and the files that failed."""

    chunks_by_source: dict[str, list[Chunk]]
    manifest: dict[str, Any]
    failed: list[FileFailure]  # carried-over and new load failures, in source order
    unloaded: set[str]  # added or changed files whose new version could not be loaded
    loading: float
    chunking: float


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray
    embedder: Embedder
    cache: EmbeddingCache
    embedded: int
    cached: int
    seconds: float
    background: dict[str, np.ndarray] = field(default_factory=dict)  # vectors of the background passages, per language
    lexicon: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)  # per language: its words and their vectors
    probes: dict[str, np.ndarray] = field(default_factory=dict)  # query vectors of the probe questions, per language


@dataclass(frozen=True)
class Stored:
    backend: VectorBackend
    storing: float
    verifying: float


def build_index(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    full: bool = False,
    progress: Progress | None = None,
    load: Callable[[], Embedder] | None = None,
    store: BuildStore | None = None,
) -> IndexReport:
    """Index `settings.corpus_dir` into a new build in the settings' store and make it current.

    Without `embedder`, the model is made only when something needs embedding: by `load` (the
    composition root's, so the build and the answers share one model), else from the settings.
    """

    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    store = store or open_store(settings)
    with store.writer(progress) as notify:
        plan = _plan(settings, store, embedder, full)
        if plan.noop:  # nothing changed since the current build: no new build, no embedding
            return _noop_report(plan, time.perf_counter() - t0)
        build_id = _new_build_id()
        bdir = store.begin(build_id)
        loaded = _load(settings, plan, _previous_chunks(store, plan), notify)
        chunks = _all_chunks(loaded)
        embedded = _embed(settings, index_dir, chunks, notify, embedder, load)
        stored = _store_and_verify(settings, store, build_id, bdir, chunks, embedded, notify)
        report = _report(build_id, plan, loaded, embedded, stored, time.perf_counter() - t0)
        info = _build_info(build_id, plan, loaded, embedded, stored, report)
        _publish(store, bdir, build_id, plan.previous_build, info, embedded.cache)
        log.info("build %s current: %d documents, %d chunks", build_id, report.documents, report.chunks)
        return replace(report, seconds=time.perf_counter() - t0)


def _plan(settings: Settings, store: BuildStore, embedder: Embedder | None, full: bool) -> Plan:
    """Diff the corpus against the current build's manifest."""
    cur = store.current(fresh=True)
    prev_info = store.info_or_none(cur)
    files, refused = scan_corpus(Path(settings.corpus_dir))
    hashes = {rel: sha256_file(p) for rel, p in files.items()}
    fingerprint = settings_fingerprint(
        settings,
        embedder.name if embedder is not None else model_name(settings),
        str(getattr(embedder, "runtime", "")) if embedder is not None else runtime_name(settings),
    )
    # Chunks are reused only from a build of the same settings and layout (an older layout lacks fields).
    reuse = prev_info is not None and not full and prev_info.get("fingerprint") == fingerprint and layout_ok(prev_info)
    prev_manifest: dict[str, Any] = prev_info["manifest"] if prev_info else {}
    prev_failed = {f["source"]: f for f in (prev_info or {}).get("failed", [])}
    carried = {r for r in files if r not in prev_manifest and prev_failed.get(r, {}).get("sha256") == hashes[r]}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    for rel in files:
        old = prev_manifest.get(rel)
        if old is None:
            if rel not in carried:
                added.append(rel)
        elif old["sha256"] != hashes[rel]:
            changed.append(rel)
        else:
            unchanged += 1
    return Plan(
        previous_build=cur,
        previous_info=prev_info,
        previous_manifest=prev_manifest,
        previous_failed=prev_failed,
        files=files,
        hashes=hashes,
        refused=list(refused),
        fingerprint=fingerprint,
        reuse=reuse,
        added=added,
        changed=changed,
        removed=sorted(set(prev_manifest) - set(files)),
        unchanged=unchanged,
        carried=carried,
    )


def _noop_report(plan: Plan, seconds: float) -> IndexReport:
    """The report of a build that was not needed: the current one stays."""
    assert plan.previous_build is not None
    assert plan.previous_info is not None
    return IndexReport(
        build_id=plan.previous_build,
        previous_build=plan.previous_build,
        noop=True,
        unchanged=plan.unchanged,
        failed=plan.refused + [plan.carried_failure(r) for r in sorted(plan.carried)],
        documents=plan.previous_info["documents"],
        chunks=plan.previous_info["chunks"],
        seconds=seconds,
    )


def _previous_chunks(store: BuildStore, plan: Plan) -> dict[str, list[Chunk]]:
    """The current build's chunks by source, to keep what did not change."""
    prev_chunks: dict[str, list[Chunk]] = {}
    if plan.previous_info and plan.previous_build:
        for c in store.chunks(plan.previous_build):
            prev_chunks.setdefault(c.source, []).append(c)
    return prev_chunks


def _load(settings: Settings, plan: Plan, prev_chunks: dict[str, list[Chunk]], notify: Progress) -> Loaded:
    """Load and chunk what is new or changed; keep the rest from the previous build."""
    manifest: dict[str, Any] = {}
    chunks_by_source: dict[str, list[Chunk]] = {}
    failed: list[FileFailure] = []
    unloaded: set[str] = set()
    to_load = plan.to_load
    load_time = chunk_time = 0.0

    def keep_previous(rel: str) -> None:
        chunks_by_source[rel] = prev_chunks.get(rel, [])
        manifest[rel] = plan.previous_manifest[rel]

    # A worker of this build's own, started at the first file to read and ended with the loop.
    with GuardedLoader(settings.load_timeout, settings.load_memory_mb) as guard:
        for i, rel in enumerate(sorted(plan.files)):
            if rel not in to_load:
                if rel in plan.carried:
                    failed.append(plan.carried_failure(rel))
                else:
                    keep_previous(rel)
                continue
            notify("loading", i + 1, len(plan.files))
            ts = time.perf_counter()
            try:
                doc = guard.load(plan.files[rel], rel)
            except LoadError as exc:
                load_time += time.perf_counter() - ts
                reason = str(exc)
                if rel in plan.previous_manifest:  # a broken new version must not lose the indexed one
                    reason += "; the previously indexed version is kept"
                    keep_previous(rel)
                unloaded.add(rel)
                failed.append(FileFailure(rel, reason))
                continue
            load_time += time.perf_counter() - ts
            ts = time.perf_counter()
            chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
            chunk_time += time.perf_counter() - ts
            chunks_by_source[rel] = chunks
            manifest[rel] = {
                "sha256": plan.hashes[rel],
                "title": doc.title,
                "language": doc.language,
                "format": doc.format,
                "chunks": len(chunks),
                "indexed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
    return Loaded(chunks_by_source, manifest, failed, unloaded, load_time, chunk_time)


def _all_chunks(loaded: Loaded) -> list[Chunk]:
    """Every chunk of the new build, by source; chunk ids must be unique."""
    all_chunks = [c for rel in sorted(loaded.chunks_by_source) for c in loaded.chunks_by_source[rel]]
    ids = [c.id for c in all_chunks]
    if len(set(ids)) != len(ids):
        raise IndexVerifyError("duplicate chunk ids in the new build")
    return all_chunks


def _embed(
    settings: Settings,
    index_dir: Path,
    chunks: list[Chunk],
    notify: Progress,
    embedder: Embedder | None,
    load: Callable[[], Embedder] | None,
) -> Embedded:
    """Embed the chunks; the cache answers everything that was embedded before."""
    t = time.perf_counter()
    inner = embedder if embedder is not None else load() if load is not None else load_embedder(settings)
    cache = EmbeddingCache(EmbeddingCache.of_index(index_dir))
    cached = CachedEmbedder(inner, cache)
    vectors = cached.embed_documents([c.embed_text for c in chunks], progress=_counting(notify, "embedding", len(chunks)))
    embedded, from_cache = cached.embedded, cached.cached  # the chunks' (the report counts chunks)
    background = _background_vectors(settings, inner, notify)
    probes = _background_vectors(settings, inner, notify, probe_questions(), "probes", inner.embed_queries)
    lexicon = _lexicon_vectors(chunks, cached, notify)
    return Embedded(vectors, inner, cache, embedded, from_cache, time.perf_counter() - t, background, lexicon, probes)


def _lexicon_vectors(chunks: list[Chunk], cached: CachedEmbedder, notify: Progress) -> dict[str, tuple[list[str], np.ndarray]]:
    """The corpus's frequent words per language with their vectors (`advisor.index.lexicon`), for
    the corpus-derived glossary. Through the embedding cache: a rebuild embeds only new words."""
    words = vocabulary(chunks)
    tick = _counting(notify, "lexicon", sum(len(w) for w in words.values()))
    return {lang: (ws, np.asarray(cached.embed_documents(ws, progress=tick), dtype=np.float32)) for lang, ws in words.items() if ws}


def _counting(notify: Progress, stage: str, total: int) -> Callable[[int], None]:
    """A progress callback that adds up the items reported done and tells `notify` the running count."""
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        notify(stage, done, total)

    return tick


def _background_vectors(
    settings: Settings,
    embedder: Embedder,
    notify: Progress,
    texts: dict[str, tuple[str, ...]] | None = None,
    kind: str = "background",
    embed: Callable[[list[str]], Any] | None = None,
) -> dict[str, np.ndarray]:
    """The background passages' vectors, for the build's language statistics (see
    `save_language_stats`), or other texts of a `kind` with their own `embed` (the probe questions,
    as queries): embedded once per model and runtime and kept in the models folder, so that a full
    build or a fresh index folder does not embed them again."""
    passages = texts if texts is not None else background_passages()
    digest = hashlib.sha256(json.dumps(passages, sort_keys=True).encode()).hexdigest()[:12]
    tag = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{embedder.name}-{getattr(embedder, 'runtime', '')}")
    path = Path(settings.models_dir) / kind / f"{tag}-{digest}.npz"
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as data:
        return {lang: data[lang] for lang in passages}
    total = sum(len(t) for t in passages.values())
    notify(kind, 0, total)
    embed = embed or embedder.embed_documents
    out: dict[str, np.ndarray] = {}
    for lang, items in passages.items():
        out[lang] = np.asarray(embed(list(items)), dtype=np.float32)
        notify(kind, sum(len(v) for v in out.values()), total)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, path)
    return out


def _store_and_verify(
    settings: Settings,
    store: BuildStore,
    build_id: str,
    bdir: Path,
    chunks: list[Chunk],
    embedded: Embedded,
    notify: Progress,
) -> Stored:
    """Store vectors in the backend, chunks and BM25 beside them; verify before anyone can see it."""
    vectors = embedded.vectors
    t = time.perf_counter()
    backend = store.vectors
    notify("storing", 0, len(chunks))
    backend.write(build_id, bdir, chunks, vectors, settings.ef_search)
    write_build_files(bdir, chunks, vectors, embedded.background, embedded.lexicon, embedded.probes)
    store.upload(build_id, bdir)
    notify("storing", len(chunks), len(chunks))
    storing = time.perf_counter() - t

    t = time.perf_counter()
    notify("verifying", 0, 1)
    backend.verify(build_id, bdir, chunks, vectors)
    store.verify(build_id, bdir, chunks, vectors)
    return Stored(backend, storing, time.perf_counter() - t)


def _report(
    build_id: str, plan: Plan, loaded: Loaded, embedded: Embedded, stored: Stored, seconds: float
) -> IndexReport:
    """The new build's report, filled once from the steps' results."""
    return IndexReport(
        build_id=build_id,
        previous_build=plan.previous_build,
        added=[r for r in plan.added if r not in loaded.unloaded],
        changed=[r for r in plan.changed if r not in loaded.unloaded],
        removed=list(plan.removed),
        unchanged=plan.unchanged,
        failed=plan.refused + loaded.failed,
        documents=len(loaded.manifest),
        chunks=sum(len(cs) for cs in loaded.chunks_by_source.values()),
        embedded=embedded.embedded,
        cached=embedded.cached,
        seconds=seconds,
        timings={
            "loading": loaded.loading,
            "chunking": loaded.chunking,
            "embedding": embedded.seconds,
            "storing": stored.storing,
            "verifying": stored.verifying,
        },
    )


def _build_info(
    build_id: str, plan: Plan, loaded: Loaded, embedded: Embedded, stored: Stored, report: IndexReport
) -> dict[str, Any]:
    """The new build's `build.json`."""
    return {
        "id": build_id,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": embedded.embedder.name,
        "fingerprint": plan.fingerprint,
        "layout": LAYOUT,
        "backend": stored.backend.kind,
        "documents": report.documents,
        "chunks": report.chunks,
        "manifest": loaded.manifest,
        "failed": [
            {"source": f.source, "reason": f.reason, "sha256": plan.hashes.get(f.source)} for f in report.failed
        ],
        "report": report.to_json(),
        "complete": True,
    }


def _publish(
    store: BuildStore,
    bdir: Path,
    build_id: str,
    cur: str | None,
    info: dict[str, Any],
    cache: EmbeddingCache,
) -> None:
    """Write `build.json`, make the build current, and prune all but it and the one it replaces."""
    store.publish(build_id, bdir, info)
    store.prune({b for b in (build_id, cur) if b})
    cache.close()


def write_build_files(
    bdir: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    background: dict[str, np.ndarray] | None = None,
    lexicon: dict[str, tuple[list[str], np.ndarray]] | None = None,
    probes: dict[str, np.ndarray] | None = None,
) -> None:
    """What a build keeps beside its vectors: the chunks, BM25, per-language means and words, the
    probe questions' chance similarity, the vectors themselves."""

    write_chunk_files(bdir, chunks, vectors)
    BM25Index.build(chunks).save(bdir / "bm25.pkl")
    save_language_stats(bdir / "language_stats.npz", chunks, vectors, background or {}, lexicon or {}, probes or {})


def save_language_stats(
    path: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    background: dict[str, np.ndarray],
    lexicon: dict[str, tuple[list[str], np.ndarray]] | None = None,
    probes: dict[str, np.ndarray] | None = None,
) -> None:
    """Per-language means of the chunk vectors and of the background passages' vectors (see
    `retrieve.search.LanguageStats`), each language's words with their vectors (float16; see
    `retrieve.glossary.CorpusGlossary`), and each probe question's best similarity to the chunks
    (`probe_baseline`)."""
    stats: dict[str, np.ndarray] = {f"background_{lang}_mean": v.astype(np.float64).mean(axis=0) for lang, v in background.items() if len(v)}
    means = {lang: stats[f"background_{lang}_mean"].astype(np.float32) for lang in background if f"background_{lang}_mean" in stats}
    languages = [c.language for c in chunks]
    for lang, qvecs in (probes or {}).items():
        if len(qvecs) and len(chunks):
            stats[f"probe_{lang}_best"] = probe_baseline(np.asarray(qvecs, np.float32), vectors, languages, means)
    for lang, (words, vecs) in (lexicon or {}).items():
        stats[f"lexicon_{lang}_words"] = np.array(words, dtype=str)
        stats[f"lexicon_{lang}_vectors"] = np.asarray(vecs, dtype=np.float16)
    for lang in ("nl", "en"):
        rows = [i for i, c in enumerate(chunks) if c.language == lang]
        if len(rows) >= 2:
            stats[f"{lang}_mean"] = vectors[rows].astype(np.float64).mean(axis=0)
    with path.open("wb") as f:
        np.savez(f, **stats)


def probe_baseline(queries: np.ndarray, vectors: np.ndarray, languages: Sequence[str], means: dict[str, np.ndarray]) -> np.ndarray:
    """Each probe question's best similarity to a corpus's chunks, as the refusal rule compares a
    question's best passage: with the question's language gap to each chunk's language added
    (`retrieve.search.LanguageStats.language_gap`; none without background means)."""
    sims = queries @ np.asarray(vectors, np.float32).T
    if means:
        to_mean = {lang: queries @ m for lang, m in means.items()}
        own = np.max(np.stack(list(to_mean.values())), axis=0)
        for lang, closeness in to_mean.items():
            cols = np.array([x == lang for x in languages])
            if cols.any():
                sims[:, cols] += (own - closeness)[:, None]
    return sims.max(axis=1).astype(np.float64)


def rollback(index_dir: Path) -> str:
    """Make the previous build of an index folder current again (`BuildStore.rollback` for any store)."""
    return FolderStore(index_dir).rollback()
