from __future__ import annotations

from pathlib import Path

import pytest

from advisor.core.text import detect_language, split_sentences
from advisor.ingest.loaders import LoadError, load_file
from advisor.tools.authoring import markdown_to_pdf


def test_pdf_loader_keeps_page_numbers_and_sections(tmp_path: Path) -> None:
    md = "# Testtitel\n\n## Eerste deel\n\nDe appel staat op pagina een.\n\n## Tweede deel\n\nDe peer staat op pagina twee.\n\n## Derde deel\n\nDe kers staat op pagina drie.\n"
    pages = markdown_to_pdf(md, tmp_path / "t.pdf", page_breaks_before_h2=True)
    assert pages == 3
    doc = load_file(tmp_path / "t.pdf", "sub/t.pdf")
    assert doc.title == "Testtitel"
    assert doc.source == "sub/t.pdf"
    assert doc.format == "pdf"
    found = {p.page: (p.section, p.text) for p in doc.pieces}
    assert found[1] == ("Eerste deel", "De appel staat op pagina een.")
    assert found[2] == ("Tweede deel", "De peer staat op pagina twee.")
    assert found[3] == ("Derde deel", "De kers staat op pagina drie.")
    assert len(doc.sha256) == 64


def test_pdf_loader_rejoins_wrapped_lines_into_sentences(tmp_path: Path) -> None:
    sentence = "Samenwerking tussen zelfstandige organisaties vraagt om een helder gezamenlijk doel dat iedereen begrijpt."
    markdown_to_pdf(f"# T\n\n## S\n\n{' '.join([sentence] * 6)}\n", tmp_path / "w.pdf")
    doc = load_file(tmp_path / "w.pdf", "w.pdf")
    assert split_sentences(doc.pieces[0].text) == [sentence] * 6


def test_markdown_headings_become_section_paths(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Titel\n\nIntro tekst hier.\n\n## Deel A\n\nTekst A.\n\n### Sub A1\n\nTekst A1\nloopt door.\n\n## Deel B\n\n- punt een\n- punt twee\n")
    doc = load_file(tmp_path / "a.md", "a.md")
    assert doc.title == "Titel"
    assert [(p.section, p.text) for p in doc.pieces] == [
        ("", "Intro tekst hier."),
        ("Deel A", "Tekst A."),
        ("Deel A > Sub A1", "Tekst A1 loopt door."),
        ("Deel B", "- punt een\n- punt twee"),
    ]
    assert all(p.page is None for p in doc.pieces)


def test_html_loader_keeps_only_visible_text(corpus: Path) -> None:
    doc = load_file(corpus / "keten.html", "keten.html")
    text = " ".join(p.text for p in doc.pieces)
    assert doc.title == "Ketensamenwerking in de zorg"
    assert "ketenregisseur bewaakt" in text
    for hidden in ("SCRIPTTEKST", "VERBORGEN", "ONZICHTBAAR", "color:red"):
        assert hidden not in text
    assert {p.section for p in doc.pieces} >= {"De ketenregisseur", "Informatie delen"}


def test_docx_loader_reads_headings_and_title(corpus: Path) -> None:
    doc = load_file(corpus / "conflict.docx", "conflict.docx")
    assert doc.title == "Conflicten in allianties"
    assert doc.pieces[0].section == "Escaleren zonder schade"
    assert "escalatieprocedure" in doc.pieces[0].text
    assert doc.language == "nl"


def test_text_loader_and_language(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("Notes on trust\n\nTrust is built when partners keep their promises and are open about what they want.\n")
    doc = load_file(tmp_path / "n.txt", "n.txt")
    assert doc.title == "Notes on trust"
    assert doc.language == "en"
    assert detect_language("Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?") == "nl"
    assert detect_language("How do I keep the board on board?") == "en"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("junk.pdf", b"this is not a pdf at all", "corrupt or unreadable PDF"),
        ("truncated.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "PDF"),
        ("bin.md", b"\x00\x01\x02binary", "binary content"),
        ("latin.txt", "caf\xe9 zonder utf8".encode("latin-1"), "not valid UTF-8"),
        ("junk.docx", b"PK\x03\x04 not really a zip", "not a valid DOCX"),
        ("data.xlsx", b"whatever", "unsupported file type '.xlsx'"),
        ("blank.md", b"   \n\n  ", "no text found"),
    ],
)
def test_bad_files_raise_a_specific_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_file(tmp_path / name, name)
    assert reason in str(err.value)
    assert str(tmp_path) not in str(err.value)


def test_encrypted_pdf_is_reported(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    markdown_to_pdf("# Geheim\n\n## Deel\n\nVertrouwelijke tekst.\n", tmp_path / "plain.pdf")
    writer = PdfWriter()
    for page in PdfReader(tmp_path / "plain.pdf").pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with (tmp_path / "locked.pdf").open("wb") as f:
        writer.write(f)
    with pytest.raises(LoadError, match="encrypted PDF"):
        load_file(tmp_path / "locked.pdf", "locked.pdf")


def test_sentence_splitter_respects_abbreviations() -> None:
    text = "Kies bijv. een partner met een vergelijkbare cultuur. Dat helpt o.a. bij conflicten. Klaar?"
    assert split_sentences(text) == [
        "Kies bijv. een partner met een vergelijkbare cultuur.",
        "Dat helpt o.a. bij conflicten.",
        "Klaar?",
    ]


DOS_AND_DONTS = (
    "# T\n\n## Do's en don'ts\n\nDoen:\n\n- Vertel thuis ook wat de partner heeft toegegeven.\n"
    "- Spreek met de partner af dat je elkaar tijd gunt.\n\nNiet doen:\n\n"
    "- Toezeggingen doen in de hoop dat je ze thuis later verkocht krijgt.\n- Alleen terugkoppelen via verslagen.\n"
)


def test_a_lead_in_after_a_list_item_starts_its_own_paragraph_in_a_pdf(tmp_path: Path) -> None:
    # Set at the list's line spacing, "Niet doen:" used to end the last do, so the don'ts read as do's.
    markdown_to_pdf(DOS_AND_DONTS, tmp_path / "d.pdf")
    lines = " ".join(p.text for p in load_file(tmp_path / "d.pdf", "d.pdf").pieces).split("\n")
    assert "Niet doen:" in lines
    assert "- Spreek met de partner af dat je elkaar tijd gunt." in lines


def test_a_lead_in_after_a_list_item_starts_its_own_paragraph_in_text(tmp_path: Path) -> None:
    # A plain-text file without a blank line before the second lead-in; a wrapped item still joins.
    (tmp_path / "d.txt").write_text(
        "Titel\n\nDoen:\n- Vertel thuis wat de partner\nheeft toegegeven.\nNiet doen:\n- Alleen terugkoppelen via verslagen.\n- Een item dat eindigt met een\nopsomming van:\n",
        encoding="utf-8",
    )
    lines = "\n".join(p.text for p in load_file(tmp_path / "d.txt", "d.txt").pieces).split("\n")
    assert lines == [
        "Doen:",
        "- Vertel thuis wat de partner heeft toegegeven.",
        "Niet doen:",
        "- Alleen terugkoppelen via verslagen.",
        "- Een item dat eindigt met een opsomming van:",
    ]


LONG_TITLE = "De levenscyclus van een alliantie en wat elke fase van de partners vraagt: fasen en overgangen"


def _without_metadata(src: Path, dest: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(src).pages:
        writer.add_page(page)
    with dest.open("wb") as fh:
        writer.write(fh)
    return dest


def test_a_pdf_title_on_two_lines_is_one_title_and_no_section(tmp_path: Path) -> None:
    # The second line of a wrapped title ("overgangen") used to become the opening's section.
    opening = "Dit is de opening van het artikel, lang genoeg om de gewone tekst van de pagina te zijn. " * 3
    md = f"# {LONG_TITLE}\n\n{opening.strip()}\n\n## Waarom denken in fasen helpt\n\nFasen geven houvast.\n"
    markdown_to_pdf(md, tmp_path / "t.pdf")
    for path in (tmp_path / "t.pdf", _without_metadata(tmp_path / "t.pdf", tmp_path / "bare.pdf")):
        doc = load_file(path, path.name)
        assert doc.title == LONG_TITLE
        assert [(p.section, p.text) for p in doc.pieces] == [
            ("", opening.strip()),
            ("Waarom denken in fasen helpt", "Fasen geven houvast."),
        ]


def test_pdf_subheadings_get_their_heading_path_as_in_markdown(tmp_path: Path) -> None:
    # A PDF's smaller headings used to stand alone ("Mandaat"), so a subsection lost its parent.
    body = "Gewone tekst van deze pagina, lang genoeg om de tekstgrootte van de pagina te bepalen. " * 3
    md = f"# Ketenregie\n\n{body}\n\n## De ketenregisseur\n\n{body}\n\n### Mandaat\n\n{body}\n\n### Valkuilen\n\n{body}\n\n## Financiering\n\n{body}\n"
    markdown_to_pdf(md, tmp_path / "k.pdf")
    sections = [p.section for p in load_file(tmp_path / "k.pdf", "k.pdf").pieces]
    assert sections == ["", "De ketenregisseur", "De ketenregisseur > Mandaat", "De ketenregisseur > Valkuilen", "Financiering"]


LIST_THEN_PARAGRAPH = (
    "# Vertrouwen in de stuurgroep\n\n## Wat vertrouwen schaadt\n\n"
    "Vertrouwen groeit langzaam en kan in een enkele vergadering verloren gaan; de volgende gedragingen doen de meeste schade aan de relatie tussen de partners.\n\n"
    "- **Verrassingen.** Een belangrijk besluit van de partner, zoals een reorganisatie of een concurrerend initiatief, via een derde partij horen.\n"
    "- **Heronderhandelen.** Een tijdelijk voordeel, zoals financiële problemen van de partner, gebruiken om afspraken open te breken.\n\n"
    "Covey beschrijft het idee van een vertrouwensrekening: elke nagekomen belofte is een storting, elke breuk een opname, en opnames wegen zwaarder dan stortingen. "
    "Bestuurders doen er goed aan aan te nemen dat de partner die rekening zorgvuldig bijhoudt, ook als niemand het hardop zegt.\n"
)


def test_a_paragraph_after_a_list_in_a_pdf_is_not_read_as_part_of_the_last_item(tmp_path: Path) -> None:
    # The item's line ends its sentence where the paragraph's first word would still have fitted:
    # the item ended there, even at the list's line spacing ("Covey describes ..." read as part of
    # "Opportunistic renegotiation" in a shipped PDF).
    markdown_to_pdf(LIST_THEN_PARAGRAPH, tmp_path / "v.pdf")
    lines = "\n".join(p.text for p in load_file(tmp_path / "v.pdf", "v.pdf").pieces).split("\n")
    last_item = next(line for line in lines if line.startswith("- Heronderhandelen."))
    assert last_item.endswith("open te breken."), last_item
    assert any(line.startswith("Covey beschrijft") for line in lines), lines
    # a wrapped item still joins: its first line stopped where the next word did not fit
    assert any(line.startswith("- Verrassingen.") and line.endswith("horen.") for line in lines), lines
