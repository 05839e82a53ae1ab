"""The web app people use: a chat with cited sources, a maintainer's desk, and a JSON API.

    build_app(settings) -> (FastAPI app, gradio Blocks)   routes: /api/ask, /api/health, / (UI)
    serve(settings)     -> builds the index when there is none, then runs the app

The UI only calls `Advisor.stream()` and the desk functions; it never opens Chroma and never
builds an index in its own process (see `advisor.desk`). Every handler catches its errors and
shows a short message: no stack trace and no server path reaches a page.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported at module level: handlers' `gr.SelectData` annotations must resolve. Only `advisor serve`
# and the UI tests import this module, so `advisor --help` stays fast.
import gradio as gr

from advisor import desk, render
from advisor.access import DeskGate, RateLimit, RequestLimits, client_address
from advisor.api import MAX_QUESTION, add_api_routes, health
from advisor.feedback import FeedbackFull, append_feedback, read_feedback
from advisor.indexer import read_progress
from advisor.sanitize import plain_text
from advisor.text import detect_language
from advisor.viewer import DocumentCache, document_html

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
MAX_QUEUE_BODY = 2 * 2**20  # a Gradio call carries one question (refused past MAX_QUESTION) and small values
MAX_UPLOAD_FILES = 10  # files per upload request, each at most settings.upload_max_mb
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


MAX_TURNS = 50  # turns kept per session; older ones drop out of the conversation and its sources

MESSAGES = {
    "too_long": {
        "nl": "Uw vraag is te lang: stel haar in ten hoogste {limit} tekens.",
        "en": "Your question is too long: please ask it in at most {limit} characters.",
    },
    "no_index": {
        "nl": "Er is nog geen index; een beheerder moet die eerst bouwen.",
        "en": "There is no index yet; a maintainer must build it first.",
    },
    "failed": {
        "nl": "Er ging iets mis bij het beantwoorden; probeer het opnieuw.",
        "en": "Something went wrong while answering; please try again.",
    },
    "feedback_first": {"nl": "Stel eerst een vraag.", "en": "Ask a question first."},
    "feedback_thanks": {"nl": "Dank voor uw feedback.", "en": "Thank you for your feedback."},
    "feedback_again": {"nl": "U hebt dit antwoord al beoordeeld.", "en": "You have already rated this answer."},
    "feedback_busy": {
        "nl": "Te veel beoordelingen in korte tijd; probeer het over een minuut opnieuw.",
        "en": "Too many ratings in a short time; please try again in a minute.",
    },
    "feedback_failed": {"nl": "De feedback kon niet worden opgeslagen.", "en": "The feedback could not be stored."},
}


def message(key: str, language: str | None, **values: Any) -> str:
    """A short message for the person, in their language."""
    return MESSAGES[key]["en" if language == "en" else "nl"].format(**values)


def turns_language(turns: Sequence[dict[str, Any]] | None) -> str:
    """The language of the conversation so far: that of its last answer."""
    return str(((turns or [{}])[-1].get("answer") or {}).get("language") or "nl") if turns else "nl"


def history_from_turns(turns: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The conversation the server holds, as {role, content} messages for `Advisor.stream`.

    It is built from the session's own turns, never from what a client sends: a conversation
    taken from the client could carry file references that Gradio would copy and serve.
    """
    out: list[dict[str, str]] = []
    for t in turns or []:
        out.append({"role": "user", "content": str(t.get("question", ""))})
        out.append({"role": "assistant", "content": str((t.get("answer") or {}).get("answer", ""))})
    return out


def chat_messages(turns: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """What the chat shows: each turn's question and answer as safe HTML, from the session's turns."""
    out: list[dict[str, str]] = []
    for i, t in enumerate(turns or []):
        out.append({"role": "user", "content": render.question_html(str(t.get("question", "")))})
        out.append({"role": "assistant", "content": render.answer_html(t.get("answer") or {}, i)})
    return out


def check_question(question: str, turns: Sequence[dict[str, Any]] | None, limit: int) -> str | None:
    """Why a question is not answered (in the person's language), or None to answer it."""
    if len(question) > limit:
        # The language of a short head is enough to choose the message; never the whole text.
        language = detect_language(question[:300], default=turns_language(turns))  # type: ignore[arg-type]
        return message("too_long", language, limit=limit)
    return None


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
    gate = DeskGate(
        settings.admin_password, idle_seconds=settings.desk_idle_minutes * 60, max_seconds=settings.desk_max_hours * 3600
    )
    feedback_limit = RateLimit(settings.feedback_per_minute, 60.0)
    viewer_cache = DocumentCache(settings.load_timeout, settings.load_memory_mb)

    def respond(text: str, turns: list[dict[str, Any]] | None):  # type: ignore[no-untyped-def]
        """Answer one question of the session's conversation, streaming; the chat is redrawn from `turns`."""
        question = (text or "").strip() if isinstance(text, str) else ""
        turns = list(turns or [])[-MAX_TURNS:]
        keep = [gr.skip()] * (2 + MAX_SUGGESTIONS + 2)  # sources, turns, suggestions, copy, feedback note
        if not question:
            yield (gr.skip(), "", *keep)
            return
        refusal = check_question(question, turns, MAX_QUESTION)
        if refusal is not None:
            gr.Warning(refusal)
            yield (gr.skip(), gr.skip(), *keep)
            return
        shown = chat_messages(turns)
        chat = [*shown, {"role": "user", "content": render.question_html(question)}, {"role": "assistant", "content": "…"}]
        yield (chat, "", *keep)
        language = turns_language(turns)
        try:
            for partial_text, final in advisor.stream(question, history_from_turns(turns)):
                if final is None:
                    chat[-1] = {"role": "assistant", "content": render.partial_html(partial_text)}
                    yield (chat, "", *keep)
                    continue
                answer = final.to_json()
                turns = [*turns, {"question": question, "answer": answer}][-MAX_TURNS:]
                yield (
                    chat_messages(turns), "", render.sources_html(turns), turns, *_buttons(answer),
                    render.answer_with_sources_markdown(turns[-1]), "",
                )
        except NoIndexError:
            chat[-1] = {"role": "assistant", "content": render.question_html(message("no_index", language))}
            yield (chat, "", *keep)
        except Exception:  # noqa: BLE001 - the person sees a short message, the log has the details
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": render.question_html(message("failed", language))}
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
            return document_html(settings, str(c["source"]), c.get("page"), str(c.get("section") or ""), c.get("highlights") or [], answer.get("language"), cache=viewer_cache)
        except Exception:  # noqa: BLE001
            log.exception("document viewer failed")
            return render.message_html_text("Het document kon niet worden geopend. · The document could not be opened.")

    def document(source: str, page: int | None = None, section: str = "") -> str:
        """The document viewer's HTML for an indexed corpus document (relative path), at a page or section."""
        try:
            return document_html(settings, source, page, section or "", cache=viewer_cache)
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

    def give_feedback(rating: str, comment: str, turns: list[dict[str, Any]] | None, request: gr.Request) -> tuple[Any, ...]:
        """Store one rating of the last answer: once per answer, a few per minute per client, bounded in size."""
        language = turns_language(turns)
        if not turns:
            return comment, message("feedback_first", language), gr.skip()
        last = turns[-1]
        if last.get("rated"):
            return comment, message("feedback_again", language), gr.skip()
        if not feedback_limit.allow(client_address(request)):
            return comment, message("feedback_busy", language), gr.skip()
        try:
            append_feedback(settings.feedback_path, last["question"], last["answer"], rating, comment, max_bytes=int(settings.feedback_max_mb * 2**20))
        except FeedbackFull:
            log.warning("feedback log %s is full (%.0f MiB); rating not stored", Path(settings.feedback_path).name, settings.feedback_max_mb)
            return comment, message("feedback_failed", language), gr.skip()
        except Exception:  # noqa: BLE001
            log.exception("storing feedback failed")
            return comment, message("feedback_failed", language), gr.skip()
        turns = [*turns[:-1], {**last, "rated": rating}]
        return "", message("feedback_thanks", language), turns

    def rate_helpful(comment: str, turns: list[dict[str, Any]] | None, request: gr.Request) -> tuple[Any, ...]:
        return give_feedback("helpful", comment, turns, request)

    def rate_unhelpful(comment: str, turns: list[dict[str, Any]] | None, request: gr.Request) -> tuple[Any, ...]:
        return give_feedback("not helpful", comment, turns, request)

    # Gradio's cache (the maintainer's uploads, exports) is cleared of files older than an hour, every ten minutes.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as blocks:
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
                            buttons=[],  # messages are HTML; "Copy answer with sources" gives the Markdown
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
                                max_length=MAX_QUESTION,
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
                _desk_tab(settings, runner, gate)

        # Answering is CPU-bound (embedding the question, scoring sentences) and the Advisor is
        # thread-safe, so answers run in parallel up to `concurrency_limit` and further questions
        # queue in order. More would only slow every answer down on a small machine; fewer would
        # make one slow answer hold up everyone. All ways into an answer share the one pool.
        answer_events: dict[str, Any] = {"concurrency_limit": settings.concurrency_limit, "concurrency_id": "answer"}
        outputs = [chatbot, msg, sources, turns_state, *suggestion_buttons, copy_box, feedback_note]
        # The chat itself is never an input: the conversation is the session's own `turns_state`.
        inputs = [msg, turns_state]
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
        helpful.click(rate_helpful, [comment, turns_state], [comment, feedback_note, turns_state], api_name="feedback_helpful")
        unhelpful.click(rate_unhelpful, [comment, turns_state], [comment, feedback_note, turns_state], api_name="feedback_not_helpful")

    app = FastAPI(title="Alliance Advisor", docs_url=None, redoc_url=None, openapi_url=None)
    add_api_routes(app, advisor, settings)
    app.add_middleware(
        RequestLimits, gate=gate, max_body=MAX_QUEUE_BODY, max_upload=int(settings.upload_max_mb * 2**20) * MAX_UPLOAD_FILES + 2**16
    )
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
    # Gradio checks that a file a client names lies in its upload cache only once `has_launched`
    # is set, which `launch()` does and `mount_gradio_app` does not (reported upstream, see
    # docs/security.md). This app is mounted, so it sets the flag itself; the chat takes no file
    # from a client in any case.
    blocks.has_launched = True
    app.state.runner = runner
    app.state.advisor = advisor
    app.state.gate = gate
    app.state.viewer_cache = viewer_cache
    return app, blocks


SET_DESK_COOKIE = """(token) => {
  document.cookie = 'advisor_desk=' + (token || '') + '; path=/; SameSite=Strict' + (token ? '' : '; max-age=0');
}"""

CLICK_UNLOCK = "() => { const b = document.querySelector('#desk-unlock'); if (b) b.click(); }"


def in_upload_cache(path: str | Path, cache_dir: str | Path) -> bool:
    """Whether `path` is a file Gradio's upload route wrote (inside its cache), not a server path."""
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    root = Path(cache_dir).resolve()
    return resolved.is_relative_to(root) and resolved != root and resolved.is_file()


def desk_upload_lines(settings: Settings, files: Sequence[Any] | None, cache_dir: str | Path) -> list[str]:
    """Save uploaded files into the corpus, one line of result per file; only files from the upload cache."""
    lines: list[str] = []
    limit = settings.upload_max_mb * 2**20
    for f in files or []:
        path = Path(str(f))
        if not in_upload_cache(path, cache_dir):
            log.warning("desk upload refused: %s is not a file the upload route received", path.name)
            lines.append(f"- refused: '{path.name}' was not uploaded through this page")
            continue
        try:
            if path.stat().st_size > limit:
                raise desk.UploadError(f"'{path.name}' is over the upload limit of {settings.upload_max_mb:g} MiB")
            saved = desk.save_upload(settings, path.name, path.read_bytes())
            lines.append(f"- {saved.name}: {'replaced' if saved.replaced else 'added'} ({_size(saved.size)})")
        except desk.UploadError as exc:
            lines.append(f"- refused: {exc}")
        except OSError:
            lines.append(f"- refused: '{path.name}' could not be read")
        finally:
            path.unlink(missing_ok=True)  # the cached copy is not kept once it is in the corpus (or refused)
    if not lines:
        lines.append("Choose one or more files first.")
    elif any(not ln.startswith("- refused") for ln in lines):
        lines.append("\nStart a re-index to use the new documents in answers.")
    return lines


def _desk_tab(settings: Settings, runner: desk.Runner, gate: DeskGate) -> None:
    """The maintainer's tab: one login, then uploads, the corpus, re-index, evaluation, feedback."""
    from gradio.utils import get_upload_folder

    def require(token: str | None, request: gr.Request) -> None:
        if not gate.check(token, client_address(request)):
            raise gr.Error("Log eerst in (of opnieuw: de sessie is verlopen). · Log in first (or again: the session has expired).")

    def table() -> list[list[Any]]:
        return [[plain_text(str(v)) if isinstance(v, str) else v for v in row] for row in desk.corpus_rows(settings)]

    def files_choice() -> Any:
        return gr.update(choices=desk.corpus_files(settings), value=None)

    def eval_view() -> dict[str, Any]:
        headers, rows = desk.eval_table(desk.eval_reports(settings))
        return {"headers": headers, "data": rows}

    def feedback_rows() -> list[list[Any]]:
        return [
            [r.get("time", ""), r.get("rating", ""), str(r.get("question", ""))[:500], str(r.get("comment", ""))[:500], str(r.get("answer", ""))[:300]]
            for r in read_feedback(settings.feedback_path)
        ]

    def unlock(password: str, request: gr.Request) -> tuple[Any, ...]:
        result = gate.login(password, client_address(request))
        if not result.ok:
            note = "Onjuist wachtwoord. · Wrong password."
            if result.wait_seconds > 0:
                note += f" Wacht {result.wait_seconds:.0f} s voor een nieuwe poging. · Wait {result.wait_seconds:.0f} s before trying again."
            return (None, gr.skip(), gr.skip(), note, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "", "")
        return (
            result.token, gr.update(visible=False), gr.update(visible=True), "", gr.Timer(active=True),
            table(), files_choice(), eval_view(), feedback_rows(), "", result.token,
        )

    def lock(token: str | None) -> tuple[Any, ...]:
        gate.logout(token)
        return None, gr.update(visible=True), gr.update(visible=False), "Uitgelogd. · Logged out.", gr.Timer(active=False), ""

    def upload(token: str | None, files: list[str] | None, request: gr.Request) -> tuple[Any, ...]:
        require(token, request)
        return "\n".join(desk_upload_lines(settings, files, get_upload_folder())), table(), files_choice(), None

    def remove(token: str | None, source: str | None, request: gr.Request) -> tuple[Any, ...]:
        require(token, request)
        if not source:
            return "Choose a document first.", gr.skip(), gr.skip()
        try:
            message = desk.remove_document(settings, source)
        except desk.UploadError as exc:
            message = str(exc)
        except OSError:
            message = f"'{source}' could not be removed."
        return message, table(), files_choice()

    def reindex(token: str | None, request: gr.Request) -> str:
        require(token, request)
        try:
            return runner.start_index()
        except OSError:
            log.exception("starting the re-index failed")
            return "The re-index could not be started."

    def evaluate(token: str | None, request: gr.Request) -> str:
        require(token, request)
        try:
            return runner.start_eval()
        except OSError:
            log.exception("starting the evaluation failed")
            return "The evaluation could not be started."

    def tick(token: str | None, seen: str, request: gr.Request) -> tuple[Any, ...]:
        if not gate.check(token, client_address(request), touch=False):
            return (gr.skip(),) * 6
        index_text = runner.index_status()
        eval_text = runner.eval_status()
        reports = desk.eval_reports(settings)
        key = f"{desk.corpus_key(settings)}|{reports[0][0] if reports else ''}"
        if key == seen:
            return index_text, eval_text, gr.skip(), gr.skip(), gr.skip(), seen
        return index_text, eval_text, table(), files_choice(), eval_view(), key

    def refresh_feedback(token: str | None, request: gr.Request) -> list[list[Any]]:
        require(token, request)
        return feedback_rows()

    def status(token: str | None, request: gr.Request) -> dict[str, str]:
        """What the desk shows about the re-index and the evaluation, for scripts that watch them."""
        require(token, request)
        return {"index": runner.index_status(), "eval": runner.eval_status()}

    with gr.Tab("Beheer · Maintainer", id="desk"):
        token_state = gr.State(None)
        seen_state = gr.State("")
        # The session token, also set as a cookie: uploads into Gradio's cache need it (advisor.access).
        token_box = gr.Textbox(visible="hidden", elem_id="desk-token")
        desk_timer = gr.Timer(DESK_SECONDS, active=False)
        with gr.Row() as login_row:
            password = gr.Textbox(label="Wachtwoord · Password", type="password", elem_id="desk-password", scale=3)
            login = gr.Button("Ontgrendel · Unlock", scale=1, elem_id="desk-unlock")
        login_note = gr.Markdown("", elem_id="desk-login-note")
        with gr.Column(visible=False, elem_id="desk-controls") as controls:
            logout = gr.Button("Uitloggen · Log out", size="sm", elem_id="desk-logout")
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

        unlock_outputs = [token_state, login_row, controls, login_note, desk_timer, corpus_table, remove_choice, eval_frame, feedback_table, password, token_box]
        # The one endpoint that takes the password; Enter in the field clicks the same button.
        login.click(unlock, password, unlock_outputs, api_name="desk_unlock", concurrency_limit=4).then(
            None, token_box, None, js=SET_DESK_COOKIE, api_visibility="private"
        )
        password.submit(None, None, None, js=CLICK_UNLOCK, api_visibility="private")
        logout.click(lock, token_state, [token_state, login_row, controls, login_note, desk_timer, token_box], api_name="desk_logout").then(
            None, token_box, None, js=SET_DESK_COOKIE, api_visibility="private"
        )
        upload_btn.click(upload, [token_state, uploads], [upload_note, corpus_table, remove_choice, uploads], api_name="desk_upload")
        remove_btn.click(remove, [token_state, remove_choice], [remove_note, corpus_table, remove_choice], api_name="desk_remove")
        reindex_btn.click(reindex, token_state, index_note, api_name="desk_reindex").then(lambda: "", None, upload_note, api_visibility="private")
        eval_btn.click(evaluate, token_state, eval_note, api_name="desk_eval")
        feedback_btn.click(refresh_feedback, token_state, feedback_table, api_name="desk_feedback")
        desk_timer.tick(
            tick, [token_state, seen_state], [index_note, eval_note, corpus_table, remove_choice, eval_frame, seen_state],
            show_progress="hidden", api_visibility="private",
        )
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
