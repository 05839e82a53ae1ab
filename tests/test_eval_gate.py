"""The evaluation gate: the shipped corpus, indexed from scratch, meets the quality bars.

Bars (justified in docs/eval/README.md): recall@5 >= 0.90, MRR >= 0.75, refusal precision and
recall >= 0.85; for the answer itself point defects <= 0.03, the answer framed in the question's
language every time, section recall@5 >= 0.85 (issue #12's aim, reached in stop 28 with 0.865; 0.858 in
stop 29, once PDF list items no longer swallow the paragraph after them), and key-point recall >= 0.70
(issue #12's aim, reached in stop 30 with 0.701: 383 of 546 key points; docs/eval/README.md).
The run's report is kept next to the index so a maintainer can compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BARS = (
    "recall@5=0.90,mrr=0.75,refusal_precision=0.85,refusal_recall=0.85,"
    "point_defects=0.03,language_frame=1.0,section_recall@5=0.85,key_point_recall=0.70"
)

pytestmark = pytest.mark.integration


def test_shipped_corpus_indexes_cleanly_and_meets_the_bars(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {**os.environ, "ADVISOR_MODELS_DIR": str(tmp_path_factory.getbasetemp() / "shared-models"), "HF_HUB_OFFLINE": "1"}
    paths = ["--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "index")]
    res = subprocess.run([sys.executable, "-m", "advisor", "index", "--json", *paths], env=env, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["failed"] == [], report["failed"]
    assert report["documents"] >= 40
    out = tmp_path / "eval.json"
    res = subprocess.run(
        [sys.executable, "-m", "advisor", "eval", "--fail-under", BARS, "--out", str(out), *paths],
        env=env, capture_output=True, text=True, timeout=1800, cwd=ROOT,
    )
    print(res.stdout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["questions"] >= 120

    # A what-to-do question whose answer is a numbered how-to section gets its steps, in order, named.
    res = subprocess.run(
        [sys.executable, "-m", "advisor", "ask", "--json", *paths, "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?"],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    answer = json.loads(res.stdout.strip().splitlines()[-1])
    steps = [p for p in answer["points"] if p["kind"] == "step"]
    assert [p["text"].split(".")[0] for p in steps][:4] == [
        "Organiseer echte samenwerking op de werkvloer", "Bouw een derde identiteit op", "Zorg voor gelijkwaardige rollen", "Roteer mensen"
    ]
    assert {p["section"] for p in steps} == {"Interventies die helpen"} and {p["role"] for p in steps} == {"steps"}
    assert answer["citations"][0]["source"] == "wij-zij-denken-en-stereotypen.md"
    assert answer["answer"].startswith("**Wat u kunt doen**") and "1. **Organiseer echte samenwerking op de werkvloer.**" in answer["answer"]
