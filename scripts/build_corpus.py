"""Render the corpus documents written as Markdown in corpus_src/ into corpus/ as PDF or DOCX.

The sources are not in corpus/ so nothing is indexed twice. Names listed in corpus_src/docx.txt
become DOCX; every other source becomes a multi-page PDF. Output is deterministic (fixed dates).

    python scripts/build_corpus.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.tools.authoring import markdown_to_docx, markdown_to_pdf  # noqa: E402


def main() -> None:
    src = ROOT / "corpus_src"
    dest = ROOT / "corpus"
    docx_names = set((src / "docx.txt").read_text().split()) if (src / "docx.txt").exists() else set()
    for md in sorted(src.glob("*.md")):
        if md.name.lower() == "readme.md":
            continue
        text = md.read_text(encoding="utf-8")
        if md.stem in docx_names:
            markdown_to_docx(text, dest / f"{md.stem}.docx")
            print(f"{md.name} -> corpus/{md.stem}.docx")
        else:
            pages = markdown_to_pdf(text, dest / f"{md.stem}.pdf")
            print(f"{md.name} -> corpus/{md.stem}.pdf ({pages} pages)")


if __name__ == "__main__":
    main()
