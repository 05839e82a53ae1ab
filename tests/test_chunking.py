from __future__ import annotations

from advisor.core.text import split_sentences
from advisor.core.types import Document, Piece
from advisor.ingest.chunking import chunk_document

SENT = "Partners die elkaar vertrouwen delen sneller informatie over hun plannen."


def numbered(n: int) -> list[str]:
    return [f"Partner {i} die de ander vertrouwt deelt sneller informatie over de plannen." for i in range(n)]


def _doc(text: str, section: str = "S", source: str = "d.md") -> Document:
    return Document(source=source, title="T", language="nl", pieces=(Piece(text, section, 3),), format="md")


def test_chunk_ids_are_stable_across_runs() -> None:
    doc = _doc("\n".join(numbered(30)))
    a = chunk_document(doc, 300, 80)
    b = chunk_document(doc, 300, 80)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a) > 3


def test_chunk_ids_depend_on_path_and_content() -> None:
    a = chunk_document(_doc(SENT, source="a.md"))
    b = chunk_document(_doc(SENT, source="b.md"))
    c = chunk_document(_doc(SENT + " Extra zin hier.", source="a.md"))
    assert a[0].id != b[0].id
    assert a[0].id != c[0].id


def test_chunks_never_split_mid_sentence_and_keep_section_and_page() -> None:
    sentences = numbered(25)
    chunks = chunk_document(_doc(" ".join(sentences)), 400, 100)
    assert len(chunks) > 3
    for c in chunks:
        assert c.section == "S"
        assert c.page == 3
        for s in split_sentences(c.text):
            assert s in sentences
        assert len(c.text) <= 400 + 100


def test_repeated_passages_are_indexed_once() -> None:
    chunks = chunk_document(_doc("\n".join([SENT] * 40)), 300, 80)
    assert len({c.text for c in chunks}) == len(chunks)


def test_overlap_repeats_the_last_sentence() -> None:
    sentences = [f"Dit is zin nummer {i} over samenwerking tussen partners." for i in range(20)]
    chunks = chunk_document(_doc("\n".join(sentences)), 300, 120)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert split_sentences(prev.text)[-1] == split_sentences(nxt.text)[0]


def test_sections_are_chunked_separately() -> None:
    doc = Document(source="d.md", title="T", language="nl", pieces=(Piece("Eerste sectie tekst.", "A"), Piece("Tweede sectie tekst.", "B")), format="md")
    chunks = chunk_document(doc, 900, 100)
    assert [(c.section, c.text) for c in chunks] == [("A", "Eerste sectie tekst."), ("B", "Tweede sectie tekst.")]
    assert "T - A" in chunks[0].embed_text


def test_reference_lists_are_not_chunked_but_the_advice_around_them_is() -> None:
    pieces = (
        Piece(SENT, "Vertrouwen > Hoe vertrouwen groeit"),
        Piece("Gulati, R. (1998). Alliances and networks. Strategic Management Journal.", "Vertrouwen > Bronnen"),
        Piece("Doz, Y. & Hamel, G. (1998). Alliance Advantage.", "References:"),
        Piece("Kanter, R.M. (1994). Collaborative advantage.", "Literatuur"),
        Piece("Reading the sources critically is part of the job, says this paragraph.", "Bronnen kiezen en wegen"),
    )
    doc = Document(source="d.md", title="T", language="nl", pieces=pieces, format="md")
    sections = [c.section for c in chunk_document(doc)]
    assert sections == ["Vertrouwen > Hoe vertrouwen groeit", "Bronnen kiezen en wegen"]
