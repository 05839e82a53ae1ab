"""Write corpus/README.md: the catalogue of the shipped documents (not indexed itself).

    .venv/bin/python scripts/corpus_catalogue.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.core.text import words  # noqa: E402
from advisor.ingest.loaders import load_file  # noqa: E402

HEADER = """# The shipped corpus

The default knowledge base of Alliance Advisor: practitioner articles on alliance management,
written for this project in its own words. Facts from the literature are attributed in each
article's reference list. Examples are illustrative or anonymised.

Licence: the project's own (MIT, like the code). PDF and DOCX files are rendered from the
Markdown sources in `corpus_src/` by `scripts/build_corpus.py`; this file is not indexed.

| file | title | language | format | words | sections |
|---|---|---|---|---|---|
"""


def main() -> None:
    corpus = ROOT / "corpus"
    rows = []
    langs = {"nl": 0, "en": 0}
    formats: dict[str, int] = {}
    for path in sorted(corpus.iterdir()):
        if path.name.lower() == "readme.md" or path.is_dir():
            continue
        doc = load_file(path, path.name)
        n_words = sum(len(words(p.text)) for p in doc.pieces)
        sections = len({p.section for p in doc.pieces if p.section})
        langs[doc.language] += 1
        formats[doc.format] = formats.get(doc.format, 0) + 1
        rows.append(f"| `{doc.source}` | {doc.title} | {doc.language} | {doc.format} | {n_words} | {sections} |")
    total = sum(langs.values())
    summary = (
        f"\n{total} documents: {langs['nl']} Dutch, {langs['en']} English; "
        + ", ".join(f"{n} {fmt.upper()}" for fmt, n in sorted(formats.items())) + ".\n"
    )
    (corpus / "README.md").write_text(HEADER + "\n".join(rows) + "\n" + summary, encoding="utf-8")
    print(summary.strip())


if __name__ == "__main__":
    main()
