from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index, rollback
from advisor.index.layout import (
    IndexBusyError,
    builds_dir,
    current_build_id,
    index_lock,
    load_build_chunks,
    previous_build_id,
)
from advisor.index.stores import open_store
from advisor.index.vectors import all_ids


def _stored_ids(settings: Settings) -> set[str]:
    """Ids in the current build's vector collections (one per language)."""
    build = current_build_id(Path(settings.index_dir))
    assert build
    cols = open_store(settings).vectors.collections(build, builds_dir(Path(settings.index_dir)) / build)
    return set().union(*(all_ids(c) for c in cols.values()))


def _ids(settings: Settings) -> list[str]:
    return [c.id for c in load_build_chunks(Path(settings.index_dir), current_build_id(Path(settings.index_dir)) or "")]


def test_first_build_indexes_every_format_and_skips_the_catalogue(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    report = build_index(settings, fake_embedder)
    assert sorted(report.added) == ["conflict.docx", "governance.pdf", "keten.html", "shared-goal.md", "vertrouwen.md"]
    assert report.failed == []
    assert report.documents == 5
    ids = _ids(settings)
    assert report.chunks == len(ids) == len(set(ids))
    assert _stored_ids(settings) == set(ids)
    info = json.loads((builds_dir(Path(settings.index_dir)) / report.build_id / "build.json").read_text())
    assert info["manifest"]["governance.pdf"]["format"] == "pdf"
    pages = {c.page for c in load_build_chunks(Path(settings.index_dir), report.build_id) if c.source == "governance.pdf"}
    assert pages == {1, 2, 3}


def test_reindex_of_unchanged_corpus_embeds_nothing(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    first = build_index(settings, fake_embedder)
    calls = fake_embedder.calls
    second = build_index(settings, fake_embedder)
    assert second.noop
    assert fake_embedder.calls == calls
    assert second.embedded == 0
    assert current_build_id(Path(settings.index_dir)) == first.build_id


def test_full_rebuild_uses_the_embedding_cache(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    first = build_index(settings, fake_embedder)
    embedded = fake_embedder.texts_embedded
    again = build_index(settings, fake_embedder, full=True)
    assert not again.noop and again.build_id != first.build_id
    assert fake_embedder.texts_embedded == embedded
    assert again.cached == again.chunks


def test_changed_file_reembeds_only_its_changed_chunks(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    before = set(_ids(settings))
    text = (corpus / "vertrouwen.md").read_text()
    (corpus / "vertrouwen.md").write_text(text.replace("argwaan bij de ander.", "argwaan bij de ander. Een nieuwe zin over eerlijkheid."))
    embedded_before = fake_embedder.texts_embedded
    report = build_index(settings, fake_embedder)
    assert report.changed == ["vertrouwen.md"] and report.added == [] and report.removed == []
    assert fake_embedder.texts_embedded - embedded_before == report.embedded == 1
    after = _ids(settings)
    assert len(after) == len(set(after)) == len(_stored_ids(settings))
    assert len(set(after) - before) == 1
    assert _stored_ids(settings) == set(after)


def test_removed_file_disappears_without_duplicates(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    (corpus / "shared-goal.md").unlink()
    report = build_index(settings, fake_embedder)
    assert report.removed == ["shared-goal.md"]
    chunks = load_build_chunks(Path(settings.index_dir), report.build_id)
    assert all(c.source != "shared-goal.md" for c in chunks)
    assert _stored_ids(settings) == {c.id for c in chunks}


def test_corrupt_and_encrypted_pdfs_are_reported_and_the_rest_indexed(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader, PdfWriter

    (corpus / "kapot.pdf").write_bytes(b"%PDF-1.7\n garbage garbage")
    writer = PdfWriter()
    for page in PdfReader(corpus / "governance.pdf").pages:
        writer.add_page(page)
    writer.encrypt(user_password="pw", algorithm="RC4-128")
    (corpus / "sub").mkdir()
    with (corpus / "sub" / "locked.pdf").open("wb") as f:
        writer.write(f)
    report = build_index(settings, fake_embedder)
    failed = {f.source: f.reason for f in report.failed}
    assert set(failed) == {"kapot.pdf", "sub/locked.pdf"}
    assert "corrupt" in failed["kapot.pdf"]
    assert "encrypted PDF" in failed["sub/locked.pdf"]
    assert all(str(corpus) not in r for r in failed.values())
    assert report.documents == 5
    # an unchanged failing file stays reported and does not force a rebuild
    again = build_index(settings, fake_embedder)
    assert again.noop
    assert {f.source for f in again.failed} == {"kapot.pdf", "sub/locked.pdf"}


def test_a_changed_file_that_breaks_keeps_its_indexed_version(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    old = {c.id for c in load_build_chunks(Path(settings.index_dir), current_build_id(Path(settings.index_dir)) or "") if c.source == "governance.pdf"}
    (corpus / "governance.pdf").write_bytes(b"%PDF-1.4 truncated")
    report = build_index(settings, fake_embedder)
    assert [f.source for f in report.failed] == ["governance.pdf"]
    assert "previously indexed version is kept" in report.failed[0].reason
    kept = {c.id for c in load_build_chunks(Path(settings.index_dir), report.build_id) if c.source == "governance.pdf"}
    assert kept == old


def test_builds_switch_atomically_keep_the_previous_and_roll_back(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    index = Path(settings.index_dir)
    first = build_index(settings, fake_embedder)
    (corpus / "extra.md").write_text("# Extra\n\n## Over escalatie\n\nEscalatie is een normaal onderdeel van samenwerken.\n")
    second = build_index(settings, fake_embedder)
    assert current_build_id(index) == second.build_id
    assert previous_build_id(index) == first.build_id
    (corpus / "extra2.md").write_text("# Extra twee\n\nNog een document over netwerken en leiderschap.\n")
    third = build_index(settings, fake_embedder)
    # only the current and the previous build are kept
    assert sorted(p.name for p in builds_dir(index).iterdir()) == sorted([second.build_id, third.build_id])
    assert rollback(index) == second.build_id
    assert current_build_id(index) == second.build_id


def test_a_second_writer_fails_at_once(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    with index_lock(Path(settings.index_dir)), pytest.raises(IndexBusyError, match="another index build is running"):
        build_index(settings, fake_embedder)


def test_a_crashed_build_directory_is_never_current_and_is_cleaned(settings: Settings, fake_embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    index = Path(settings.index_dir)
    first = build_index(settings, fake_embedder)
    stale = builds_dir(index) / "20000101-000000-dead00"
    (stale / "chroma").mkdir(parents=True)
    assert current_build_id(index) == first.build_id
    (corpus / "new.md").write_text("# Nieuw\n\nTekst over partnerkeuze en onderhandelen.\n")
    build_index(settings, fake_embedder)
    assert not stale.exists()


def test_a_build_keeps_each_languages_frequent_words_with_their_vectors(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    # what the corpus-derived glossary (settings.glossary = "corpus") translates into
    import numpy as np

    from advisor.index.lexicon import vocabulary
    from advisor.index.stores import open_store

    report = build_index(settings, fake_embedder)
    store = open_store(settings)
    build = store.open(store.current())
    with np.load(build.language_stats_path) as data:
        words = {lang: data[f"lexicon_{lang}_words"].tolist() for lang in ("nl", "en") if f"lexicon_{lang}_words" in data}
        vectors = {lang: data[f"lexicon_{lang}_vectors"] for lang in words}
    assert words == vocabulary(build.chunks) and "nl" in words
    assert "vertrouwen" in words["nl"]
    for lang, ws in words.items():
        assert vectors[lang].shape == (len(ws), build.vectors.shape[1])
        np.testing.assert_allclose(vectors[lang][0], np.asarray(fake_embedder.embed_documents([ws[0]]))[0], atol=2e-3)
    # the report counts chunks, not words
    assert report.embedded + report.cached == report.chunks
