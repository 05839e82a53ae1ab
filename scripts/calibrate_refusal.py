"""Calibrate the refusal rule on the gold questions: now `advisor calibrate` (advisor/tools/calibrate.py).

Kept so that older notes that name this script still work; it passes its arguments on:

    .venv/bin/python scripts/calibrate_refusal.py            # = advisor calibrate
    .venv/bin/python scripts/calibrate_refusal.py --json     # = advisor calibrate --json
"""

from __future__ import annotations

import sys

from advisor.cli import main

if __name__ == "__main__":
    main(["calibrate", *sys.argv[1:]])
