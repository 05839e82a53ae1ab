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
  the transformers tokenizer, `tests/test_onnx_embedder.py`); the prompt, mean pooling and L2
  normalization are done as sentence-transformers does them for a Transformer -> mean Pooling
  (-> Normalize) pipeline, the only kind this module accepts (`read_pipeline`);
- one session (all cores, no spin-waiting) answers everything on a cold start. A second,
  single-threaded session is opened the first time two embeddings overlap (a server), in the
  background, and from then on takes the overlapping ones, as `onnx_query.OnnxQueryEncoder` did;
- passages are embedded shortest first in batches, so a batch pads to similar lengths.

Heavy imports (onnxruntime, tokenizers, and torch for a first export) live in the functions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from advisor.core.fsutil import exclusive
from advisor.embedding.onnx_query import export_key, materialize_onnx

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]

# Bump when what `optimized_graph` writes changes, so older files are remade rather than trusted.
OPTIMIZER_VERSION = 1


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


def _quantize(source: Path, dest: Path) -> None:
    """Dynamic int8 weights for the matrix products, per output channel (activations stay float)."""
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


class OnnxEmbedder:
    """An `Embedder` on ONNX Runtime: the vectors sentence-transformers gives, without torch.

    `threads` is what an embedding gets while another one runs (the second session's threads);
    `idle_threads` what it gets alone (the first session's). With `idle_threads <= threads` there is
    one session and nothing else to open.
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
    ) -> None:
        self.name = name
        self.runtime = f"onnx-{precision}"
        self.folder = folder
        self.graph = graph
        self.pipeline = pipeline
        self.batch_size = max(1, batch_size)
        self.threads = max(1, threads)
        self.idle_threads = max(self.threads, idle_threads)
        self._narrow: Any = None  # one thread per embedding while others run (opened on the first overlap)
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
            from tokenizers import Tokenizer

            started = time.perf_counter()
            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tokenizer.no_padding()  # padded here, per batch
            tokenizer.enable_truncation(self.pipeline.max_length)
            # What fills a row after its text (the attention mask hides it from the model and from pooling).
            pad_id = next((i for t in ("<pad>", "[PAD]") if (i := tokenizer.token_to_id(t)) is not None), 0)
            # idle_threads, no spin-waiting: leaves the cores to the rest of an answer between runs
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

    # -- embedding

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self._loaded.result()[2], dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        session = self._acquire()
        try:
            (hidden,) = session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        finally:
            self._release()
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=True)]
        if len(ids) <= self.batch_size:
            return self._run(ids)
        # Shortest first: each batch pads to its own longest text, so similar lengths waste little.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
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
) -> OnnxEmbedder:
    """The embedder of `folder` on ONNX Runtime, exporting and optimizing its graph first when missing."""
    graph = optimized_graph(ensure_graph(folder, models_dir), precision)
    return OnnxEmbedder(
        folder, name, pipeline, graph, precision=precision, batch_size=batch_size, threads=threads, idle_threads=idle_threads
    )
