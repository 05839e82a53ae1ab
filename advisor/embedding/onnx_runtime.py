"""The embedding model on ONNX Runtime alone: questions, composer sentences and passages, no torch.

A cold `advisor ask` used to spend most of its time before the first vector: importing
sentence-transformers, transformers and torch, loading the torch model, and creating two ONNX
Runtime sessions that each re-optimized the 470 MB graph (about 3 s each). Here:

- the graph exported once from the sentence-transformers folder (`onnx_query.materialize_onnx`,
  the only step that needs torch) is optimized once more by ONNX Runtime and saved beside it, its
  weights in an external data file (`optimized_graph`). A session then loads in a fraction of a
  second, and the weights are memory-mapped: the 250k-row word embedding table (384 MB) is read
  only where questions touch it, and a second session of the same file shares its pages;
- tokenization uses the `tokenizers` library on the folder's `tokenizer.json` (the same ids as
  the transformers tokenizer, `tests/test_onnx_embedder.py`), its Latin-script part loaded first
  (`SubsetTokenizer`); the prompt, mean pooling and L2 normalization are done as
  sentence-transformers does them for a Transformer -> mean Pooling (-> Normalize) pipeline, the
  only kind this module accepts (`read_pipeline`);
- one session (all cores, no spin-waiting) answers everything on a cold start. A second,
  single-threaded session is opened the first time two embeddings overlap (a server), in the
  background, and from then on takes the overlapping ones, as `onnx_query.OnnxQueryEncoder` did;
- texts are embedded shortest first in runs of a few hundred padded tokens; an index build runs
  them on one single-threaded session per core (`OnnxEmbedder`, measured figures there).

Heavy imports (onnxruntime, tokenizers, and torch for a first export) live in the functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from advisor.core.fsutil import exclusive
from advisor.embedding.onnx_query import export_key, materialize_onnx

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]

# Bump when what `optimized_graph` (or `subset_tokenizer`) writes changes, so older files are remade rather than trusted.
OPTIMIZER_VERSION = 1
SUBSET_VERSION = 1


@dataclass(frozen=True)
class Pipeline:
    """What a sentence-transformers folder's configuration says about how it embeds."""

    max_length: int
    query_prompt: str
    document_prompt: str


def read_pipeline(folder: Path) -> Pipeline | None:
    """The pipeline of `folder` when it is Transformer -> mean Pooling (-> Normalize) with a
    `tokenizer.json`, the shape this module reproduces; None for anything else (it stays on torch)."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if modules[0].get("path", "") not in ("", "."):
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
        if modes != ["pooling_mode_mean_tokens"] or not pooling.get("include_prompt", True):
            return None
        if not (folder / "tokenizer.json").is_file():
            return None
        bert = folder / "sentence_bert_config.json"
        max_length = int(json.loads(bert.read_text()).get("max_seq_length") or 512) if bert.is_file() else 512
        st = folder / "config_sentence_transformers.json"
        prompts: dict[str, str] = (json.loads(st.read_text()).get("prompts") or {}) if st.is_file() else {}
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("%s: cannot read its sentence-transformers configuration (%s)", folder, exc)
        return None
    return Pipeline(max_length, prompts.get("query", ""), prompts.get("document", prompts.get("passage", "")))


# ---------------------------------------------------------------- the graph files


def graph_path(folder: Path, models_dir: Path) -> Path:
    """Where the graph exported from `folder` lives (whether or not it exists yet)."""
    return Path(models_dir).expanduser().absolute() / "onnx" / f"{folder.name}-{export_key(folder)}.onnx"


def ensure_graph(folder: Path, models_dir: Path) -> Path:
    """The exported graph of `folder`, exporting it first when missing (once; that needs torch)."""
    dest = graph_path(folder, models_dir)
    if dest.exists():
        return dest
    # torch and sentence-transformers: only for this one-time export (the caller set the process offline)
    from sentence_transformers import SentenceTransformer

    log.info("exporting %s to ONNX (once)", folder.name)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return materialize_onnx(model, folder, models_dir)


def optimized_graph(base: Path, precision: Precision = "fp32") -> Path:
    """`base` optimized by this ONNX Runtime (and quantized for int8), saved once with external weights.

    The file name carries the precision and the ONNX Runtime version, so another version optimizes
    again instead of loading a graph it did not write. Made under a lock, in a temporary folder,
    and moved into place weights first, so a reader never sees a graph without its weights.
    """
    import onnxruntime as ort

    root = base.parent / "optimized"
    stem = f"{base.stem}-{precision}-ort{ort.__version__}-v{OPTIMIZER_VERSION}"
    dest = root / f"{stem}.onnx"
    if dest.exists() and (root / f"{stem}.onnx.data").exists():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root / f".{stem}.lock"):
        if dest.exists() and (root / f"{stem}.onnx.data").exists():
            return dest
        started = time.perf_counter()
        tmpdir = Path(tempfile.mkdtemp(prefix=".optimize-", dir=root))
        try:
            source = base
            if precision == "int8":
                source = tmpdir / "quantized.onnx"
                _quantize(base, source)
            opts = ort.SessionOptions()
            # Extended, not all: the saved graph must not hold layout choices made for one CPU.
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            opts.optimized_model_filepath = str(tmpdir / dest.name)
            opts.add_session_config_entry("session.optimized_model_external_initializers_file_name", f"{dest.name}.data")
            opts.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
            ort.InferenceSession(str(source), opts, providers=["CPUExecutionProvider"])
            for name in (f"{dest.name}.data", dest.name):
                os.chmod(tmpdir / name, 0o644)
                with open(tmpdir / name, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmpdir / name, root / name)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        # Graphs of this model and precision made from older weights or by another version go.
        for stale in root.glob(f"{base.stem.rsplit('-', 1)[0]}-*-{precision}-ort*"):
            if stale.is_file() and not stale.name.startswith(f"{stem}."):
                stale.unlink(missing_ok=True)
        log.info("optimized %s (%s) in %.1f s", base.name, precision, time.perf_counter() - started)
    return dest


# ---------------------------------------------------------------- the tokenizer


def _latin(ch: str) -> bool:
    """Characters of Latin-script text: Latin letters, digits, punctuation, symbols, spaces (below CJK)."""
    if ch.isascii() or ch == "\u2581":
        return True
    category = unicodedata.category(ch)
    if category[0] in "PNSZ":
        return ord(ch) < 0x3000
    return category[0] == "L" and unicodedata.name(ch, "").startswith("LATIN ")


def subset_tokenizer(folder: Path, root: Path) -> tuple[Path, Path] | None:
    """The Latin-script part of `folder`'s Unigram tokenizer (see `SubsetTokenizer`) and the full
    vocabulary's id of each of its pieces; made once into `root`. None for another kind of tokenizer."""
    source = folder / "tokenizer.json"
    st = source.stat()
    key = hashlib.sha256(f"{source.resolve()}:{st.st_size}:{st.st_mtime_ns}:{SUBSET_VERSION}".encode()).hexdigest()[:16]
    dest, ids_path = root / f"{folder.name}-tokenizer-latin-{key}.json", root / f"{folder.name}-tokenizer-latin-{key}.ids.npy"
    if dest.exists() and ids_path.exists():
        return dest, ids_path
    spec = json.loads(source.read_text(encoding="utf-8"))
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or not isinstance(model.get("vocab"), list):
        return None
    vocab = model["vocab"]
    keep = [i for i, (piece, _) in enumerate(vocab) if all(_latin(ch) for ch in piece)]
    # Unigram scores an unknown character from the vocabulary's lowest score: keep that piece too.
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    if lowest not in set(keep):
        keep.append(lowest)
    new_id = {old: new for new, old in enumerate(keep)}
    if model.get("unk_id") is not None and model["unk_id"] not in new_id:
        return None
    spec["model"] = {**model, "vocab": [vocab[i] for i in keep]}
    if model.get("unk_id") is not None:
        spec["model"]["unk_id"] = new_id[model["unk_id"]]
    if any(t["id"] not in new_id for t in spec.get("added_tokens") or []):
        return None
    spec["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in spec.get("added_tokens") or []]
    post = spec.get("post_processor") or {}
    for token in (post.get("special_tokens") or {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root / f".{dest.name}.lock"):
        tmp = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=root))
        try:
            np.save(tmp / "ids.npy", np.asarray(keep, dtype=np.int64))
            (tmp / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp / "ids.npy", ids_path)
            os.replace(tmp / "tokenizer.json", dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote the Latin-script tokenizer of %s: %d of %d pieces", folder.name, len(keep), len(vocab))
    return dest, ids_path


class SubsetTokenizer:
    """The model's tokenizer (the `tokenizers` library), its Latin-script part loaded first.

    multilingual-e5-small's Unigram vocabulary has 250k pieces in a hundred scripts; loading them all
    takes about 0.7 s of CPU, holding the GIL, and 280 MB. The pieces made only of Latin letters,
    digits, punctuation, symbols and spaces (115k) load in a quarter of that. For a text whose
    normalized characters are all of that kind, every piece of the full vocabulary that matches a
    part of it is in the subset, so Unigram finds the same segmentation (the subset keeps the
    lowest score too, from which Unigram scores an unknown character), and its ids are mapped back
    to the full vocabulary's. Any other text goes to the full tokenizer, loaded when one first comes.
    """

    def __init__(self, full: Path, max_length: int, subset: tuple[Path, Path] | None = None) -> None:
        self.full_path = full
        self.max_length = max_length
        self.subset = self._tokenizer(subset[0]) if subset else None
        self.subset_ids = np.load(subset[1]) if subset else None
        self._full: Any = None if subset else self._tokenizer(full)
        self._lock = threading.Lock()

    def _tokenizer(self, path: Path) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_padding()  # padded per run by the embedder
        tokenizer.enable_truncation(self.max_length)
        return tokenizer

    @property
    def full(self) -> Any:
        if self._full is None:
            with self._lock:
                if self._full is None:
                    log.info("loading the full tokenizer (a text beyond the Latin script)")
                    self._full = self._tokenizer(self.full_path)
        return self._full

    def covers(self, text: str) -> bool:
        """Can the Latin-script subset tokenize `text` exactly?"""
        if self.subset is None:
            return False
        normalizer = self.subset.normalizer
        normalized = normalizer.normalize_str(text) if normalizer is not None else text
        return normalized.isascii() or all(_latin(ch) for ch in set(normalized))

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of the full vocabulary (with the special tokens, truncated to max_length)."""
        inside = [self.covers(t) for t in texts]
        out: list[list[int]] = [[] for _ in texts]
        if any(inside):
            assert self.subset is not None
            assert self.subset_ids is not None
            rows = [i for i, ok in enumerate(inside) if ok]
            for i, enc in zip(rows, self.subset.encode_batch([texts[i] for i in rows]), strict=True):
                out[i] = self.subset_ids[enc.ids].tolist()
        rest = [i for i, ok in enumerate(inside) if not ok]
        if rest:
            for i, enc in zip(rest, self.full.encode_batch([texts[i] for i in rest]), strict=True):
                out[i] = list(enc.ids)
        return out

    def token_to_id(self, token: str) -> int | None:
        if self.subset is not None and self.subset_ids is not None:
            i = self.subset.token_to_id(token)
            return None if i is None else int(self.subset_ids[i])
        return self.full.token_to_id(token)


def _quantize(source: Path, dest: Path) -> None:
    """int8 weights for the matrix products, per output channel; activations quantized per run (dynamic)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(dest), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])


def int8_is_fast() -> bool:
    """Does this CPU multiply int8 with VNNI (or AMX)? Without it ONNX Runtime's int8 products may
    saturate (VPMADDUBSW) and gain less: passages stay fp32 there."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), [])
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags))


def _session(path: Path, threads: int, *, spin: bool) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- the embedder


# Texts per run are chosen by padded tokens (texts x longest), shortest texts first: measured on this
# project's 2-core machine, runs of about 256 tokens were fastest for both short sentences (8-12 of
# them) and passages (1-3), against 16 texts per run, which spills the activations out of the cache.
BATCH_TOKENS = 256


class OnnxEmbedder:
    """An `Embedder` on ONNX Runtime: the vectors sentence-transformers gives, without torch.

    Sessions: the first one (`idle_threads` threads, loaded with the tokenizer when the embedder is
    made) runs an embedding made while no other runs. `threads` is what an embedding gets while
    another one runs: a second session of `threads` threads, opened in the background on the first
    overlap (with `idle_threads <= threads` there is nothing to open). `workers` > 1 runs one
    call's batches on that many sessions at once (an index build: one single-threaded session per
    core embedded 1.4 (fp32) to 2 (int8) times as many passages per second as one session on both
    cores). int8 runs one text at a time: its activations are quantized with one scale per run, so
    a batch would make a passage's vector depend on its neighbours.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        pipeline: Pipeline,
        graph: Path,
        *,
        precision: Precision = "fp32",
        batch_size: int = 16,
        threads: int = 1,
        idle_threads: int = 1,
        workers: int = 1,
        tokenizer_subset: tuple[Path, Path] | None = None,
    ) -> None:
        self.name = name
        self.runtime = f"onnx-{precision}"
        self.tokenizer_subset = tokenizer_subset
        self.folder = folder
        self.graph = graph
        self.pipeline = pipeline
        self.batch_size = 1 if precision == "int8" else max(1, batch_size)
        self.threads = max(1, threads)
        self.idle_threads = max(self.threads, idle_threads)
        self.workers = max(1, workers)
        self._narrow: Any = None  # `threads` per embedding while others run (opened on the first overlap)
        self._pool: list[Any] = []  # the further sessions of a parallel call (workers - 1 of them)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._opening_narrow = False
        self.runs = {"idle": 0, "busy": 0}
        # The tokenizer (a 250k-piece vocabulary) and the first session load on a thread of their own:
        # both loaders release the GIL, so a cold start opens the index and reads the question meanwhile.
        self._loaded: Future[tuple[Any, Any, int]] = Future()
        threading.Thread(target=self._load, name="onnx-load", daemon=True).start()

    # -- loading and sessions

    def _load(self) -> None:
        try:
            started = time.perf_counter()
            tokenizer = SubsetTokenizer(self.folder / "tokenizer.json", self.pipeline.max_length, self.tokenizer_subset)
            # What fills a row after its text (the attention mask hides it from the model and from pooling).
            pad_id = next((i for t in ("<pad>", "[PAD]") if (i := tokenizer.token_to_id(t)) is not None), 0)
            # no spin-waiting: leaves the cores to the rest of an answer between runs
            session = _session(self.graph, self.idle_threads, spin=False)
            log.info("ONNX tokenizer and session (%d threads) loaded in %.2f s", self.idle_threads, time.perf_counter() - started)
            self._loaded.set_result((tokenizer, session, pad_id))
        except BaseException as exc:  # noqa: BLE001 - raised where it is waited for
            self._loaded.set_exception(exc)

    def prepare_queries(self) -> None:
        """Nothing to do: the tokenizer and the first session started loading when the embedder was made."""

    def wait_loaded(self) -> None:
        """Block until the tokenizer and the first session are loaded (raising what made loading fail)."""
        self._loaded.result()

    @property
    def tokenizer(self) -> Any:
        return self._loaded.result()[0]

    def _wide_session(self) -> Any:
        return self._loaded.result()[1]

    def _open_narrow(self) -> None:
        try:
            session = _session(self.graph, self.threads, spin=True)
        except Exception as exc:  # noqa: BLE001 - the first session goes on serving everything
            log.warning("second ONNX session unavailable (%s)", exc)
            return
        with self._lock:
            self._narrow = session
            self._opening_narrow = False

    def _acquire(self) -> Any:
        """The session for one run: the wide one when nothing else runs, else the single-threaded one."""
        wide = self._wide_session()
        with self._lock:
            alone = self._in_flight == 0
            self._in_flight += 1
            self.runs["idle" if alone else "busy"] += 1
            if alone or self.idle_threads <= self.threads:
                return wide
            if self._narrow is None:
                if not self._opening_narrow:
                    self._opening_narrow = True
                    threading.Thread(target=self._open_narrow, name="onnx-second-session", daemon=True).start()
                return wide
            return self._narrow

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _parallel(self) -> tuple[list[Any], ThreadPoolExecutor]:
        """The sessions of a parallel call (the first one and workers - 1 more, opened now) and their threads."""
        first = self._wide_session()
        with self._lock:
            while len(self._pool) < self.workers - 1:
                self._pool.append(_session(self.graph, self.threads, spin=True))
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-worker")
            return [first, *self._pool], self._executor

    # -- embedding

    def _run(self, ids: list[list[int]], session: Any = None) -> np.ndarray:
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self._loaded.result()[2], dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        if session is not None:
            (hidden,) = session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        else:
            chosen = self._acquire()
            try:
                (hidden,) = chosen.run(None, {"input_ids": input_ids, "attention_mask": mask})
            finally:
                self._release()
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _batches(self, ids: list[list[int]]) -> list[list[int]]:
        """Row numbers per run: shortest first, up to BATCH_TOKENS padded tokens and batch_size texts."""
        batches: list[list[int]] = []
        current: list[int] = []
        for i in sorted(range(len(ids)), key=lambda i: len(ids[i])):
            if current and ((len(current) + 1) * len(ids[i]) > BATCH_TOKENS or len(current) >= self.batch_size):
                batches.append(current)
                current = []
            current.append(i)
        return [*batches, current] if current else batches

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = self.tokenizer.encode([prompt + t for t in texts])
        batches = self._batches(ids)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        if self.workers > 1 and len(batches) > 1:
            sessions, executor = self._parallel()

            def work(w: int) -> None:  # worker w runs batches w, w + workers, ... on its own session
                for rows in batches[w :: len(sessions)]:
                    out[rows] = self._run([ids[i] for i in rows], sessions[w])

            list(executor.map(work, range(len(sessions))))
            return out
        for rows in batches:
            out[rows] = self._run([ids[i] for i in rows])
        return out

    @property
    def dimension(self) -> int:
        session = self._wide_session()
        return int(session.get_outputs()[0].shape[-1])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.pipeline.query_prompt)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.pipeline.document_prompt)


def load_onnx_embedder(
    folder: Path,
    name: str,
    pipeline: Pipeline,
    models_dir: Path,
    *,
    precision: Precision = "fp32",
    batch_size: int = 16,
    threads: int = 1,
    idle_threads: int = 1,
    workers: int = 1,
) -> OnnxEmbedder:
    """The embedder of `folder` on ONNX Runtime, exporting and optimizing its graph first when missing."""
    graph = optimized_graph(ensure_graph(folder, models_dir), precision)
    subset = subset_tokenizer(folder, graph.parent)
    return OnnxEmbedder(
        folder,
        name,
        pipeline,
        graph,
        precision=precision,
        batch_size=batch_size,
        threads=threads,
        idle_threads=idle_threads,
        workers=workers,
        tokenizer_subset=subset,
    )
