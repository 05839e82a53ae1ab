"""`python -m tests.ui.fake_index --json --corpus C --index I`: the desk's re-index, with the fake embedder.

The UI tests answer with `FakeEmbedder`; a re-index started from their desk must embed with the
same model, or the new build could not be searched. Settings come from the ADVISOR_* variables the
desk passes on, exactly as for `python -m advisor index`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from advisor.core.settings import load_settings
from advisor.index.build import build_index
from advisor.index.layout import IndexBusyError
from tests.conftest import FakeEmbedder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="Seconds of sleep per progress step (to watch a build).")
    args = parser.parse_args(argv)
    settings = load_settings(corpus_dir=args.corpus, index_dir=args.index)
    delay = args.delay

    def progress(stage: str, done: int, total: int) -> None:
        if delay:
            time.sleep(delay)

    try:
        report = build_index(settings, FakeEmbedder(), progress=progress)
    except IndexBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 75
    print(json.dumps(report.to_json(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
