"""Feedback on answers: one JSON line per rating, appended to `settings.feedback_path`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATINGS = ("helpful", "not helpful")
MAX_COMMENT = 2000

_LOCK = threading.Lock()


def append_feedback(path: Path, question: str, answer: dict[str, Any], rating: str, comment: str = "") -> dict[str, Any]:
    """Store one rating; the line holds everything needed to judge the answer later."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}")
    record = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": question,
        "answer": answer.get("answer", ""),
        "citations": [
            {k: c.get(k) for k in ("n", "source", "title", "section", "page")} for c in answer.get("citations", [])
        ],
        "rating": rating,
        "comment": (comment or "").strip()[:MAX_COMMENT],
    }
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path = Path(path)
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line)
    return record


def read_feedback(path: Path, limit: int = 500) -> list[dict[str, Any]]:
    """The newest feedback first; unreadable lines are skipped, not fatal."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        if len(out) >= limit:
            break
    return out
