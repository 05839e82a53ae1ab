"""The transfer harness of issue #13 (advisor/tools/transfer.py): sub-corpora of corpus/, each
indexed with the real model and evaluated; writes docs/eval/transfer.md and transfer.json.

    nice -n 5 .venv/bin/python scripts/transfer_eval.py [--questions FILE] [--out DIR] [--work DIR]

Needs a current index of the shipped corpus for its embedding cache (`advisor index`); without
one, every sub-corpus is embedded afresh (slow).
"""

from __future__ import annotations

import sys

from advisor.tools.transfer import main

if __name__ == "__main__":
    sys.exit(main())
