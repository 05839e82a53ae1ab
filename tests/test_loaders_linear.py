"""Loaders take time linear in the file, whatever is in it, and give what the plain code gave.

The reference functions below are the loaders' code before it was made linear (quadratic on
hostile input, same results on any input): the new code must agree with them.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from advisor.ingest import loaders
from advisor.ingest.loaders import load_file

# ---------------------------------------------------------------- the reference (old) code


def old_unwrap(lines: list[str]) -> str:
    out: list[str] = []
    joinable = False
    for line in lines:
        s = line.strip()
        if not s:
            joinable = False
            continue
        item = bool(re.match(r"^([-*+\u2022]|\d+[.)])\s", s))
        if joinable and not item and out:
            out[-1] += " " + s
        else:
            out.append(s)
        joinable = True
    return "\n".join(out)


def old_paragraphs(lines: list[tuple[str, float, float]]) -> str:
    gaps = [abs(a[2] - b[2]) for a, b in zip(lines, lines[1:]) if a[2] and b[2]]
    step = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    out: list[str] = []
    prev_y: float | None = None
    for text, _, y in lines:
        bullet = bool(re.match(r"^([-•*]|\d+[.)])\s", text))
        gap = abs(prev_y - y) if prev_y is not None and y else 0.0
        if not out or bullet or (step and gap > step * 1.3):
            out.append(text)
        elif out[-1].endswith("-") and not out[-1].endswith(" -"):
            out[-1] = out[-1] + text
        else:
            out[-1] = out[-1] + " " + text
        prev_y = y
    return "\n".join(out)


def old_strip_markdown_inline(line: str) -> str:
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
    line = re.sub(r"(?<!\w)([*_])(.+?)\1(?!\w)", r"\2", line)
    line = re.sub(r"`([^`]*)`", r"\1", line)
    line = re.sub(r"<[^>]+>", "", line)
    return line


def old_heading(line: str) -> tuple[int, str] | None:
    m = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
    return (len(m.group(1)), m.group(2)) if m else None


# ---------------------------------------------------------------- same results


UNWRAP_CASES = [
    [],
    ["", "  "],
    ["Een regel."],
    ["Een lange zin die", "over twee regels loopt.", "", "Nieuwe alinea."],
    ["- punt een", "  loopt door", "- punt twee", "1. genummerd", "2) ook", "gewoon verder", "", "+ plus", "\u2022 bullet"],
    ["  spaties rond  ", "\ttab\t", "", "", "na twee lege regels"],
    ["10. tien", "-geen item", "- item", "*nadruk* geen item", "* wel item"],
]


@pytest.mark.parametrize("lines", UNWRAP_CASES)
def test_unwrap_gives_what_it_gave(lines: list[str]) -> None:
    assert loaders._unwrap(lines) == old_unwrap(lines)


def test_unwrap_and_pdf_paragraphs_agree_with_the_old_code_on_random_input() -> None:
    rng = random.Random(7)
    pieces = ["", "  ", "a", "- b", "1. c", "d ", " e", "2)x", "+ f", "woord-", "x -", "•", "*"]
    for _ in range(3000):
        lines = [rng.choice(pieces) for _ in range(rng.randint(0, 10))]
        assert loaders._unwrap(lines) == old_unwrap(lines), lines
        pdf = [(t.strip() or "z", 10.0, rng.choice([0.0, 700.0 - 12 * i, 700.0 - 30 * i])) for i, t in enumerate(lines)]
        assert loaders._paragraphs(pdf) == old_paragraphs(pdf), pdf


def test_inline_markdown_and_headings_agree_with_the_old_regexes() -> None:
    rng = random.Random(11)
    alphabet = list("![]()*_`<>a b#") + ["é", "\u2028", "\t", "1"]
    for _ in range(20000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert loaders._strip_markdown_inline(line) == old_strip_markdown_inline(line), line
        heading = "#" * rng.randint(0, 7) + line
        assert loaders._md_heading(heading) == old_heading(heading), heading
    for line in ["Zie [de site](https://x.example) en ![logo](l.png).", "**vet** en *schuin* en `code` en <b>html</b>", "snake_case_name"]:
        assert loaders._strip_markdown_inline(line) == old_strip_markdown_inline(line)
    for line in ["## Titel ##", "# C#", "### Kop met spaties   ", "####### zeven", "#geen", "# #", "## ###"]:
        assert loaders._md_heading(line) == old_heading(line)


# ---------------------------------------------------------------- linear time


def test_a_paragraph_of_200k_short_lines_unwraps_in_well_under_a_second() -> None:
    lines = ["kort"] * 200_000
    t0 = time.perf_counter()
    out = loaders._unwrap(lines)
    assert time.perf_counter() - t0 < 0.5
    assert out == " ".join(lines)


def test_pdf_paragraph_of_200k_lines_joins_in_linear_time() -> None:
    lines = [("regel-" if i % 2 else "regel", 10.0, 0.0) for i in range(200_000)]
    t0 = time.perf_counter()
    loaders._paragraphs(lines)
    assert time.perf_counter() - t0 < 0.5


N = 40_000
HOSTILE = {
    "wrapped.md": "# T\n\n" + "woord\n" * (6 * N),
    "images.md": "# T\n\n" + "![" * N + "\n",
    "links.md": "# T\n\n" + "[a" * N + "]\n",
    "links-no-url.md": "# T\n\n[a](b) " + "[" * N + "]\n",
    "tags.md": "# T\n\nx " + "<" * (4 * N) + "\n",
    "emphasis.md": "# T\n\n" + " *a" * N + "\n",
    "heading.md": "# a" + "#" * N + "b\n\ntekst\n",
    "nested.html": "<html><body>" + "<div>" * N + "x</span>" * N,
    "title.html": "<title>" + "a<b>" * N + "</title><p>tekst</p>",
    "comment.html": "<p>tekst</p>" + "<!--" * N,
    "tag.html": "<p>tekst</p>" + "<a" * N,
    "text.txt": "Titel\n" + "regel\n" * (6 * N),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_load_in_linear_time(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(HOSTILE[name], encoding="utf-8")
    t0 = time.perf_counter()
    try:
        load_file(path, name)
    except loaders.LoadError:
        pass  # refusing is fine; taking minutes is not
    assert time.perf_counter() - t0 < 2.0, name


def test_html_that_ends_inside_a_tag_or_comment_keeps_the_text_before_it(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<h1>Titel</h1><p>Zichtbare tekst.</p><!-- niet af " + "<a" * 10, encoding="utf-8")
    doc = load_file(tmp_path / "a.html", "a.html")
    assert doc.title == "Titel"
    assert [p.text for p in doc.pieces] == ["Zichtbare tekst."]
    (tmp_path / "b.html").write_text('<p>Voor.</p><p title="nooit gesloten>Verborgen</p>', encoding="utf-8")
    assert [p.text for p in load_file(tmp_path / "b.html", "b.html").pieces] == ["Voor."]


def test_sentence_splitting_is_linear_in_a_run_of_abbreviations() -> None:
    """A run of initials ("A. A. A. ...") made every split re-slice the whole sentence so far."""
    import time

    from advisor.core.text import split_sentences

    text = "A. " * 120_000
    t0 = time.perf_counter()
    assert split_sentences(text) == [text.strip()]
    assert time.perf_counter() - t0 < 1.0
