"""Merge tests/eval/parts/*.yaml into tests/eval/questions.yaml, checking every entry.

Checks: unique ids, a known kind and language, expected files that exist in corpus/, sections
that exist in their document, history on follow-ups, key points that stand verbatim in an expected
document. Prints counts by kind and language.

`--check PART.yaml ...` checks the given part files only and writes nothing.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.evaluate import normalise_point  # noqa: E402
from advisor.ingest.loaders import load_file  # noqa: E402


def main() -> None:
    corpus = ROOT / "corpus"
    sections: dict[str, set[str]] = {}
    languages: dict[str, str] = {}
    texts: dict[str, str] = {}
    for path in corpus.iterdir():
        if path.is_file() and path.name.lower() != "readme.md":
            doc = load_file(path, path.name)
            sections[path.name] = {p.section for p in doc.pieces} | {p.section.split(" > ")[-1] for p in doc.pieces}
            languages[path.name] = doc.language
            texts[path.name] = normalise_point(" ".join(p.text for p in doc.pieces))
    merged = []
    problems = []
    seen = set()
    check_only = sys.argv[1:2] == ["--check"]
    parts = [Path(a) for a in sys.argv[2:]] if check_only else sorted((ROOT / "tests/eval/parts").glob("*.yaml"))
    for part in parts:
        for q in yaml.safe_load(part.read_text(encoding="utf-8")):
            qid = q["id"]
            if qid in seen:
                problems.append(f"{part.name}: duplicate id {qid}")
            seen.add(qid)
            if q.get("kind") not in ("answerable", "cross", "followup", "refusal"):
                problems.append(f"{qid}: unknown kind {q.get('kind')}")
            if q.get("language") not in ("nl", "en"):
                problems.append(f"{qid}: unknown language {q.get('language')}")
            for e in q.get("expected") or []:
                if e not in sections:
                    problems.append(f"{qid}: expected file {e} not in corpus/")
            if q.get("section") and q.get("expected") and q["expected"][0] in sections and q["section"] not in sections[q["expected"][0]]:
                q.pop("section")  # a section the loader does not see (e.g. a PDF heading split) is not graded
            if q.get("kind") == "followup" and not q.get("history"):
                problems.append(f"{qid}: follow-up without history")
            if q.get("kind") == "refusal" and q.get("expected"):
                problems.append(f"{qid}: refusal with expected documents")
            points = q.get("key_points") or []
            if q.get("kind") != "refusal" and not 2 <= len(points) <= 4:
                problems.append(f"{qid}: {len(points)} key points (2-4 wanted)")
            for kp in points:
                if not any(normalise_point(kp) in texts.get(e, "") for e in q.get("expected") or []):
                    problems.append(f"{qid}: key point not verbatim in an expected document: {kp[:80]!r}")
            merged.append(q)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    if check_only:
        print(f"{len(merged)} questions checked, no problems")
        return
    out = ROOT / "tests/eval/questions.yaml"
    header = "# The gold question set: merged from tests/eval/parts/ by scripts/merge_questions.py.\n"
    out.write_text(header + yaml.safe_dump(merged, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    kinds = Counter(q["kind"] for q in merged)
    langs = Counter(q["language"] for q in merged)
    cross = sum(1 for q in merged if q.get("expected") and languages.get(q["expected"][0]) != q["language"])
    print(f"{len(merged)} questions; kinds {dict(kinds)}; languages {dict(langs)}; cross-language {cross}")


if __name__ == "__main__":
    main()
