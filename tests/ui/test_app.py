"""The launched app, driven like its users drive it: gradio_client for the UI's events, httpx for the API."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from advisor.index.layout import index_lock
from tests.ui.conftest import EVIL, PASSWORD, TRACKER, LiveApp, wait_for


def _html(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _text(message: dict[str, Any]) -> str:
    """A chat message's visible text (the chat shows sanitized HTML)."""
    return html.unescape(re.sub(r"<[^>]+>", "", _html(message))).strip()


def ask(client: Client, question: str) -> dict[str, Any]:
    """One question in the client's session; the server holds the conversation."""
    chat_out, box, sources, copy_md, note = client.predict(question, api_name="/ask")
    return {"chat": chat_out, "box": box, "sources": sources, "copy": copy_md, "note": note, "answer": _text(chat_out[-1]), "html": _html(chat_out[-1])}


def unlock(client: Client) -> tuple[Any, ...]:
    """Log in; returns (note, timer, corpus table, remove choices, eval table, feedback table, password box, token).

    The token goes along as the desk cookie, as the browser sets it: uploads need it.
    """
    out = client.predict(PASSWORD, api_name="/desk_unlock")
    client.cookies["advisor_desk"] = out[-1]
    client.desk_token = out[-1]  # type: ignore[attr-defined]
    return out


def desk_status(client: Client) -> dict[str, str]:
    return client.predict(client.desk_token, api_name="/desk_status")  # type: ignore[attr-defined]


def assert_no_server_path(text: str, live: LiveApp) -> None:
    for path in (live.settings.corpus_dir, live.settings.index_dir, Path(live.settings.corpus_dir).resolve().parent):
        assert str(path) not in text


# ---------------------------------------------------------------- JSON API


def test_health_names_the_current_build(live: LiveApp) -> None:
    data = httpx.get(live.url + "api/health").json()
    assert data["status"] == "ok"
    assert data["building"] is False
    assert data["documents"] == 6
    assert data["chunks"] > 6
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", data["build"])


def test_api_ask_returns_the_answer_json(live: LiveApp) -> None:
    res = httpx.post(live.url + "api/ask", json={"question": "Hoe groeit vertrouwen tussen partners?"}, timeout=30)
    assert res.status_code == 200
    data = res.json()
    assert {"answer", "refused", "language", "citations", "suggestions"} <= set(data)
    assert data["refused"] is False
    assert data["language"] == "nl"
    c = data["citations"][0]
    assert {"n", "source", "title", "section", "page", "text"} <= set(c)
    assert c["n"] == 1
    assert c["source"] == "vertrouwen.md"
    assert c["section"] == "Hoe vertrouwen groeit"
    assert_no_server_path(res.text, live)


def test_api_ask_follows_up_with_history_and_refuses_what_the_corpus_lacks(live: LiveApp) -> None:
    history = [{"role": "user", "content": "Hoe groeit vertrouwen tussen partners?"}, {"role": "assistant", "content": "..."}]
    data = httpx.post(live.url + "api/ask", json={"question": "En wat schaadt het?", "history": history}, timeout=30).json()
    assert data["refused"] is False
    assert data["citations"][0]["source"] == "vertrouwen.md"
    data = httpx.post(live.url + "api/ask", json={"question": "And why?", "history": ["Why does a shared goal matter for an alliance?"]}, timeout=30).json()
    assert data["language"] == "en"
    data = httpx.post(live.url + "api/ask", json={"question": "What is the best pizza topping with pineapple?"}, timeout=30).json()
    assert data["refused"] is True
    assert data["language"] == "en"
    assert data["citations"] == []
    assert data["suggestions"] == []  # plainly unrelated: no topics offered
    # near the corpus (it shares "partners") but not covered: the nearest topics are offered
    data = httpx.post(live.url + "api/ask", json={"question": "Which tax rate applies to pizza, pasta, wine and coffee bought by partners?"}, timeout=30).json()
    assert data["refused"] is True and data["citations"] == []
    assert data["suggestions"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "'question' is missing"),
        ({"question": ""}, "'question' is empty"),
        ({"question": "   "}, "'question' is empty"),
        ({"question": 42}, "'question' must be a string"),
        ({"question": "x" * 2001}, "longer than 2000"),
        ({"question": "Wat?", "history": "nee"}, "'history' must be a list"),
        ({"question": "Wat?", "history": [{"role": "user"}]}, "each 'history' item"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_api_ask_rejects_a_bad_request_with_a_clear_400(live: LiveApp, body: Any, message: str) -> None:
    res = httpx.post(live.url + "api/ask", json=body)
    assert res.status_code == 400
    assert message in res.json()["error"]


def test_api_ask_rejects_invalid_json(live: LiveApp) -> None:
    res = httpx.post(live.url + "api/ask", content=b"{nope", headers={"content-type": "application/json"})
    assert res.status_code == 400
    assert res.json() == {"error": "the body is not valid JSON"}
    res = httpx.post(live.url + "api/ask")
    assert res.status_code == 400
    assert "must be a JSON object" in res.json()["error"]


# ---------------------------------------------------------------- the chat, through Gradio's API


def test_answer_streams_in_steps_and_ends_with_linked_citations_and_sources(client: Client) -> None:
    job = client.submit("Hoe groeit vertrouwen tussen partners?", api_name="/ask")
    job.result(timeout=60)
    texts = [_text(out[0][-1]) for out in job.outputs() if out[0]]
    assert len(texts) >= 3  # the placeholder, partial answers, the final answer
    final = texts[-1]
    assert final and "[1]" in final
    assert 'href="#src-0-1"' in _html(job.outputs()[-1][0][-1])
    chat, box, sources, copy_md, _ = job.outputs()[-1]
    assert box == ""
    assert 'id="src-0-1"' in sources
    assert "<mark>" in sources
    assert "vertrouwen.md" in sources
    assert "[1]" in copy_md.split("**Bronnen**")[0]
    assert "**Bronnen**" in copy_md
    assert "[1] Vertrouwen tussen partners" in copy_md


def test_follow_up_question_uses_the_chat_history(client: Client) -> None:
    first = ask(client, "Hoe groeit vertrouwen tussen partners?")
    assert len(first["chat"]) == 2
    follow = ask(client, "En wat schaadt het?")
    assert len(follow["chat"]) == 4
    assert 'id="src-1-1"' in follow["sources"]
    assert "Wat vertrouwen schaadt" in follow["sources"]
    assert 'id="src-0-1"' in follow["sources"]  # the first answer's passages stay reachable


def test_english_question_gets_an_english_answer_and_panel(client: Client) -> None:
    out = ask(client, "Why does a shared goal matter for an alliance?")
    assert "<h3 class=\"src-title\">Sources</h3>" in out["sources"]
    assert "shared-goal.md" in out["sources"]


def test_refusal_names_the_nearest_topics(client: Client) -> None:
    out = ask(client, "Welke pizza smaakt het best met ananas en ham?")
    assert "src-card" not in out["sources"]
    assert "Geen bron behandelt deze vraag" in out["sources"]


def test_empty_question_changes_nothing(client: Client) -> None:
    chat, box, *_ = client.predict("   ", api_name="/ask")
    assert not isinstance(chat, list) or chat == []  # the chat is left as it was: empty
    assert box == ""


def test_document_viewer_opens_the_cited_pdf_page(client: Client) -> None:
    html = client.predict("governance.pdf", 3, "Netwerkadministratieorganisatie", api_name="/document")
    assert "Governance van netwerken" in html
    assert 'id="doc-target"' in html
    assert "Pagina 3" in html


@pytest.mark.parametrize("source", ["../../etc/passwd", "/etc/passwd", "../index/CURRENT", "..\\..\\etc\\passwd", ".lock", "README.md"])
def test_document_viewer_refuses_files_outside_the_indexed_corpus(client: Client, live: LiveApp, source: str) -> None:
    html = client.predict(source, None, "", api_name="/document")
    assert "doc-error" in html
    assert "root:" not in html
    assert_no_server_path(html, live)


def test_document_viewer_refuses_an_absolute_path_naming_only_the_file(client: Client, live: LiveApp) -> None:
    secret = Path(live.settings.index_dir).resolve() / "CURRENT"
    html = client.predict(str(secret), None, "", api_name="/document")
    assert "&#x27;CURRENT&#x27;" in html
    assert_no_server_path(html, live)


def test_gradio_serves_no_file_outside_its_cache(live: LiveApp) -> None:
    corpus_file = Path(live.settings.corpus_dir).resolve() / "vertrouwen.md"
    for path in (corpus_file, Path("/etc/passwd"), Path(live.settings.index_dir).resolve() / "CURRENT"):
        res = httpx.get(f"{live.url}gradio_api/file={path}")
        assert res.status_code in (403, 404)
        assert "Vertrouwen" not in res.text
        assert "root:" not in res.text


def test_pages_and_config_name_no_server_path(live: LiveApp) -> None:
    for route in ("", "config", "gradio_api/info", "api/health"):
        res = httpx.get(live.url + route)
        assert res.status_code == 200, route
        assert_no_server_path(res.text, live)
        assert str(Path.cwd()) not in res.text or str(Path.cwd()) == "/", route


def test_a_documents_external_image_is_never_rendered_as_an_image(client: Client, live: LiveApp) -> None:
    out = ask(client, "Wat legt een alliantiecharter vast en hoe besluit de stuurgroep?")
    assert "charter.txt" in out["sources"]
    rendered = [out["html"], out["sources"], out["copy"], client.predict("charter.txt", None, "", api_name="/document")]
    for text in rendered:
        assert TRACKER not in text
        assert "tracker.example" not in text
        assert "![" not in text
        assert not re.search(r"<img|<[^>]*\s(?:src|srcset)=", text, re.I)
        assert all(h.startswith("#src-") for h in re.findall(r"href=['\"]?([^'\" >]*)", text, re.I))  # only citation anchors
        assert f"]({EVIL}" not in text
    assert "logo van de partner" in out["sources"]
    api = httpx.post(live.url + "api/ask", json={"question": "Wat legt een alliantiecharter vast?"}, timeout=30).json()
    assert api["citations"][0]["source"] == "charter.txt"  # the API returns the source text as it is, as data


def test_feedback_is_appended_as_a_json_line(client: Client, live: LiveApp) -> None:
    ask(client, "Hoe groeit vertrouwen tussen partners?")
    comment, note = client.predict("Duidelijk, met bronnen.", api_name="/feedback_helpful")
    assert comment == ""
    assert "Dank" in note
    _, again = client.predict("", api_name="/feedback_not_helpful")
    assert "al beoordeeld" in again  # one rating per answer
    ask(client, "En wat schaadt het?")
    client.predict("", api_name="/feedback_not_helpful")
    lines = [json.loads(line) for line in Path(live.settings.feedback_path).read_text().splitlines()]
    first, second = lines[-2], lines[-1]
    assert set(first) == {"time", "question", "answer", "citations", "rating", "comment"}
    assert first["question"] == "Hoe groeit vertrouwen tussen partners?"
    assert first["rating"] == "helpful"
    assert first["comment"] == "Duidelijk, met bronnen."
    assert first["citations"][0]["source"] == "vertrouwen.md"
    assert second["rating"] == "not helpful"
    assert second["comment"] == ""


def test_feedback_before_any_question_is_not_stored(client: Client) -> None:
    _, note = client.predict("x", api_name="/feedback_helpful")
    assert "Stel eerst een vraag" in note


def test_conversation_exports_as_a_markdown_file(client: Client) -> None:
    ask(client, "Hoe groeit vertrouwen tussen partners?")
    ask(client, "En wat schaadt het?")
    update = client.predict(api_name="/export")
    assert update["visible"] is True
    path = update["value"]
    text = Path(path).read_text(encoding="utf-8")
    assert Path(path).suffix == ".md"
    assert text.startswith("# Gesprek met de Alliantie-adviseur")
    assert "## Vraag 1\n\nHoe groeit vertrouwen tussen partners?" in text
    assert "## Vraag 2\n\nEn wat schaadt het?" in text
    assert "**Bronnen**" in text
    assert "(vertrouwen.md)" in text


# ---------------------------------------------------------------- the maintainer's desk


def test_desk_does_nothing_before_the_password(client: Client, live: LiveApp, tmp_path: Path) -> None:
    doc = tmp_path / "sluiproute.md"
    doc.write_text("# Sluiproute\n\nTekst.\n")
    with pytest.raises(Exception, match="403|Forbidden|maintainer"):  # Gradio's upload route refuses it
        client.predict([handle_file(str(doc))], api_name="/desk_upload")
    with pytest.raises(AppError, match="Log in first"):
        client.predict(api_name="/desk_reindex")
    with pytest.raises(AppError, match="Log in first"):
        client.predict("fout", api_name="/desk_status")
    out = client.predict("fout", api_name="/desk_unlock")
    assert "Wrong password" in out[0]
    with pytest.raises(AppError, match="Log in first"):
        client.predict("vertrouwen.md", api_name="/desk_remove")
    assert not (Path(live.settings.corpus_dir) / "sluiproute.md").exists()
    assert (Path(live.settings.corpus_dir) / "vertrouwen.md").exists()


def test_desk_shows_corpus_eval_reports_and_feedback_after_unlock(client: Client, live: LiveApp) -> None:
    folder = Path(live.settings.index_dir) / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eval-20200101-000000.json").write_text(json.dumps({"metrics": {"questions": 3.0, "recall@5": 0.5}}))
    (folder / "eval-20200102-000000.json").write_text(json.dumps({"metrics": {"questions": 3.0, "recall@5": 0.75}}))
    _, _, corpus, _, evals, _, _, _ = unlock(client)
    rows = {r[0]: r for r in corpus["data"]}
    assert rows["governance.pdf"][1] == "Governance van netwerken"
    assert rows["governance.pdf"][6] == "indexed"
    assert corpus["headers"][:2] == ["File", "Title"]
    assert evals["headers"][-1] == "Change"
    assert ["recall@5", 0.75, 0.5, "+0.250"] in evals["data"]
    feedback = client.predict(api_name="/desk_feedback")
    assert feedback["headers"] == ["Time", "Rating", "Question", "Comment", "Answer"]


def test_upload_and_reindex_make_a_new_document_answerable(client: Client, live: LiveApp, tmp_path: Path) -> None:
    unlock(client)
    doc = tmp_path / "Exit strategie (v1).md"
    doc.write_text("# Exitstrategie\n\n## Uitstappen\n\nEen goede exitregeling beschrijft hoe partners de alliantie beëindigen en bezittingen verdelen.\n", encoding="utf-8")
    note, corpus, _, _ = client.predict([handle_file(str(doc))], api_name="/desk_upload")
    assert "Exit-strategie-v1.md: added" in note
    assert "re-index" in note
    assert ["Exit-strategie-v1.md", "not indexed yet; start a re-index"] == [r for r in corpus["data"] if r[0] == "Exit-strategie-v1.md"][0][::6]
    before = httpx.get(live.url + "api/health").json()["build"]
    assert client.predict(api_name="/desk_reindex") == "Re-index started."
    status = wait_for(lambda: (s := desk_status(client))["index"].startswith("Build") and s, timeout=60)
    assert "is now current: 7 documents" in status["index"]
    health = httpx.get(live.url + "api/health").json()
    assert health["build"] != before
    assert health["documents"] == 7
    out = ask(client, "Hoe regel je de exit en het verdelen van bezittingen?")
    assert "Exit-strategie-v1.md" in out["sources"]
    assert_no_server_path(status["index"], live)


def test_reindex_reports_a_broken_file_in_plain_words(client: Client, live: LiveApp) -> None:
    unlock(client)
    (Path(live.settings.corpus_dir) / "kapot.docx").write_bytes(b"PK\x03\x04 not a real docx")
    client.predict(api_name="/desk_reindex")
    status = wait_for(lambda: (s := desk_status(client))["index"].startswith("Build") and s, timeout=60)
    assert "1 file(s) could not be indexed" in status["index"]
    assert "- kapot.docx: " in status["index"]
    assert_no_server_path(status["index"], live)
    (Path(live.settings.corpus_dir) / "kapot.docx").unlink()


def test_oversized_upload_is_refused(client: Client, live: LiveApp, tmp_path: Path) -> None:
    unlock(client)
    big = tmp_path / "groot.md"
    big.write_text("# Groot\n\n" + "Tekst over allianties. " * 4000)  # ~90 KB, the limit is 0.05 MiB
    with pytest.raises(Exception, match="(?i)too large|size|413|exceeds"):
        client.predict([handle_file(str(big))], api_name="/desk_upload")
    assert not (Path(live.settings.corpus_dir) / "groot.md").exists()


def test_upload_with_the_wrong_content_type_is_refused(client: Client, live: LiveApp, tmp_path: Path) -> None:
    unlock(client)
    fake_pdf = tmp_path / "rapport.pdf"
    fake_pdf.write_text("Dit is geen PDF maar gewone tekst.")
    binary_md = tmp_path / "binair.md"
    binary_md.write_bytes(b"# Kop\x00\x01\x02")
    note, *_ = client.predict([handle_file(str(fake_pdf)), handle_file(str(binary_md))], api_name="/desk_upload")
    assert "refused: 'rapport.pdf' was refused: the file is not a PDF (it does not start with %PDF)" in note
    assert "refused: 'binair.md' was refused: the file is not text (it contains NUL bytes)" in note
    assert "re-index" not in note
    assert not (Path(live.settings.corpus_dir) / "rapport.pdf").exists()
    assert not (Path(live.settings.corpus_dir) / "binair.md").exists()


def test_upload_with_a_path_traversal_name_lands_in_the_corpus_or_nowhere(client: Client, live: LiveApp) -> None:
    unlock(client)
    # Straight at Gradio's upload route, as a hand-made request would come.
    files = {"files": ("../../etc/passwd.md", b"# Passwd\n\nGeen geheim hier.\n", "text/markdown")}
    res = httpx.post(live.url + "gradio_api/upload", files=files, cookies={"advisor_desk": client.desk_token})  # type: ignore[attr-defined]
    assert res.status_code == 200
    server_path = Path(res.json()[0])
    assert ".." not in server_path.parts
    note, *_ = client.predict([handle_file(str(server_path))], api_name="/desk_upload")
    assert "passwd.md: added" in note
    corpus = Path(live.settings.corpus_dir).resolve()
    assert (corpus / "passwd.md").exists()
    assert not (corpus.parent / "etc").exists()
    assert not (corpus.parent.parent / "etc" / "passwd.md").exists()
    (corpus / "passwd.md").unlink()


def test_remove_takes_a_document_out_of_the_corpus(client: Client, live: LiveApp, tmp_path: Path) -> None:
    unlock(client)
    doc = tmp_path / "tijdelijk.md"
    doc.write_text("# Tijdelijk\n\nTekst.\n")
    client.predict([handle_file(str(doc))], api_name="/desk_upload")
    note, corpus, _ = client.predict("tijdelijk.md", api_name="/desk_remove")
    assert "'tijdelijk.md' was removed" in note
    assert "re-index" in note
    assert not (Path(live.settings.corpus_dir) / "tijdelijk.md").exists()
    assert "tijdelijk.md" not in [r[0] for r in corpus["data"]]
    for outside in ("../conftest.py", str(Path(live.settings.index_dir).resolve() / "CURRENT")):
        note, _, _ = client.predict(outside, api_name="/desk_remove")
        assert "is not a file in the corpus" in note
        assert_no_server_path(note, live)
    assert (Path(live.settings.index_dir) / "CURRENT").exists()


def test_evaluation_runs_in_its_own_process_and_its_report_appears(client: Client, live: LiveApp) -> None:
    unlock(client)
    assert client.predict(api_name="/desk_eval") == "Evaluation started."
    wait_for(lambda: desk_status(client)["eval"] == "Evaluation finished.", timeout=60)
    evals = unlock(client)[4]
    assert ["mrr", 0.75] == [r for r in evals["data"] if r[0] == "mrr"][0][:2]


def test_chat_keeps_answering_while_a_new_index_is_built(client: Client, live: LiveApp) -> None:
    from advisor.web.app import status_line

    with index_lock(Path(live.settings.index_dir)):
        health = httpx.get(live.url + "api/health").json()
        assert health["building"] is True
        assert "A new index is being built" in status_line(live.settings)
        out = ask(client, "Hoe groeit vertrouwen tussen partners?")
        assert "vertrouwen.md" in out["sources"]
    assert httpx.get(live.url + "api/health").json()["building"] is False


def test_without_a_password_there_is_no_maintainer_tab(live: LiveApp) -> None:
    from advisor.web.app import build_app

    _, blocks = build_app(live.settings.model_copy(update={"admin_password": None}), live.app.state.advisor)
    try:
        config = json.dumps(blocks.config, default=str)
        names = {d.get("api_name") for d in blocks.config["dependencies"]}
        assert "ask" in names
        assert "document" in names
        assert not {n for n in names if n and n.startswith("desk")}
        assert "Maintainer" not in config
        assert "desk-password" not in config
    finally:
        blocks.close()
    assert "Maintainer" in json.dumps(live.blocks.config, default=str)
