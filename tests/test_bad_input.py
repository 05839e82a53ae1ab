"""A bad-input suite: 30+ broken, hostile or odd files mixed with good ones.

Every good file is indexed; every bad file gets one specific error naming its relative path and
the reason; no message carries an absolute path; each file is read within a time and memory bound.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.index.layout import load_build_chunks
from advisor.ingest.loaders import LoadError, load_file
from advisor.tools.authoring import markdown_to_docx, markdown_to_pdf

GOOD_MD = "# Goed document {i}\n\n## Kern\n\nPartners die afspraken nakomen bouwen vertrouwen op, document {i}.\n"


def _pdf_bytes(tmp: Path, text: str = "# Titel\n\n## Deel\n\nGewone tekst over samenwerking.\n") -> bytes:
    markdown_to_pdf(text, tmp / "src.pdf")
    return (tmp / "src.pdf").read_bytes()


def _encrypted_pdf(tmp: Path, algorithm: str, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(_pdf_bytes(tmp))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner-pw", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _pdf_bomb() -> bytes:
    """A valid PDF whose one content stream inflates to ~400 MB of text-showing operators."""
    payload = zlib.compress(b"(A) Tj " * (400 * 1024 * 1024 // 7), 9)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(payload) + payload + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def make_bad_corpus(root: Path, tmp: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write the mixed corpus; return (bad file -> expected reason fragment, good file -> a phrase it holds)."""
    rng = random.Random(7)
    root.mkdir(parents=True)
    good: dict[str, str] = {}
    for i in range(6):
        (root / f"goed-{i}.md").write_text(GOOD_MD.format(i=i))
        good[f"goed-{i}.md"] = f"document {i}"
    markdown_to_pdf("# Goede PDF\n\n## Deel\n\nEen echte pdf over ketensamenwerking.\n", root / "goed.pdf")
    good["goed.pdf"] = "ketensamenwerking"
    markdown_to_docx("# Goede docx\n\n## Deel\n\nEen echt Word-document over netwerkleiderschap.\n", root / "goed.docx")
    good["goed.docx"] = "netwerkleiderschap"
    (root / "verborgen.html").write_text(
        "<html><head><title>Zichtbaar</title><script>alert('SCRIPT-CANARY')</script><style>p{}</style></head><body>"
        "<h1>Zichtbaar</h1><p>Zicht\u200bbare tekst over alli\u200dantie\ufeffmanagement.</p>"
        "<p style='display:none'>HIDDEN-CANARY</p><span hidden>HIDDEN-CANARY-2</span>"
        "<div aria-hidden='true'>HIDDEN-CANARY-3</div></body></html>"
    )
    good["verborgen.html"] = "Zichtbare tekst over alliantiemanagement."
    (root / "lange-regel.txt").write_text("Lange regel\n" + " ".join(["samenwerking vraagt geduld"] * 20000))
    good["lange-regel.txt"] = "samenwerking vraagt geduld"
    (root / "a b (1) naïve.md").write_text("# Rare naam\n\nDit bestand heeft een vreemde naam maar gewone inhoud.\n")
    good["a b (1) naïve.md"] = "vreemde naam"
    (root / "%2E%2E%2Fetc%2Fpasswd.md").write_text("# Padachtig\n\nEen bestandsnaam die op een pad lijkt.\n")
    good["%2E%2E%2Fetc%2Fpasswd.md"] = "op een pad lijkt"

    pdf = _pdf_bytes(tmp)
    bad: dict[str, bytes | None] = {
        "leeg.pdf": b"",
        "leeg.md": b"",
        "leeg.docx": b"",
        "afgekapt.pdf": pdf[: len(pdf) // 3],
        "rommel.pdf": bytes(rng.getrandbits(8) for _ in range(5000)),
        "alleen-kop.pdf": b"%PDF-1.7\n",
        "geen-tekst.pdf": None,  # filled below: a blank page
        "versleuteld-rc4.pdf": _encrypted_pdf(tmp, "RC4-128", "geheim"),
        "versleuteld-aes.pdf": _encrypted_pdf(tmp, "AES-256", "geheim"),
        "bom.pdf": _pdf_bomb(),
        "binair.md": bytes(rng.getrandbits(8) for _ in range(3000)) + b"\x00",
        "ongeldig-utf8.md": b"# Titel\n\nCaf\xe9 met \xff\xfe ongeldige bytes.\n",
        "ongeldig-utf8.txt": "Tekst in latin-1: één café".encode("latin-1"),
        "utf16.txt": "Tekst in UTF-16".encode("utf-16"),
        "alleen-script.html": b"<html><head><script>var a = 1;</script></head><body><script>x()</script></body></html>",
        "alleen-witruimte.md": "\u200b\u200b  \n\n\ufeff \t\n".encode(),
        "alleen-koppen.md": b"# Titel\n\n## Kop\n\n### Nog een kop\n",
        "rommel.docx": _zip({"junk.bin": bytes(rng.getrandbits(8) for _ in range(2000))}),
        "nep.docx": b"PK\x03\x04 this is no zip at all",
        "kapotte-xml.docx": _zip({"[Content_Types].xml": b"<Types", "word/document.xml": b"<w:document><w:body><w:p"}),
        "zipbom.docx": None,  # written below, streamed
        "tabel.xlsx": b"PK\x03\x04 spreadsheet",
        "programma.exe": b"MZ\x90\x00",
        "zonder-extensie": b"just text",
        "afbeelding.png": b"\x89PNG\r\n\x1a\n",
        "enorm.txt": None,  # sparse file over the size limit
        "te-veel-tekst.txt": b"x" * 10,  # replaced below by text over the character limit
        "link-naar-buiten.md": None,  # a symlink to a file outside the corpus
        "html-met-nul.html": b"<html><body><p>tekst\x00 met nul</p></body></html>",
        "kapot-utf8.html": b"<html><body><h1>Titel</h1><p>\xc3\x28 ongeldig</p></body></html>",
    }
    expected: dict[str, str] = {
        "leeg.pdf": "empty file (0 bytes)",
        "leeg.md": "empty file (0 bytes)",
        "leeg.docx": "empty file (0 bytes)",
        "afgekapt.pdf": "PDF",
        "rommel.pdf": "corrupt or unreadable PDF",
        "alleen-kop.pdf": "corrupt or unreadable PDF",
        "geen-tekst.pdf": "no extractable text",
        "versleuteld-rc4.pdf": "password is required",
        "versleuteld-aes.pdf": "password is required",
        "bom.pdf": "decompression bomb",
        "binair.md": "binary content",
        "ongeldig-utf8.md": "not valid UTF-8",
        "ongeldig-utf8.txt": "not valid UTF-8",
        "utf16.txt": "UTF-16",
        "alleen-script.html": "no text found",
        "alleen-witruimte.md": "no text found",
        "alleen-koppen.md": "no text found",
        "rommel.docx": "no word/document.xml",
        "nep.docx": "not a valid DOCX",
        "kapotte-xml.docx": "corrupt DOCX",
        "zipbom.docx": "zip bomb",
        "tabel.xlsx": "unsupported file type '.xlsx'",
        "programma.exe": "unsupported file type '.exe'",
        "zonder-extensie": "unsupported file type '(none)'",
        "afbeelding.png": "unsupported file type '.png'",
        "enorm.txt": "over the limit",
        "te-veel-tekst.txt": "exceeds the limit",
        "link-naar-buiten.md": "symbolic link pointing outside the corpus",
        "link-naar-niets.md": "symbolic link to a file that does not exist",
        "pijp.md": "not a regular file",
        "html-met-nul.html": "binary content",
        "kapot-utf8.html": "not valid UTF-8",
        "sub/dir/diep-leeg.md": "empty file (0 bytes)",
    }
    for name, data in bad.items():
        if data is not None:
            (root / name).write_bytes(data)
    # a zip bomb: a small DOCX whose document.xml inflates past the limit
    with zipfile.ZipFile(root / "zipbom.docx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<x/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"a" * (1 << 20)
            for _ in range(1100):
                f.write(chunk)
    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    blank.output(str(root / "geen-tekst.pdf"))
    with (root / "enorm.txt").open("wb") as f:
        f.truncate(60 * 1024 * 1024)
    (root / "te-veel-tekst.txt").write_text("Titel\n" + ("woord " * 1_000_000))
    outside = tmp / "outside-secret.md"
    outside.write_text("# Geheim\n\nDit staat buiten de kennisbank.\n")
    os.symlink(outside, root / "link-naar-buiten.md")
    os.symlink(root / "bestaat-niet.md", root / "link-naar-niets.md")  # dangling, inside the corpus
    os.mkfifo(root / "pijp.md")  # reading it would block the build
    (root / "sub" / "dir").mkdir(parents=True)
    (root / "sub" / "dir" / "diep-leeg.md").write_bytes(b"")
    (root / ".verborgen.md").write_text("# Verborgen\n\nHidden files are not indexed.\n")
    return expected, good


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import FakeEmbedder

    tmp = tmp_path_factory.mktemp("bad")
    root = tmp / "corpus"
    expected, good = make_bad_corpus(root, tmp)
    settings = Settings(corpus_dir=root, index_dir=tmp / "index", load_timeout=20, load_memory_mb=1024)
    t0 = time.perf_counter()
    report = build_index(settings, FakeEmbedder())
    return settings, report, expected, good, time.perf_counter() - t0, tmp


def test_suite_has_at_least_30_bad_files(bad_run) -> None:  # type: ignore[no-untyped-def]
    _, _, expected, _, _, _ = bad_run
    assert len(expected) >= 30


def test_every_good_file_is_indexed(bad_run) -> None:  # type: ignore[no-untyped-def]
    settings, report, _, good, _, _ = bad_run
    chunks = load_build_chunks(Path(settings.index_dir), report.build_id)
    text_by_source: dict[str, str] = {}
    for c in chunks:
        text_by_source[c.source] = text_by_source.get(c.source, "") + " " + c.text
    assert set(good) <= set(text_by_source)
    for source, phrase in good.items():
        assert phrase in text_by_source[source], source


def test_every_bad_file_gets_one_specific_error(bad_run) -> None:  # type: ignore[no-untyped-def]
    _, report, expected, _, _, _ = bad_run
    failed: dict[str, list[str]] = {}
    for f in report.failed:
        failed.setdefault(f.source, []).append(f.reason)
    assert set(failed) == set(expected)
    for source, reasons in failed.items():
        assert len(reasons) == 1, source
        assert expected[source] in reasons[0], (source, reasons[0])


def test_no_message_carries_an_absolute_path(bad_run) -> None:  # type: ignore[no-untyped-def]
    settings, report, _, _, _, tmp = bad_run
    blob = json.dumps(report.to_json())
    assert str(tmp) not in blob
    assert "/tmp/" not in blob
    for f in report.failed:
        assert not f.source.startswith("/")


def test_hidden_script_and_zero_width_text_never_reach_the_index(bad_run) -> None:  # type: ignore[no-untyped-def]
    settings, report, _, _, _, _ = bad_run
    text = " ".join(c.text for c in load_build_chunks(Path(settings.index_dir), report.build_id))
    for canary in ("SCRIPT-CANARY", "HIDDEN-CANARY", "\u200b", "\u200d", "\ufeff", "buiten de kennisbank", "Hidden files"):
        assert canary not in text


def test_the_whole_bad_corpus_indexes_within_a_bound(bad_run) -> None:  # type: ignore[no-untyped-def]
    settings, report, expected, good, seconds, tmp = bad_run
    assert seconds < 120
    out = Path(os.environ.get("RELIABILITY_OUT_BAD", tmp / "bad-input.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "files_tried": len(expected) + len(good), "bad_files": len(expected), "good_files": len(good),
        "good_indexed": report.documents, "errors_reported": len(report.failed), "seconds": round(seconds, 1),
        "reasons": {f.source: f.reason for f in report.failed},
    }, indent=1, ensure_ascii=False))


def slow_loader(path: Path, source: str) -> None:
    """A reader stuck in a loop (imported by the worker process)."""
    time.sleep(60)


def test_a_file_that_explodes_is_cut_off_by_the_memory_bound(tmp_path: Path) -> None:
    from advisor.ingest.sandbox import GuardedLoader

    (tmp_path / "bom.pdf").write_bytes(_pdf_bomb())
    with GuardedLoader(timeout=20, memory_mb=300) as guard:
        t0 = time.perf_counter()
        with pytest.raises(LoadError) as err:
            guard.load(tmp_path / "bom.pdf", "bom.pdf")
        assert time.perf_counter() - t0 < 25
    assert str(tmp_path) not in str(err.value)


def test_a_reader_that_hangs_is_killed_at_the_time_bound_and_the_next_file_loads(tmp_path: Path) -> None:
    from advisor.ingest.sandbox import GuardedLoader

    (tmp_path / "ok.md").write_text("# Titel\n\nGewone tekst over samenwerking.\n")
    with GuardedLoader(timeout=2, target="tests.test_bad_input:slow_loader") as guard:
        t0 = time.perf_counter()
        with pytest.raises(LoadError, match="longer than 2 s"):
            guard.load(tmp_path / "ok.md", "ok.md")
        assert time.perf_counter() - t0 < 10
    with GuardedLoader(timeout=20) as guard:
        assert guard.load(tmp_path / "ok.md", "ok.md").title == "Titel"


def test_aes_pdf_without_the_aes_dependency_gets_a_clear_reason(tmp_path: Path) -> None:
    (tmp_path / "aes.pdf").write_bytes(_encrypted_pdf(tmp_path, "AES-256", ""))
    # with the dependency: an empty user password opens it
    doc = load_file(tmp_path / "aes.pdf", "aes.pdf")
    assert "samenwerking" in doc.pieces[0].text
    # without it (import blocked in a fresh interpreter): a specific reason
    code = (
        "import sys; sys.modules['cryptography'] = None\n"
        "from pathlib import Path\nfrom advisor.ingest.loaders import load_file, LoadError\n"
        f"try:\n    load_file(Path({str(tmp_path / 'aes.pdf')!r}), 'aes.pdf')\nexcept LoadError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "AES" in out.stdout and "cryptography" in out.stdout, out.stdout + out.stderr
