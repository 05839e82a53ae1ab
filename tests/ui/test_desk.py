from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.tools.authoring import markdown_to_docx, markdown_to_pdf
from advisor.web import maintenance as desk
from advisor.web.feedback import append_feedback, read_feedback


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gids.md", "gids.md"),
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\win.md", "win.md"),
        ("/abs/path/Notitie.PDF", "Notitie.pdf"),
        ("Mijn notitie (v2).md", "Mijn-notitie-v2.md"),
        ("rapport..final..docx", "rapport.final.docx"),
        ("café-samenwerking.html", "cafe-samenwerking.html"),
        ("a<b>|c:d*e?.txt", "a-b-c-d-e.txt"),
    ],
)
def test_file_names_are_reduced_to_a_safe_basename(name: str, expected: str) -> None:
    assert desk.safe_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".env.md", "hidden"),
        ("../.bashrc.md", "hidden"),
        ("script.sh", "not accepted"),
        ("geen-extensie", "no usable file name"),
        ("...md", "hidden"),
        ("..", "hidden"),
        ("-.md", "no usable file name"),
        ("", "no usable file name"),
        ("README.md", "catalogue"),
        ("foto.md.exe", "not accepted"),
    ],
)
def test_unsafe_or_unusable_file_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(desk.UploadError, match=reason):
        desk.safe_filename(name)


def test_safe_names_never_leave_the_corpus(tmp_path: Path) -> None:
    for name in ["../../x.md", "..%2F..%2Fx.md", "a/../../b.md", "\\..\\..\\c.md", "x\x00.md", "%2e%2e%2fx.md", "x.md/.."]:
        try:
            clean = desk.safe_filename(name)
        except desk.UploadError:
            continue
        assert (tmp_path / clean).resolve().parent == tmp_path.resolve()
        assert ".." not in clean
        assert "/" not in clean


def _docx_bytes(tmp_path: Path) -> bytes:
    markdown_to_docx("# Titel\n\n## Deel\n\nTekst.\n", tmp_path / "d.docx")
    return (tmp_path / "d.docx").read_bytes()


def test_content_must_match_the_suffix(tmp_path: Path) -> None:
    markdown_to_pdf("# Titel\n\nTekst.\n", tmp_path / "p.pdf")
    pdf = (tmp_path / "p.pdf").read_bytes()
    assert desk.content_problem(".pdf", pdf) is None
    assert "not a PDF" in (desk.content_problem(".pdf", b"just some text pretending") or "")
    assert desk.content_problem(".docx", _docx_bytes(tmp_path)) is None
    assert "not a zip" in (desk.content_problem(".docx", b"PK but not really") or "")
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("content.xml", "<x/>")
    assert "word/document.xml" in (desk.content_problem(".docx", other_zip.getvalue()) or "")
    assert desk.content_problem(".md", "# Titel\n\nÉén zin.".encode()) is None
    assert "NUL" in (desk.content_problem(".md", b"# x\x00y") or "")
    assert "UTF-8" in (desk.content_problem(".txt", "café".encode("latin-1")) or "")
    assert "not a PDF" in (desk.content_problem(".pdf", pdf[:0] + b"<html>") or "")
    assert "NUL" in (desk.content_problem(".html", pdf) or "") or "UTF-8" in (desk.content_problem(".html", pdf) or "")
    assert desk.content_problem(".md", b"") == "the file is empty"


def test_save_upload_writes_inside_the_corpus_only(settings: Settings) -> None:
    saved = desk.save_upload(settings, "../../etc/passwd.md", b"# Wachtwoord\n\nGeen geheim.\n")
    assert saved.name == "passwd.md"
    assert not saved.replaced
    assert (settings.corpus_dir / "passwd.md").read_bytes().startswith(b"# Wachtwoord")
    assert not (settings.corpus_dir.parent / "etc").exists()
    assert desk.save_upload(settings, "passwd.md", b"# Nieuw\n\nTekst.\n").replaced
    assert not [p for p in settings.corpus_dir.iterdir() if p.name.startswith(".")]


def test_save_upload_refuses_oversized_and_mistyped_files(settings: Settings) -> None:
    small = settings.model_copy(update={"upload_max_mb": 0.01})
    with pytest.raises(desk.UploadError, match="over the upload limit of 0.01 MiB"):
        desk.save_upload(small, "groot.md", b"a" * 20000)
    with pytest.raises(desk.UploadError, match="'nep.pdf' was refused: the file is not a PDF"):
        desk.save_upload(settings, "nep.pdf", b"Dit is gewone tekst.")
    assert not (settings.corpus_dir / "groot.md").exists()
    assert not (settings.corpus_dir / "nep.pdf").exists()


def test_errors_never_name_a_server_path(settings: Settings) -> None:
    for name, data in [("x.pdf", b"nope"), ("../y.md", b"\x00"), (".z.md", b"z")]:
        with pytest.raises(desk.UploadError) as info:
            desk.save_upload(settings, name, data)
        assert str(settings.corpus_dir) not in str(info.value)
        assert "/" not in str(info.value).replace("../", "")


def test_corpus_table_combines_manifest_failures_and_files_on_disk(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    (settings.corpus_dir / "kapot.pdf").write_bytes(b"%PDF-1.4 broken")
    build_index(settings, fake_embedder)
    (settings.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nTekst.\n")
    (settings.corpus_dir / "shared-goal.md").unlink()
    rows = {r[0]: r for r in desk.corpus_rows(settings)}
    assert rows["vertrouwen.md"][1:5] == ["Vertrouwen tussen partners", "nl", "md", 2]
    assert rows["vertrouwen.md"][6] == "indexed"
    assert rows["vertrouwen.md"][5]
    assert rows["kapot.pdf"][6].startswith("not indexed: corrupt or unreadable PDF")
    assert rows["nieuw.md"][6] == "not indexed yet; start a re-index"
    assert rows["shared-goal.md"][6].startswith("removed from the corpus")
    assert "README.md" not in rows
    assert len(rows[next(iter(rows))]) == len(desk.CORPUS_COLUMNS)


def test_remove_document_deletes_only_listed_corpus_files(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "buiten.md"
    outside.write_text("# Buiten\n")
    assert "re-index" in desk.remove_document(settings, "vertrouwen.md")
    assert not (settings.corpus_dir / "vertrouwen.md").exists()
    for bad in ["../buiten.md", str(outside), "README.md", "bestaat-niet.md"]:
        with pytest.raises(desk.UploadError, match="is not a file in the corpus"):
            desk.remove_document(settings, bad)
    assert outside.exists()


def test_child_processes_get_the_same_settings(settings: Settings) -> None:
    env = desk.settings_env(settings.model_copy(update={"admin_password": "s3cret"}))
    assert env["ADVISOR_CORPUS_DIR"] == str(settings.corpus_dir.resolve())
    assert env["ADVISOR_REFUSAL_THRESHOLD"] == "0.2"
    assert env["ADVISOR_CHUNK_SIZE"] == "400"
    assert "ADVISOR_ADMIN_PASSWORD" not in env
    import subprocess
    import sys

    code = "from advisor.core.settings import load_settings; s = load_settings(); print(s.chunk_size, s.refusal_threshold, s.corpus_dir)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["400", "0.2", str(settings.corpus_dir.resolve())]


def test_scrub_paths_hides_server_paths(settings: Settings) -> None:
    msg = f"error: corpus folder '{settings.corpus_dir.resolve()}' does not exist; see /var/log/x.log"
    out = desk.scrub_paths(msg, settings)
    assert out == "error: corpus folder 'corpus' does not exist; see <path>"


def test_index_summary_names_failed_files_in_plain_words() -> None:
    text = desk.index_summary(
        {"build_id": "b1", "documents": 3, "chunks": 9, "added": ["a.md"], "changed": [], "removed": [], "failed": [{"source": "x.pdf", "reason": "encrypted PDF: a password is required to read it"}]}
    )
    assert text.startswith("Build b1 is now current: 3 documents, 9 chunks (added 1, changed 0, removed 0).")
    assert "- x.pdf: encrypted PDF: a password is required to read it" in text
    assert desk.index_summary({"noop": True, "build_id": "b1"}).startswith("The index is up to date")


def test_eval_table_puts_the_two_newest_reports_side_by_side(settings: Settings) -> None:
    folder = settings.index_dir / "eval"
    folder.mkdir(parents=True)
    for stamp, recall in [("20260101-000000", 0.5), ("20260102-000000", 0.75), ("20260103-000000", 0.8)]:
        (folder / f"eval-{stamp}.json").write_text(json.dumps({"metrics": {"questions": 40.0, "recall@5": recall, "mrr": recall / 2}}))
    (folder / "eval-broken.json").write_text("{not json")
    reports = desk.eval_reports(settings)
    assert [name for name, _ in reports] == ["eval-20260103-000000.json", "eval-20260102-000000.json"]
    headers, rows = desk.eval_table(reports)
    assert headers == ["Metric", "20260103-000000", "20260102-000000", "Change"]
    assert rows[0] == ["questions", 40, 40, "+0.000"]
    assert ["recall@5", 0.8, 0.75, "+0.050"] in rows
    assert desk.eval_table(reports[:1])[0] == ["Metric", "20260103-000000"]


def test_feedback_is_appended_as_json_lines_and_read_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "nieuw" / "map" / "feedback.jsonl"
    answer = {"answer": "Tekst [1]", "citations": [{"n": 1, "source": "a.md", "title": "A", "section": "S", "page": None, "text": "lang"}]}
    append_feedback(path, "Vraag één?", answer, "helpful", "  goed  ")
    append_feedback(path, "Vraag twee?", answer, "not helpful")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(lines[0]) == {"time", "question", "answer", "citations", "rating", "comment"}
    assert lines[0]["comment"] == "goed"
    assert lines[0]["citations"][0] == {"n": 1, "source": "a.md", "title": "A", "section": "S", "page": None}
    assert [r["question"] for r in read_feedback(path)] == ["Vraag twee?", "Vraag één?"]
    with pytest.raises(ValueError, match="rating"):
        append_feedback(path, "q", answer, "meh")
    assert read_feedback(tmp_path / "geen.jsonl") == []
