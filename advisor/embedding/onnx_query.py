"""The one-time export of the model to ONNX, and the torch path's question encoder.

A question is one short text (about 35 tokens). For that, eager PyTorch spends most of its time
on per-operator overhead: measured on this project's 2-core AVX2 machine with one thread,
multilingual-e5-small took 73 ms per query through sentence-transformers and 35 ms through
ONNX Runtime, with identical vectors (cosine 0.9999999). `OnnxQueryEncoder` serves questions for
`embedding_runtime='torch'` (the path before issue #14, kept for comparison); the default runtime
embeds everything with `advisor.embedding.onnx_runtime`, on the graph exported here.

The ONNX graph is exported once from the loaded sentence-transformers model into
`models_dir/onnx/`, atomically and under an inter-process lock, like the e5 conversion. Only the
transformer is exported; tokenization, the query prompt, mean pooling and normalization are
done here exactly as sentence-transformers does them for a Transformer -> mean Pooling ->
Normalize pipeline. Any other pipeline keeps the PyTorch path.
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
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from advisor.core.fsutil import exclusive

log = logging.getLogger(__name__)

EXPORT_VERSION = 1
_OPSET = 17


def supports_onnx(st_model: Any) -> bool:
    """True for a Transformer -> mean Pooling (-> Normalize) pipeline, the shape this module reproduces."""
    modules = list(st_model)
    if len(modules) not in (2, 3):
        return False
    names = [type(m).__name__ for m in modules]
    if names[0] != "Transformer" or names[1] != "Pooling" or (len(names) == 3 and names[2] != "Normalize"):
        return False
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None) or (
        "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None
    )
    return mode == "mean" and getattr(pooling, "include_prompt", True)


def export_key(folder: Path) -> str:
    """Identifies the weights an export was made from: folder, weight files' sizes and times, exporter version."""
    parts = [str(folder.resolve()), str(EXPORT_VERSION)]
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        st = path.stat()
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _export(st_model: Any, out: Path) -> None:
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    transformer = st_model[0].auto_model.eval()
    sample = st_model.tokenizer(["query: an example question for the export"], return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    # The tracer warns about Python-side branches in transformers' masking code; they are constant
    # for an encoder with an attention mask (checked: tests/test_onnx_query.py compares the vectors).
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(transformer).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "last_hidden_state": dynamic},
            opset_version=_OPSET,
            dynamo=False,
        )


def materialize_onnx(st_model: Any, folder: Path, models_dir: Path) -> Path:
    """The exported graph of `st_model` (loaded from `folder`), exporting it first when missing."""

    key = export_key(folder)
    root = Path(models_dir).expanduser().absolute() / "onnx"
    dest = root / f"{folder.name}-{key}.onnx"
    if dest.exists():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root / f".{dest.name}.lock"):
        if dest.exists():
            return dest
        started = time.perf_counter()
        tmpdir = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
        try:
            tmp = tmpdir / "model.onnx"
            _export(st_model, tmp)
            (tmpdir / "model.json").write_text(json.dumps({"source": str(folder), "key": key, "opset": _OPSET}))
            os.chmod(tmp, 0o644)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        for stale in root.glob(f"{folder.name}-*.onnx"):
            if stale != dest:
                stale.unlink(missing_ok=True)
        log.info("exported %s to ONNX in %.1f s", folder.name, time.perf_counter() - started)
    return dest


class OnnxQueryEncoder:
    """Embeds queries as the sentence-transformers model would (prompt, mean pooling, L2 norm).

    Two sessions of the same graph: one single-threaded, one using `idle_threads` cores. A question
    embedded while no other is in flight runs on the wide session (measured on 2 cores: 15.8 / 20.6
    ms p50/p95 against 20.0 / 26.6 with one thread); questions arriving while one runs take the
    single-threaded session, which keeps throughput under load (94 queries/s with two in flight,
    against 98 with one thread each and 73 with a single 2-thread session). The wide session does not
    spin-wait after a run, so it leaves the cores to the rest of the answer. The second session
    costs the weights once more in memory (about 460 MB for multilingual-e5-small).
    """

    def __init__(self, st_model: Any, onnx_path: Path, threads: int = 1, idle_threads: int = 0) -> None:
        self.session = _session(onnx_path, max(1, threads))
        self.idle_session = _session(onnx_path, idle_threads, spin=False) if idle_threads > max(1, threads) else None
        self.tokenizer = st_model.tokenizer
        self.max_length = int(st_model.max_seq_length or 512)
        self.prompt = (getattr(st_model, "prompts", None) or {}).get("query", "")
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.runs = {"idle": 0, "busy": 0}

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            [self.prompt + t for t in texts], return_tensors="np", padding=True, truncation=True, max_length=self.max_length
        )
        ids = batch["input_ids"].astype(np.int64)
        mask = batch["attention_mask"].astype(np.int64)
        with self._count_lock:
            idle = self.idle_session is not None and self._in_flight == 0
            self._in_flight += 1
            self.runs["idle" if idle else "busy"] += 1
        try:
            session = self.idle_session if idle else self.session
            (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
        finally:
            with self._count_lock:
                self._in_flight -= 1
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _session(onnx_path: Path, threads: int, *, spin: bool = True) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
