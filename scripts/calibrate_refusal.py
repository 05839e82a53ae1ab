"""Calibrate the refusal rule on the gold questions (settings refusal_threshold, refusal_floor,
refusal_keyword_coverage; see `advisor.answer.compose.is_covered`).

For every question: the best passage's cosine similarity and the best BM25 term-weight coverage
among the retrieved passages. A grid search picks the rule that maximises the smaller of refusal
precision and recall (ties: the larger sum), so the setting comes from data, not from the eye.

    .venv/bin/python scripts/calibrate_refusal.py
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.answer.conversation import condense  # noqa: E402
from advisor.core.settings import load_settings  # noqa: E402
from advisor.evaluate import load_questions  # noqa: E402
from advisor.services import build_services


def main() -> None:
    settings = load_settings()
    advisor = build_services(settings).advisor
    rows = []
    for q in load_questions(ROOT / "tests/eval/questions.yaml"):
        hits = advisor.retrieve(condense(q.question, list(q.history)))
        best = max((h.dense_similarity or 0.0 for h in hits), default=0.0)
        cov = max((h.keyword_coverage for h in hits), default=0.0)
        rows.append((not q.answerable, best, cov))
    should = np.array([r[0] for r in rows])
    sim = np.array([r[1] for r in rows])
    cov = np.array([r[2] for r in rows])
    best_rule = None
    for t, f, c in itertools.product(np.arange(0.80, 0.90, 0.0025), np.arange(0.78, 0.90, 0.0025), np.arange(0.2, 0.8, 0.05)):
        if f > t:
            continue
        covered = (sim >= t) | ((sim >= f) & (cov >= c))
        refused = ~covered
        tp = (refused & should).sum()
        p = tp / refused.sum() if refused.sum() else 0.0
        r = tp / should.sum() if should.sum() else 0.0
        key = (min(p, r), p + r, -abs(t - f))
        if best_rule is None or key > best_rule[0]:
            best_rule = (key, round(float(t), 4), round(float(f), 4), round(float(c), 2), float(p), float(r))
    assert best_rule is not None
    _, t, f, c, p, r = best_rule
    print(json.dumps({"refusal_threshold": t, "refusal_floor": f, "refusal_keyword_coverage": c,
                      "refusal_precision": round(p, 3), "refusal_recall": round(r, 3), "questions": len(rows)}))


if __name__ == "__main__":
    main()
