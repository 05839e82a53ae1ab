"""`python -m tests.ui.fake_eval --corpus C --index I`: an evaluation run for the desk tests.

Writes a report where `advisor eval` writes its reports (<index>/eval/eval-*.json) and prints
the metrics as JSON, like `advisor eval --json`, without loading a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args(argv)
    metrics = {"questions": 3.0, "recall@1": 0.5, "recall@5": 1.0, "mrr": 0.75}
    folder = args.index / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    (folder / f"eval-{stamp}.json").write_text(json.dumps({"meta": {}, "metrics": metrics, "groups": {}, "questions": []}))
    print(json.dumps({"metrics": metrics, "groups": {}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
