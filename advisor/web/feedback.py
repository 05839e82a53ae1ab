"""Feedback on answers: one JSON line per rating, appended to `settings.feedback_path`.

Anyone may rate, so every entry is bounded (question, answer, comment, citations) and the log
has a size cap: a flood of ratings can neither fill the disk nor make the desk read megabytes.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATINGS = ("helpful", "not helpful")
MAX_COMMENT = 2000
MAX_QUESTION = 2000
MAX_ANSWER = 4000
MAX_CITATIONS = 20
MAX_FIELD = 300  # title, section, source of a citation
READ_TAIL = 2 * 2**20  # the desk reads at most the last 2 MiB of the log

_LOCK = threading.Lock()


class FeedbackFull(OSError):
    """The feedback log has reached its size cap; the rating is not stored."""


def _cut(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value


def feedback_record(question: str, answer: dict[str, Any], rating: str, comment: str = "") -> dict[str, Any]:
    """One bounded entry: everything needed to judge the answer later, nothing unbounded."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}")
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": str(question)[:MAX_QUESTION],
        "answer": str(answer.get("answer", ""))[:MAX_ANSWER],
        "citations": [
            {k: _cut(c.get(k), MAX_FIELD) for k in ("n", "source", "title", "section", "page")}
            for c in list(answer.get("citations", []))[:MAX_CITATIONS]
            if isinstance(c, dict)
        ],
        "rating": rating,
        "comment": (comment or "").strip()[:MAX_COMMENT],
    }


def append_feedback(
    path: Path, question: str, answer: dict[str, Any], rating: str, comment: str = "", *, max_bytes: int | None = None
) -> dict[str, Any]:
    """Store one rating, or raise `FeedbackFull` when the log has reached `max_bytes`."""
    record = feedback_record(question, answer, rating, comment)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path = Path(path)
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        if max_bytes is not None:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size + len(line.encode()) > max_bytes:
                raise FeedbackFull(f"the feedback log is full ({max_bytes} bytes)")
        with path.open("a", encoding="utf-8") as f:
            f.write(line)
    return record


def read_feedback(path: Path, limit: int = 500) -> list[dict[str, Any]]:
    """The newest feedback first, from the log's last `READ_TAIL` bytes; unreadable lines are skipped."""
    try:
        with Path(path).open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(size - READ_TAIL, 0))
            data = f.read(READ_TAIL)
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > READ_TAIL and lines:
        lines = lines[1:]  # the first line may be cut in half
    out = []
    for line in reversed(lines):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
        if len(out) >= limit:
            break
    return out
