"""The web app people use: a chat with cited sources, a maintainer's desk, and a JSON API.

    build_app(settings) -> (FastAPI app, gradio Blocks)   routes: /api/ask, /api/health, / (UI)
    serve(settings)     -> builds the index when there is none, then runs the app

The UI only calls `Advisor.stream()` and the desk functions; it never opens Chroma and never
builds an index in its own process (see `advisor.desk`). Every handler catches its errors and
shows a short message: no stack trace and no server path reaches a page.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported at module level: handlers' `gr.SelectData` annotations must resolve. Only `advisor serve`
# and the UI tests import this module, so `advisor --help` stays fast.
import gradio as gr

from advisor import desk, render
from advisor.api import add_api_routes, health
from advisor.feedback import append_feedback, read_feedback
from advisor.indexer import read_progress
from advisor.sanitize import plain_text, sanitize_markdown
from advisor.viewer import document_html

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI

    from advisor.answer import Advisor
    from advisor.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = (
    "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?",
    "Wanneer is een cultuurverschil eigenlijk een ander probleem?",
    "How should an escalation procedure in an alliance work?",
    "What habits help partners handle cultural differences in an alliance?",
)
MAX_SUGGESTIONS = 4
STATUS_SECONDS = 3
DESK_SECONDS = 2

TITLE = "Alliantie-adviseur · Alliance Advisor"

CSS = """
#sources .src-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0; }
#sources .src-card.flash { animation: src-flash 1.6s ease-out; }
@keyframes src-flash { 0% { background: #ffe58a; } 100% { background: transparent; } }
#sources .src-n { font-weight: 700; color: var(--color-accent); }
#sources .src-meta { font-size: 0.85em; opacity: 0.8; margin: 2px 0 6px 0; }
#sources blockquote.src-text { margin: 0 0 6px 0; padding-left: 10px; border-left: 3px solid var(--border-color-accent); white-space: pre-wrap; }
#sources .src-open { font-size: 0.85em; padding: 2px 8px; border-radius: 6px; border: 1px solid var(--border-color-primary); cursor: pointer; background: var(--button-secondary-background-fill); }
#sources mark, #doc-viewer mark { background: #fff1a8; color: inherit; padding: 0 1px; }
#doc-viewer .doc-target { outline: 2px solid var(--color-accent); outline-offset: 4px; border-radius: 4px; }
#doc-viewer .doc-error, #sources .src-empty { opacity: 0.8; }
#status-line p { margin: 0; font-size: 0.9em; }
"""

# A citation [n] in the chat is a link to "#src-<turn>-<n>": scroll its card into view, open the
# folded earlier answers it may sit in, and flash it. Capture phase, so the chat's own link
# handling (which would open a new tab) never sees the click.
HEAD = """<script>
document.addEventListener('click', function (e) {
  var a = e.target && e.target.closest ? e.target.closest('a[href^="#src-"]') : null;
  if (!a) return;
  e.preventDefault();
  e.stopPropagation();
  var el = document.getElementById(a.getAttribute('href').slice(1));
  if (!el) return;
  for (var d = el.closest('details'); d; d = d.parentElement ? d.parentElement.closest('details') : null) d.open = true;
  el.scrollIntoView({behavior: 'smooth', block: 'center'});
  el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
}, true);
</script>"""

SOURCES_JS = """
element.addEventListener('click', function (e) {
  var b = e.target && e.target.closest ? e.target.closest('[data-open]') : null;
  if (!b) return;
  var parts = b.getAttribute('data-open').split(':');
  trigger('select', {index: [Number(parts[0]), Number(parts[1])], value: b.getAttribute('data-open')});
});
"""

VIEWER_JS = """
watch('value', function () {
  var t = element.querySelector('#doc-target');
  if (t) t.scrollIntoView({block: 'start'});
});
"""


# ---------------------------------------------------------------- pure helpers of the chat


def status_line(settings: Settings) -> str:
    """Which build answers, and whether a new one is being made."""
    h = health(settings)
    if h["build"] is None:
        text = "Nog geen index · No index yet"
    else:
        text = f"Kennisbank · Knowledge base: build `{h['build']}` · {h['documents']} documenten/documents · {h['chunks']} passages"
    if h["building"]:
        p = read_progress(Path(settings.index_dir)) or {}
        stage = f" ({p.get('stage', 'starting')} {p.get('done', 0)}/{p.get('total', 0)})" if p.get("total") else ""
        text += (
            f" — **Er wordt een nieuwe index gebouwd · A new index is being built**{stage}; "
            "antwoorden komen intussen uit de huidige index · answers come from the current index meanwhile"
        )
    return text


def history_from_chat(chat: Sequence[Any] | None) -> list[dict[str, str]]:
    """Chat messages as {role, content} with plain string content, for `Advisor.stream`."""
    out: list[dict[str, str]] = []
    for m in chat or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if isinstance(content, str) and content.strip():
            out.append({"role": str(m["role"]), "content": content})
    return out


def _buttons(answer: dict[str, Any] | None) -> list[Any]:
    topics = list((answer or {}).get("suggestions") or []) if (answer or {}).get("refused") else []
    return [
        gr.update(value=plain_text(topics[i]), visible=True) if i < len(topics) else gr.update(value="", visible=False)
        for i in range(MAX_SUGGESTIONS)
    ]


# ---------------------------------------------------------------- the app


def build_app(
    settings: Settings,
    advisor: Advisor | None = None,
    *,
    index_command: Sequence[str] | None = None,
    eval_command: Sequence[str] | None = None,
) -> tuple[FastAPI, gr.Blocks]:
    """The FastAPI app with the JSON API and the Gradio UI mounted at '/'.

    `index_command` / `eval_command` replace `python -m advisor index|eval --json` (the desk
    appends `--corpus C --index I`); tests use them to index with their fake embedder.
    """
    from fastapi import FastAPI

    from advisor.answer import Advisor
    from advisor.retrieval import NoIndexError

    advisor = advisor if advisor is not None else Advisor(settings)
    runner = desk.Runner(settings, index_command, eval_command)

    def respond(message: str, chat: list[Any] | None, turns: list[dict[str, Any]] | None):  # type: ignore[no-untyped-def]
        question = (message or "").strip()
        turns = list(turns or [])
        chat = list(chat or [])
        keep = [gr.skip()] * (2 + MAX_SUGGESTIONS + 2)  # sources, turns, suggestions, copy, feedback note
        if not question:
            yield (chat, "", *keep)
            return
        history = history_from_chat(chat)
        chat = [*chat, {"role": "user", "content": sanitize_markdown(question)}, {"role": "assistant", "content": "…"}]
        yield (chat, "", *keep)
        try:
            for partial_text, final in advisor.stream(question, history):
                if final is None:
                    chat[-1] = {"role": "assistant", "content": render.partial_markdown(partial_text) + " …"}
                    yield (chat, "", *keep)
                    continue
                answer = final.to_json()
                turns.append({"question": question, "answer": answer})
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(answer, len(turns) - 1)}
                yield (
                    chat, "", render.sources_html(turns), turns, *_buttons(answer),
                    render.answer_with_sources_markdown(turns[-1]), "",
                )
        except NoIndexError:
            chat[-1] = {"role": "assistant", "content": "Er is nog geen index; een beheerder moet die eerst bouwen. · There is no index yet; a maintainer must build it first."}
            yield (chat, "", *keep)
        except Exception:  # noqa: BLE001 - the person sees a short message, the log has the details
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": "Er ging iets mis bij het beantwoorden; probeer het opnieuw. · Something went wrong while answering; please try again."}
            yield (chat, "", *keep)

    def ask_suggestion(topic: str, turns: list[dict[str, Any]] | None) -> str:
        language = ((turns or [{}])[-1].get("answer") or {}).get("language", "nl") if turns else "nl"
        return render.suggestion_question(topic, language)

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")

    def open_cited(turns: list[dict[str, Any]] | None, evt: gr.SelectData) -> str:
        try:
            t, n = (int(x) for x in str(evt.value).split(":"))
            answer = (turns or [])[t]["answer"]
            c = next(c for c in answer.get("citations", []) if int(c["n"]) == n)
        except (ValueError, IndexError, KeyError, StopIteration, TypeError):
            return render.message_html_text("Deze bron is niet meer beschikbaar. · This source is no longer available.")
        try:
            return document_html(settings, str(c["source"]), c.get("page"), str(c.get("section") or ""), c.get("highlights") or [], answer.get("language"))
        except Exception:  # noqa: BLE001
            log.exception("document viewer failed")
            return render.message_html_text("Het document kon niet worden geopend. · The document could not be opened.")

    def document(source: str, page: int | None = None, section: str = "") -> str:
        """The document viewer's HTML for an indexed corpus document (relative path), at a page or section."""
        try:
            return document_html(settings, source, page, section or "")
        except Exception:  # noqa: BLE001
            log.exception("document viewer failed")
            return render.message_html_text("The document could not be opened.")

    export_dir = Path(tempfile.mkdtemp(prefix="advisor-exports-"))  # Gradio copies each file into its cache

    def export(turns: list[dict[str, Any]] | None) -> Any:
        if not turns:
            gr.Info("Er is nog geen gesprek om te exporteren. · There is no conversation to export yet.")
            return gr.update(value=None, visible=False)
        for old in export_dir.glob("*/*.md"):
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink(missing_ok=True)
                old.parent.rmdir()
        folder = export_dir / secrets.token_hex(8)
        folder.mkdir()
        path = folder / f"alliantie-adviseur-{datetime.now():%Y%m%d-%H%M%S}.md"
        path.write_text(render.conversation_markdown(turns), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def give_feedback(rating: str, comment: str, turns: list[dict[str, Any]] | None) -> tuple[str, str]:
        if not turns:
            return comment, "Stel eerst een vraag. · Ask a question first."
        try:
            append_feedback(settings.feedback_path, turns[-1]["question"], turns[-1]["answer"], rating, comment)
        except Exception:  # noqa: BLE001
            log.exception("storing feedback failed")
            return comment, "De feedback kon niet worden opgeslagen. · The feedback could not be stored."
        return "", "Dank voor uw feedback. · Thank you for your feedback."

    # Gradio's cache (uploads, exports) is cleared of files older than a day, every hour.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as blocks:
        turns_state = gr.State([])
        gr.Markdown(f"## {TITLE}")
        status = gr.Markdown(status_line(settings), elem_id="status-line")
        status_timer = gr.Timer(STATUS_SECONDS)
        status_timer.tick(lambda: status_line(settings), None, status, show_progress="hidden", concurrency_limit=None, api_visibility="private")

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Gesprek · Conversation",
                            show_label=False,
                            elem_id="chat",
                            height=520,
                            examples=[{"text": q} for q in EXAMPLES],
                            placeholder="Stel een vraag over samenwerking tussen organisaties, in het Nederlands of Engels. · Ask about collaboration between organisations, in Dutch or English.",
                            feedback_options=None,
                            buttons=["copy"],
                            sanitize_html=True,
                            latex_delimiters=[],
                            layout="panel",
                        )
                        with gr.Row():
                            msg = gr.Textbox(
                                show_label=False,
                                placeholder="Uw vraag · Your question",
                                elem_id="question",
                                scale=5,
                                max_lines=6,
                                autofocus=True,
                            )
                            send = gr.Button("Vraag · Ask", variant="primary", scale=1, elem_id="ask")
                        with gr.Row(elem_id="suggestions"):
                            suggestion_buttons = [
                                gr.Button("", visible=False, size="sm", elem_classes=["suggestion"]) for _ in range(MAX_SUGGESTIONS)
                            ]
                        with gr.Row():
                            export_btn = gr.Button("Exporteer gesprek (.md) · Export conversation", size="sm", elem_id="export")
                            clear_btn = gr.ClearButton([chatbot, msg], value="Nieuw gesprek · New conversation", size="sm")
                        export_file = gr.File(label="Gesprek · Conversation (Markdown)", visible=False, interactive=False, elem_id="export-file")
                        with gr.Accordion("Antwoord met bronnen kopiëren · Copy answer with sources", open=False):
                            copy_box = gr.Textbox(
                                label="Markdown", lines=8, max_lines=20, interactive=False, buttons=["copy"], elem_id="copy-md"
                            )
                        with gr.Group():
                            with gr.Row():
                                comment = gr.Textbox(
                                    label="Opmerking (optioneel) · Comment (optional)", scale=4, max_lines=3, elem_id="feedback-comment"
                                )
                                helpful = gr.Button("Nuttig · Helpful", size="sm", scale=1, elem_id="helpful")
                                unhelpful = gr.Button("Niet nuttig · Not helpful", size="sm", scale=1, elem_id="not-helpful")
                            feedback_note = gr.Markdown("", elem_id="feedback-note")
                    with gr.Column(scale=2):
                        sources = gr.HTML(render.sources_html([]), elem_id="sources", js_on_load=SOURCES_JS, max_height=560)
                        viewer = gr.HTML(
                            render.message_html_text(f"{render.labels('nl')['viewer_hint']} · {render.labels('en')['viewer_hint']}"),
                            elem_id="doc-viewer",
                            js_on_load=VIEWER_JS,
                            max_height=480,
                            container=True,
                            padding=True,
                        )

            if settings.admin_password:
                _desk_tab(settings, runner)

        # Answering is CPU-bound (embedding the question, scoring sentences) and the Advisor is
        # thread-safe, so answers run in parallel up to `concurrency_limit` and further questions
        # queue in order. More would only slow every answer down on a small machine; fewer would
        # make one slow answer hold up everyone. All ways into an answer share the one pool.
        answer_events: dict[str, Any] = {"concurrency_limit": settings.concurrency_limit, "concurrency_id": "answer"}
        outputs = [chatbot, msg, sources, turns_state, *suggestion_buttons, copy_box, feedback_note]
        inputs = [msg, chatbot, turns_state]
        msg.submit(respond, inputs, outputs, api_name="ask", **answer_events)
        send.click(respond, inputs, outputs, api_visibility="private", **answer_events)
        chatbot.example_select(pick_example, None, msg, api_visibility="private", queue=False).then(
            respond, inputs, outputs, api_visibility="private", **answer_events
        )
        for button in suggestion_buttons:
            button.click(ask_suggestion, [button, turns_state], msg, api_visibility="private", queue=False).then(
                respond, inputs, outputs, api_visibility="private", **answer_events
            )
        sources.select(open_cited, turns_state, viewer, api_visibility="private", concurrency_limit=2)
        gr.api(document, api_name="document", concurrency_limit=2)

        def reset() -> tuple[Any, ...]:
            return ([], render.sources_html([]), *_buttons(None), "", "", gr.update(value=None, visible=False))

        clear_btn.click(reset, None, [turns_state, sources, *suggestion_buttons, copy_box, feedback_note, export_file], api_visibility="private")
        chatbot.clear(reset, None, [turns_state, sources, *suggestion_buttons, copy_box, feedback_note, export_file], api_visibility="private")
        export_btn.click(export, turns_state, export_file, api_name="export")
        helpful.click(partial(give_feedback, "helpful"), [comment, turns_state], [comment, feedback_note], api_name="feedback_helpful")
        unhelpful.click(partial(give_feedback, "not helpful"), [comment, turns_state], [comment, feedback_note], api_name="feedback_not_helpful")

    app = FastAPI(title="Alliance Advisor", docs_url=None, redoc_url=None, openapi_url=None)
    add_api_routes(app, advisor, settings)
    blocked = [str(Path(p).resolve()) for p in (settings.index_dir, settings.corpus_dir, Path(settings.feedback_path).parent)]
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        footer_links=["api"],
        run_history=False,
        allowed_paths=[],  # nothing beyond Gradio's own cache: documents are shown as text, never served
        blocked_paths=blocked,
        show_error=False,  # only gr.Error messages, written for people, reach the page
        max_file_size=int(settings.upload_max_mb * 2**20),
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        css=CSS,
        head=HEAD,
    )
    app.state.runner = runner
    app.state.advisor = advisor
    return app, blocks


def _desk_tab(settings: Settings, runner: desk.Runner) -> None:
    """The maintainer's tab: a password first, then uploads, the corpus, re-index, evaluation, feedback."""
    assert settings.admin_password
    password_bytes = settings.admin_password.encode()

    def require(ok: bool) -> None:
        if not ok:
            raise gr.Error("Log eerst in. · Log in first.")

    def table() -> list[list[Any]]:
        return [[plain_text(str(v)) if isinstance(v, str) else v for v in row] for row in desk.corpus_rows(settings)]

    def files_choice() -> Any:
        return gr.update(choices=desk.corpus_files(settings), value=None)

    def eval_view() -> dict[str, Any]:
        headers, rows = desk.eval_table(desk.eval_reports(settings))
        return {"headers": headers, "data": rows}

    def feedback_rows() -> list[list[Any]]:
        return [
            [r.get("time", ""), r.get("rating", ""), r.get("question", ""), r.get("comment", ""), str(r.get("answer", ""))[:300]]
            for r in read_feedback(settings.feedback_path)
        ]

    def unlock(password: str) -> tuple[Any, ...]:
        if not hmac.compare_digest((password or "").encode(), password_bytes):
            time.sleep(1.0)  # slows down guessing
            return (False, gr.skip(), gr.skip(), "Onjuist wachtwoord. · Wrong password.", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "")
        return (
            True, gr.update(visible=False), gr.update(visible=True), "", gr.Timer(active=True),
            table(), files_choice(), eval_view(), feedback_rows(), "",
        )

    def upload(ok: bool, files: list[str] | None) -> tuple[Any, ...]:
        require(ok)
        lines: list[str] = []
        limit = settings.upload_max_mb * 2**20
        for f in files or []:
            path = Path(f)
            try:
                if path.stat().st_size > limit:
                    raise desk.UploadError(f"'{path.name}' is over the upload limit of {settings.upload_max_mb:g} MiB")
                saved = desk.save_upload(settings, path.name, path.read_bytes())
                lines.append(f"- {saved.name}: {'replaced' if saved.replaced else 'added'} ({_size(saved.size)})")
            except desk.UploadError as exc:
                lines.append(f"- refused: {exc}")
            except OSError:
                lines.append(f"- refused: '{path.name}' could not be read")
        if not lines:
            lines.append("Choose one or more files first.")
        elif any(not ln.startswith("- refused") for ln in lines):
            lines.append("\nStart a re-index to use the new documents in answers.")
        return "\n".join(lines), table(), files_choice(), None

    def remove(ok: bool, source: str | None) -> tuple[Any, ...]:
        require(ok)
        if not source:
            return "Choose a document first.", gr.skip(), gr.skip()
        try:
            message = desk.remove_document(settings, source)
        except desk.UploadError as exc:
            message = str(exc)
        except OSError:
            message = f"'{source}' could not be removed."
        return message, table(), files_choice()

    def reindex(ok: bool) -> str:
        require(ok)
        try:
            return runner.start_index()
        except OSError:
            log.exception("starting the re-index failed")
            return "The re-index could not be started."

    def evaluate(ok: bool) -> str:
        require(ok)
        try:
            return runner.start_eval()
        except OSError:
            log.exception("starting the evaluation failed")
            return "The evaluation could not be started."

    def tick(ok: bool, seen: str) -> tuple[Any, ...]:
        if not ok:
            return (gr.skip(),) * 6
        index_text = runner.index_status()
        eval_text = runner.eval_status()
        reports = desk.eval_reports(settings)
        key = f"{desk.corpus_key(settings)}|{reports[0][0] if reports else ''}"
        if key == seen:
            return index_text, eval_text, gr.skip(), gr.skip(), gr.skip(), seen
        return index_text, eval_text, table(), files_choice(), eval_view(), key

    def refresh_feedback(ok: bool) -> list[list[Any]]:
        require(ok)
        return feedback_rows()

    with gr.Tab("Beheer · Maintainer", id="desk"):
        ok_state = gr.State(False)
        seen_state = gr.State("")
        desk_timer = gr.Timer(DESK_SECONDS, active=False)
        with gr.Row() as login_row:
            password = gr.Textbox(label="Wachtwoord · Password", type="password", elem_id="desk-password", scale=3)
            login = gr.Button("Ontgrendel · Unlock", scale=1, elem_id="desk-unlock")
        login_note = gr.Markdown("", elem_id="desk-login-note")
        with gr.Column(visible=False, elem_id="desk-controls") as controls:
            gr.Markdown("### Documenten · Documents")
            with gr.Row():
                uploads = gr.File(
                    label=f"Upload ({', '.join(desk.ALLOWED_SUFFIXES)}; max {settings.upload_max_mb:g} MiB)",
                    file_count="multiple",
                    file_types=list(desk.ALLOWED_SUFFIXES),
                    elem_id="desk-upload",
                    scale=3,
                )
                upload_btn = gr.Button("Toevoegen · Add to corpus", elem_id="desk-add", scale=1)
            upload_note = gr.Markdown("", elem_id="desk-upload-note")
            corpus_table = gr.Dataframe(
                headers=desk.CORPUS_COLUMNS, interactive=False, wrap=True, label="Corpus", elem_id="desk-corpus", max_height=420
            )
            with gr.Row():
                remove_choice = gr.Dropdown(
                    label="Document verwijderen · Remove a document", choices=[], scale=3, elem_id="desk-remove-choice",
                    allow_custom_value=True,  # the handler checks the name against the corpus itself
                )
                remove_btn = gr.Button("Verwijder · Remove", variant="stop", scale=1, elem_id="desk-remove")
            remove_note = gr.Markdown("", elem_id="desk-remove-note")
            gr.Markdown("### Index")
            reindex_btn = gr.Button("Herindexeer · Re-index", variant="primary", elem_id="desk-reindex")
            index_note = gr.Markdown("", elem_id="desk-index-status")
            gr.Markdown("### Evaluatie · Evaluation")
            eval_btn = gr.Button("Evaluatie uitvoeren · Run evaluation", elem_id="desk-eval")
            eval_note = gr.Markdown("", elem_id="desk-eval-status")
            eval_frame = gr.Dataframe(label="Laatste rapporten · Last reports", interactive=False, elem_id="desk-eval-table")
            gr.Markdown("### Feedback")
            feedback_btn = gr.Button("Vernieuw · Refresh", size="sm", elem_id="desk-feedback-refresh")
            feedback_table = gr.Dataframe(
                headers=desk.FEEDBACK_COLUMNS, interactive=False, wrap=True, label="Feedback", elem_id="desk-feedback", max_height=420
            )

        unlock_outputs = [ok_state, login_row, controls, login_note, desk_timer, corpus_table, remove_choice, eval_frame, feedback_table, password]
        login.click(unlock, password, unlock_outputs, api_name="desk_unlock")
        password.submit(unlock, password, unlock_outputs, api_visibility="private")
        upload_btn.click(upload, [ok_state, uploads], [upload_note, corpus_table, remove_choice, uploads], api_name="desk_upload")
        remove_btn.click(remove, [ok_state, remove_choice], [remove_note, corpus_table, remove_choice], api_name="desk_remove")
        reindex_btn.click(reindex, ok_state, index_note, api_name="desk_reindex").then(lambda: "", None, upload_note, api_visibility="private")
        eval_btn.click(evaluate, ok_state, eval_note, api_name="desk_eval")
        feedback_btn.click(refresh_feedback, ok_state, feedback_table, api_name="desk_feedback")
        desk_timer.tick(
            tick, [ok_state, seen_state], [index_note, eval_note, corpus_table, remove_choice, eval_frame, seen_state],
            show_progress="hidden", api_visibility="private",
        )
        def status(password: str) -> dict[str, str]:
            """What the desk shows about the re-index and the evaluation, for scripts that watch them."""
            if not hmac.compare_digest((password or "").encode(), password_bytes):
                time.sleep(1.0)
                raise gr.Error("Wrong password.")
            return {"index": runner.index_status(), "eval": runner.eval_status()}

        gr.api(status, api_name="desk_status")


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------- serving


def _print_progress() -> Any:
    last: dict[str, Any] = {"stage": None, "t": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != last["stage"] or done == total or now - last["t"] > 2:
            print(f"  {stage:<10} {done}/{total}", flush=True)
            last.update(stage=stage, t=now)

    return progress


def ensure_index(settings: Settings) -> None:
    """Build the index when there is none, so `advisor serve` works on a fresh clone."""
    from advisor.indexer import IndexBusyError, build_index, build_layout_ok, current_build_id

    index_dir = Path(settings.index_dir)
    current = current_build_id(index_dir)
    if current is not None and build_layout_ok(index_dir, current):
        return
    if current is None:
        print(f"No index yet: building it from '{settings.corpus_dir}' first (once; later starts are instant).", flush=True)
    else:
        print("The index was built by an older version: rebuilding it (cached embeddings are reused).", flush=True)
    try:
        report = build_index(settings, progress=_print_progress())
    except IndexBusyError:
        print("Another process is building the index; waiting for it to finish...", flush=True)
        while current_build_id(index_dir) in (None, current):
            time.sleep(1.0)
        return
    print(f"Index built: {report.documents} documents, {report.chunks} chunks.", flush=True)
    for f in report.failed:
        print(f"  not indexed: {f.source}: {f.reason}", flush=True)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the app on 127.0.0.1:7860 unless told otherwise (arguments, then GRADIO_SERVER_*)."""
    import uvicorn

    ensure_index(settings)
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or 7860)
    app, _ = build_app(settings)
    print(f"Alliantie-adviseur on http://{host}:{port}  (API: POST /api/ask, GET /api/health)", flush=True)
    # A re-index started from the desk runs in its own session and finishes even if the server stops.
    uvicorn.run(app, host=host, port=port, log_level="warning")
