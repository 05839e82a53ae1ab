"""`python -m tests.ui.fake_calibrate --json --corpus C --index I`: the desk's calibration, with the fake embedder.

The real `advisor calibrate` command through its CLI, only its embedder is the tests'
`FakeEmbedder` (the index was built with it). Settings come from the ADVISOR_* variables the desk
passes on, exactly as for `python -m advisor calibrate`.
"""

from __future__ import annotations

import sys

from advisor.cli import main
from tests.conftest import FakeEmbedder

if __name__ == "__main__":
    main(["calibrate", *sys.argv[1:]], obj={"embedder": FakeEmbedder()})
