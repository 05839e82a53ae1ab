"""Calibrate the refusal threshold on the gold questions: which signal separates answerable from not.

For every question: the best passage's cosine similarity (raw) and its language-centred similarity.
Prints, for each signal, the threshold that maximises the smaller of refusal precision and recall,
with both figures, so the setting can be chosen from data rather than by eye.

    .venv/bin/python scripts/calibrate_refusal.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.answer import Advisor, condense  # noqa: E402
from advisor.evaluate import load_questions  # noqa: E402
from advisor.settings import load_settings  # noqa: E402


def main() -> None:
    settings = load_settings()
    advisor = Advisor(settings)
    searcher = advisor.reader.searcher()
    questions = load_questions(ROOT / "tests/eval/questions.yaml")
    rows = []
    for q in questions:
        query = condense(q.question, list(q.history))
        qvec = advisor.embedder.embed_queries([query])[0]
        dense = searcher.dense(qvec, settings.k_dense)
        raw = max((s for _, s, _ in dense), default=0.0)
        centred = max((c for _, _, c in dense), default=0.0)
        rows.append((q.answerable, raw, centred, q.id))
    out = {}
    for name, col in (("raw", 1), ("centred", 2)):
        vals = np.array([r[col] for r in rows])
        refuse_true = np.array([not r[0] for r in rows])
        best = None
        for t in np.unique(vals):
            refused = vals < t
            tp = (refused & refuse_true).sum()
            prec = tp / refused.sum() if refused.sum() else 0.0
            rec = tp / refuse_true.sum() if refuse_true.sum() else 0.0
            key = (min(prec, rec), prec + rec)
            if best is None or key > best[0]:
                best = (key, float(t), float(prec), float(rec))
        assert best is not None
        out[name] = {"threshold": round(best[1], 4), "refusal_precision": round(best[2], 3), "refusal_recall": round(best[3], 3)}
        print(f"{name:8} threshold {best[1]:.4f}: refusal precision {best[2]:.3f}, recall {best[3]:.3f}")
        for answerable, *vals_, qid in sorted(rows, key=lambda r: r[col])[:60]:
            pass
    print(json.dumps(out))
    misses = sorted(rows, key=lambda r: r[2])
    print("lowest centred scores:", [(r[3], round(r[2], 3), r[0]) for r in misses[:40]])


if __name__ == "__main__":
    main()
