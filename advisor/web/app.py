"""The web app people use: a chat with cited sources, a maintainer's desk, and a JSON API.

    build_app(settings) -> (FastAPI app, gradio Blocks)   routes: /api/ask, /api/health, / (UI)
    serve(settings)     -> builds the index when there is none, then runs the app

This module only lays out the page and wires its events; the handlers are
`advisor.web.chat.ChatHandlers` and `advisor.web.desk.DeskHandlers`. The page speaks one language
at a time: the browser's on load, then the one chosen on the NL/EN switch (`advisor.web.i18n`);
it is laid out in English and relabelled by `relabel` once it has loaded. The UI only calls
`Advisor.stream()` and the desk functions; it never opens Chroma and never builds an index in
its own process (see `advisor.web.maintenance`). Every handler catches its errors and shows a
short message: no stack trace and no server path reaches a page.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only `advisor serve` and the UI tests import this module, so `advisor --help` stays fast.
import gradio as gr

from advisor.index.layout import IndexBusyError
from advisor.index.stores import open_store
from advisor.services import Services, build_services
from advisor.web import i18n, maintenance, render
from advisor.web.access import DeskGate, RateLimit, RequestLimits
from advisor.web.api import MAX_BODY, MAX_QUESTION, add_api_routes
from advisor.web.chat import MAX_SUGGESTIONS, ChatHandlers, status_line
from advisor.web.desk import DeskHandlers
from advisor.web.viewer import DocumentCache

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI

    from advisor.answer.service import Advisor
    from advisor.core.settings import Settings

log = logging.getLogger(__name__)

EXAMPLES = (
    "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?",
    "Wanneer is een cultuurverschil eigenlijk een ander probleem?",
    "How should an escalation procedure in an alliance work?",
    "What habits help partners handle cultural differences in an alliance?",
)
MAX_QUEUE_BODY = 2 * 2**20  # a Gradio call carries one question (refused past MAX_QUESTION) and small values
MAX_UPLOAD_FILES = 10  # files per upload request, each at most settings.upload_max_mb
STATUS_SECONDS = 3
DESK_SECONDS = 2

FIRST = "en"  # the language the page is laid out in, until the browser's (or the switch's) relabels it
TITLE = i18n.label("title", FIRST)


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
#ui-language .wrap { flex-wrap: nowrap; }
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


# ---------------------------------------------------------------- the app


def build_app(
    settings: Settings,
    advisor: Advisor | None = None,
    *,
    index_command: Sequence[str] | None = None,
    eval_command: Sequence[str] | None = None,
    calibrate_command: Sequence[str] | None = None,
) -> tuple[FastAPI, gr.Blocks]:
    """The FastAPI app with the JSON API and the Gradio UI mounted at '/'.

    `index_command` / `eval_command` / `calibrate_command` replace `python -m advisor
    index|eval|calibrate --json` (the desk appends `--corpus C --index I`); tests use them to
    index with their fake embedder.
    """
    advisor = advisor if advisor is not None else build_services(settings).advisor
    runner = maintenance.Runner(settings, index_command, eval_command, calibrate_command)
    gate = DeskGate(
        settings.admin_password, idle_seconds=settings.desk_idle_minutes * 60, max_seconds=settings.desk_max_hours * 3600
    )
    viewer_cache = DocumentCache(settings.load_timeout, settings.load_memory_mb)
    chat = ChatHandlers(settings, advisor, RateLimit(settings.feedback_per_minute, 60.0), viewer_cache)
    answering = advisor

    def apply_settings(values: dict[str, float]) -> None:
        answering.reconfigure(**values)  # a calibration applied at the desk: the next answer uses it

    desk = DeskHandlers(settings, runner, gate, apply_settings) if settings.admin_password else None
    blocks = _page(settings, chat, desk)
    app = _mount(settings, blocks, advisor, gate)
    app.state.runner = runner
    app.state.advisor = advisor
    app.state.gate = gate
    app.state.viewer_cache = viewer_cache
    return app, blocks


@dataclass
class _Header:
    """The title, the NL/EN switch and the status line."""

    title: gr.Markdown
    switch: gr.Radio
    status: gr.Markdown


@dataclass
class _ChatColumn:
    """The chat column's components that events read or write."""

    chatbot: gr.Chatbot
    msg: gr.Textbox
    send: gr.Button
    suggestions: list[gr.Button]
    export_btn: gr.Button
    clear_btn: gr.ClearButton
    export_file: gr.File
    copy_box: gr.Textbox
    copy_accordion: gr.Accordion
    comment: gr.Textbox
    helpful: gr.Button
    unhelpful: gr.Button
    feedback_note: gr.Markdown


def _page(settings: Settings, chat: ChatHandlers, desk: DeskHandlers | None) -> gr.Blocks:
    """The whole page: the status line, the chat tab and (with a password set) the desk tab."""
    # Gradio's cache (the maintainer's uploads, exports) is cleared of files older than an hour, every ten minutes.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as blocks:
        turns_state = gr.State([])
        # The language chosen on the switch, "nl" or "en"; None until the page has loaded (and for API clients).
        language_state = gr.State(None)
        viewer_used = gr.State(False)  # whether the viewer shows a document (or a message) rather than its hint
        header = _header(settings, chat, language_state)
        with gr.Tabs():
            with gr.Tab(i18n.label("chat_tab", FIRST), id="chat", elem_id="chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    column = _chat_column()
                with gr.Column(scale=2):
                    sources, viewer = _sources_column()
            desk_view = _desk_tab(settings, desk, language_state) if desk is not None else None
        _wire_chat(settings, chat, column, sources, viewer, turns_state, language_state, viewer_used)
        _wire_language(blocks, chat, desk, header, column, [sources, viewer], language_state, [turns_state, viewer_used], desk_view)
    return blocks


def _header(settings: Settings, chat: ChatHandlers, language_state: gr.State) -> _Header:
    """The title with the NL/EN switch, and the status line, refreshed every few seconds."""
    with gr.Row(equal_height=True):
        title = gr.Markdown(f"## {TITLE}", elem_id="page-title")
        switch = gr.Radio(
            list(i18n.CHOICES), value=i18n.choice_of(FIRST), label=i18n.label("language", FIRST), elem_id="ui-language",
            container=False, scale=0, min_width=200,
        )
    status = gr.Markdown(status_line(settings, None), elem_id="status-line")
    status_timer = gr.Timer(STATUS_SECONDS)
    status_timer.tick(chat.status, language_state, status, show_progress="hidden", concurrency_limit=None, api_visibility="private")
    return _Header(title, switch, status)


def _chat_column() -> _ChatColumn:
    """The conversation, the question box, suggestions, export, copy and feedback."""
    chatbot = gr.Chatbot(
        label=i18n.label("conversation", FIRST),
        show_label=False,
        elem_id="chat",
        height=520,
        examples=[{"text": q} for q in EXAMPLES],
        placeholder=i18n.label("chat_placeholder", FIRST),
        feedback_options=None,
        buttons=[],  # messages are HTML; "Copy answer with sources" gives the Markdown
        sanitize_html=True,
        latex_delimiters=[],
        layout="panel",
    )
    with gr.Row():
        msg = gr.Textbox(
            show_label=False, placeholder=i18n.label("question", FIRST), elem_id="question", scale=5, max_lines=6, autofocus=True,
            max_length=MAX_QUESTION,
        )
        send = gr.Button(i18n.label("ask", FIRST), variant="primary", scale=1, elem_id="ask")
    with gr.Row(elem_id="suggestions"):
        suggestions = [gr.Button("", visible=False, size="sm", elem_classes=["suggestion"]) for _ in range(MAX_SUGGESTIONS)]
    with gr.Row():
        export_btn = gr.Button(i18n.label("export", FIRST), size="sm", elem_id="export")
        clear_btn = gr.ClearButton([chatbot, msg], value=i18n.label("new_conversation", FIRST), size="sm", elem_id="new-conversation")
    export_file = gr.File(label=i18n.label("export_file", FIRST), visible=False, interactive=False, elem_id="export-file")
    with gr.Accordion(i18n.label("copy", FIRST), open=False, elem_id="copy-answer") as copy_accordion:
        copy_box = gr.Textbox(label="Markdown", lines=8, max_lines=20, interactive=False, buttons=["copy"], elem_id="copy-md")
    with gr.Group():
        with gr.Row():
            comment = gr.Textbox(label=i18n.label("comment", FIRST), scale=4, max_lines=3, elem_id="feedback-comment")
            helpful = gr.Button(i18n.label("helpful", FIRST), size="sm", scale=1, elem_id="helpful")
            unhelpful = gr.Button(i18n.label("not_helpful", FIRST), size="sm", scale=1, elem_id="not-helpful")
        feedback_note = gr.Markdown("", elem_id="feedback-note")
    return _ChatColumn(
        chatbot, msg, send, suggestions, export_btn, clear_btn, export_file, copy_box, copy_accordion, comment, helpful, unhelpful,
        feedback_note,
    )


def _sources_column() -> tuple[gr.HTML, gr.HTML]:
    """The cited sources of the conversation, and the document viewer a source opens in."""
    sources = gr.HTML(render.sources_html([], FIRST), elem_id="sources", js_on_load=SOURCES_JS, max_height=560)
    viewer = gr.HTML(
        render.message_html_text(render.labels(FIRST)["viewer_hint"]),
        elem_id="doc-viewer",
        js_on_load=VIEWER_JS,
        max_height=480,
        container=True,
        padding=True,
    )
    return sources, viewer


def _wire_chat(
    settings: Settings, chat: ChatHandlers, c: _ChatColumn, sources: gr.HTML, viewer: gr.HTML, turns_state: gr.State,
    language_state: gr.State, viewer_used: gr.State,
) -> None:
    """The chat's events. The chat itself is never an input: the conversation is the session's own `turns_state`."""
    # Answering is CPU-bound (embedding the question, scoring sentences) and the Advisor is
    # thread-safe, so answers run in parallel up to `concurrency_limit` and further questions
    # queue in order. More would only slow every answer down on a small machine; fewer would
    # make one slow answer hold up everyone. All ways into an answer share the one pool.
    answer_events: dict[str, Any] = {"concurrency_limit": settings.concurrency_limit, "concurrency_id": "answer"}
    outputs = [c.chatbot, c.msg, sources, turns_state, *c.suggestions, c.copy_box, c.feedback_note]
    inputs = [c.msg, turns_state, language_state]
    c.msg.submit(chat.respond, inputs, outputs, api_name="ask", **answer_events)
    c.send.click(chat.respond, inputs, outputs, api_visibility="private", **answer_events)
    c.chatbot.example_select(chat.pick_example, None, c.msg, api_visibility="private", queue=False).then(
        chat.respond, inputs, outputs, api_visibility="private", **answer_events
    )
    for button in c.suggestions:
        button.click(chat.ask_suggestion, [button, turns_state], c.msg, api_visibility="private", queue=False).then(
            chat.respond, inputs, outputs, api_visibility="private", **answer_events
        )
    sources.select(chat.open_cited, [turns_state, language_state], [viewer, viewer_used], api_visibility="private", concurrency_limit=2)
    gr.api(chat.document, api_name="document", concurrency_limit=2)
    reset_outputs = [turns_state, sources, *c.suggestions, c.copy_box, c.feedback_note, c.export_file]
    c.clear_btn.click(chat.reset, language_state, reset_outputs, api_visibility="private")
    c.chatbot.clear(chat.reset, language_state, reset_outputs, api_visibility="private")
    c.export_btn.click(chat.export, [turns_state, language_state], c.export_file, api_name="export")
    feedback_io = ([c.comment, turns_state, language_state], [c.comment, c.feedback_note, turns_state])
    c.helpful.click(chat.rate_helpful, *feedback_io, api_name="feedback_helpful")
    c.unhelpful.click(chat.rate_unhelpful, *feedback_io, api_name="feedback_not_helpful")


def _wire_language(
    blocks: gr.Blocks, chat: ChatHandlers, desk: DeskHandlers | None, h: _Header, c: _ChatColumn, panels: list[gr.HTML],
    language_state: gr.State, states: list[gr.State], desk_view: _DeskView | None,
) -> None:
    """The NL/EN switch: set from the browser's language on load, then by the person; either relabels the page.

    `panels` are the sources panel and the viewer; `states` the turns and whether the viewer was used.
    The relabelling writes the session's `language_state` (the first output of `ChatHandlers.relabel`).
    """
    outputs = [
        language_state, h.title, h.switch, h.status, c.chatbot, c.msg, c.send, c.export_btn, c.clear_btn,
        c.export_file, c.copy_accordion, c.comment, c.helpful, c.unhelpful, *panels,
    ]
    quiet: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    loaded = blocks.load(None, None, h.switch, js=i18n.BROWSER_LANGUAGE_JS, **quiet)
    for event in (loaded.then, h.switch.input):
        event(None, h.switch, None, js=i18n.DOCUMENT_LANGUAGE_JS, **quiet)
        event(chat.relabel, [h.switch, *states], outputs, **quiet)
        if desk is not None and desk_view is not None:
            event(desk.relabel, h.switch, desk_view.labelled(), **quiet)


def _mount(settings: Settings, blocks: gr.Blocks, advisor: Advisor, gate: DeskGate) -> FastAPI:
    """The FastAPI app: the JSON API, the request limits, and the UI mounted at '/'."""
    from fastapi import FastAPI

    app = FastAPI(title="Alliance Advisor", docs_url=None, redoc_url=None, openapi_url=None)
    add_api_routes(app, advisor, settings)
    app.add_middleware(
        RequestLimits,
        gate=gate,
        max_body=MAX_QUEUE_BODY,
        max_upload=int(settings.upload_max_mb * 2**20) * MAX_UPLOAD_FILES + 2**16,
        path_limits={"/api/": MAX_BODY},
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
    return app


# ---------------------------------------------------------------- the maintainer's desk

SET_DESK_COOKIE = """(token) => {
  document.cookie = 'advisor_desk=' + (token || '') + '; path=/; SameSite=Strict' + (token ? '' : '; max-age=0');
}"""

CLICK_UNLOCK = "() => { const b = document.querySelector('#desk-unlock'); if (b) b.click(); }"


@dataclass
class _DeskView:
    """The desk's components that events read or write."""

    login_row: gr.Row
    password: gr.Textbox
    login: gr.Button
    login_note: gr.Markdown
    controls: gr.Column
    logout: gr.Button
    uploads: gr.File
    upload_btn: gr.Button
    upload_note: gr.Markdown
    corpus_table: gr.Dataframe
    remove_choice: gr.Dropdown
    remove_btn: gr.Button
    remove_note: gr.Markdown
    reindex_btn: gr.Button
    index_note: gr.Markdown
    eval_btn: gr.Button
    eval_note: gr.Markdown
    eval_frame: gr.Dataframe
    feedback_btn: gr.Button
    feedback_table: gr.Dataframe
    calibrate_btn: gr.Button
    calibrate_note: gr.Markdown
    calibration: gr.HTML
    apply_btn: gr.Button
    apply_note: gr.Markdown
    headings: list[gr.Markdown] = field(default_factory=list)  # Documents, Index, Evaluation, Feedback, Calibration
    tab: gr.Tab | None = None

    def labelled(self) -> list[Any]:
        """The components `DeskHandlers.relabel` writes, in its order."""
        documents, index, evaluation, feedback, calibration = self.headings
        return [
            self.tab, self.password, self.login, self.logout, documents, self.uploads, self.upload_btn, self.corpus_table,
            self.remove_choice, self.remove_btn, index, self.reindex_btn, evaluation, self.eval_btn, self.eval_frame, feedback,
            self.feedback_btn, self.feedback_table, calibration, self.calibrate_btn, self.apply_btn,
        ]


def _desk_tab(settings: Settings, desk: DeskHandlers, language_state: gr.State) -> _DeskView:
    """The maintainer's tab: one login, then uploads, the corpus, re-index, evaluation, feedback."""
    with gr.Tab(i18n.label("desk_tab", FIRST), id="desk", elem_id="desk-tab") as tab:
        token_state = gr.State(None)
        seen_state = gr.State("")
        calibration_seen = gr.State("")
        # The session token, also set as a cookie: uploads into Gradio's cache need it (advisor.web.access).
        token_box = gr.Textbox(visible="hidden", elem_id="desk-token")
        desk_timer = gr.Timer(DESK_SECONDS, active=False)
        with gr.Row() as login_row:
            password = gr.Textbox(label=i18n.label("password", FIRST), type="password", elem_id="desk-password", scale=3)
            login = gr.Button(i18n.label("unlock", FIRST), scale=1, elem_id="desk-unlock")
        login_note = gr.Markdown("", elem_id="desk-login-note")
        with gr.Column(visible=False, elem_id="desk-controls") as controls:
            view = _desk_controls(settings, login_row, password, login, login_note, controls)
        view.tab = tab
        _wire_desk(desk, view, token_state, seen_state, token_box, desk_timer, language_state)
        _wire_calibration(desk, view, token_state, calibration_seen, desk_timer, language_state)
    return view


def _desk_controls(
    settings: Settings, login_row: gr.Row, password: gr.Textbox, login: gr.Button, login_note: gr.Markdown, controls: gr.Column
) -> _DeskView:
    """What the desk shows once unlocked."""
    logout = gr.Button(i18n.label("logout", FIRST), size="sm", elem_id="desk-logout")
    documents = gr.Markdown(i18n.label("documents", FIRST))
    with gr.Row():
        uploads = gr.File(
            label=i18n.label("upload", FIRST, suffixes=", ".join(maintenance.ALLOWED_SUFFIXES), mb=f"{settings.upload_max_mb:g}"),
            file_count="multiple",
            file_types=list(maintenance.ALLOWED_SUFFIXES),
            elem_id="desk-upload",
            scale=3,
        )
        upload_btn = gr.Button(i18n.label("add", FIRST), elem_id="desk-add", scale=1)
    upload_note = gr.Markdown("", elem_id="desk-upload-note")
    corpus_table = gr.Dataframe(
        headers=maintenance.CORPUS_COLUMNS, interactive=False, wrap=True, label=i18n.label("corpus", FIRST), elem_id="desk-corpus",
        max_height=420,
    )
    with gr.Row():
        remove_choice = gr.Dropdown(
            label=i18n.label("remove_choice", FIRST), choices=[], scale=3, elem_id="desk-remove-choice",
            allow_custom_value=True,  # the handler checks the name against the corpus itself
        )
        remove_btn = gr.Button(i18n.label("remove", FIRST), variant="stop", scale=1, elem_id="desk-remove")
    remove_note = gr.Markdown("", elem_id="desk-remove-note")
    index_heading = gr.Markdown(i18n.label("index", FIRST))
    reindex_btn = gr.Button(i18n.label("reindex", FIRST), variant="primary", elem_id="desk-reindex")
    index_note = gr.Markdown("", elem_id="desk-index-status")
    eval_heading = gr.Markdown(i18n.label("evaluation", FIRST))
    eval_btn = gr.Button(i18n.label("run_eval", FIRST), elem_id="desk-eval")
    eval_note = gr.Markdown("", elem_id="desk-eval-status")
    eval_frame = gr.Dataframe(label=i18n.label("reports", FIRST), interactive=False, elem_id="desk-eval-table")
    calibration_heading = gr.Markdown(i18n.label("calibration", FIRST))
    calibrate_btn = gr.Button(i18n.label("run_calibrate", FIRST), elem_id="desk-calibrate")
    calibrate_note = gr.Markdown("", elem_id="desk-calibrate-status")
    calibration = gr.HTML("", elem_id="desk-calibration")
    apply_btn = gr.Button(i18n.label("apply_calibration", FIRST), variant="primary", visible=False, elem_id="desk-calibrate-apply")
    apply_note = gr.Markdown("", elem_id="desk-calibrate-apply-note")
    feedback_heading = gr.Markdown(i18n.label("feedback", FIRST))
    feedback_btn = gr.Button(i18n.label("refresh", FIRST), size="sm", elem_id="desk-feedback-refresh")
    feedback_table = gr.Dataframe(
        headers=maintenance.FEEDBACK_COLUMNS, interactive=False, wrap=True, label=i18n.label("feedback_table", FIRST),
        elem_id="desk-feedback", max_height=420,
    )
    return _DeskView(
        login_row, password, login, login_note, controls, logout, uploads, upload_btn, upload_note, corpus_table, remove_choice,
        remove_btn, remove_note, reindex_btn, index_note, eval_btn, eval_note, eval_frame, feedback_btn, feedback_table,
        calibrate_btn, calibrate_note, calibration, apply_btn, apply_note,
        headings=[documents, index_heading, eval_heading, feedback_heading, calibration_heading],
    )


def _wire_desk(
    desk: DeskHandlers, v: _DeskView, token_state: gr.State, seen_state: gr.State, token_box: gr.Textbox, desk_timer: gr.Timer,
    language_state: gr.State,
) -> None:
    """The desk's events: every one but the login checks the session token first."""
    lang = language_state
    unlock_outputs = [
        token_state, v.login_row, v.controls, v.login_note, desk_timer, v.corpus_table, v.remove_choice, v.eval_frame,
        v.feedback_table, v.password, token_box,
    ]
    # The one endpoint that takes the password; Enter in the field clicks the same button.
    v.login.click(desk.unlock, [v.password, lang], unlock_outputs, api_name="desk_unlock", concurrency_limit=4).then(
        None, token_box, None, js=SET_DESK_COOKIE, api_visibility="private"
    )
    v.password.submit(None, None, None, js=CLICK_UNLOCK, api_visibility="private")
    lock_outputs = [token_state, v.login_row, v.controls, v.login_note, desk_timer, token_box]
    v.logout.click(desk.lock, [token_state, lang], lock_outputs, api_name="desk_logout").then(
        None, token_box, None, js=SET_DESK_COOKIE, api_visibility="private"
    )
    v.upload_btn.click(
        desk.upload, [token_state, v.uploads, lang], [v.upload_note, v.corpus_table, v.remove_choice, v.uploads], api_name="desk_upload"
    )
    v.remove_btn.click(desk.remove, [token_state, v.remove_choice, lang], [v.remove_note, v.corpus_table, v.remove_choice], api_name="desk_remove")
    v.reindex_btn.click(desk.reindex, [token_state, lang], v.index_note, api_name="desk_reindex").then(
        lambda: "", None, v.upload_note, api_visibility="private"
    )
    v.eval_btn.click(desk.evaluate, [token_state, lang], v.eval_note, api_name="desk_eval")
    v.feedback_btn.click(desk.refresh_feedback, [token_state, lang], v.feedback_table, api_name="desk_feedback")
    desk_timer.tick(
        desk.tick, [token_state, seen_state, lang], [v.index_note, v.eval_note, v.corpus_table, v.remove_choice, v.eval_frame, seen_state],
        show_progress="hidden", api_visibility="private",
    )
    gr.api(desk.status, api_name="desk_status")


def _wire_calibration(
    desk: DeskHandlers, v: _DeskView, token_state: gr.State, seen_state: gr.State, desk_timer: gr.Timer, language_state: gr.State
) -> None:
    """Calibrate (a background run), its result on the desk's timer, and applying the proposal."""
    lang = language_state
    v.calibrate_btn.click(desk.calibrate, [token_state, lang], v.calibrate_note, api_name="desk_calibrate").then(
        lambda: "", None, v.apply_note, api_visibility="private"
    )
    v.apply_btn.click(desk.apply_calibration, [token_state, lang], [v.apply_note, v.apply_btn], api_name="desk_calibrate_apply")
    desk_timer.tick(
        desk.calibration_tick, [token_state, seen_state, lang], [v.calibrate_note, v.calibration, v.apply_btn, seen_state],
        show_progress="hidden", api_visibility="private",
    )

# ---------------------------------------------------------------- serving


def _print_progress() -> Any:
    last: dict[str, Any] = {"stage": None, "t": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != last["stage"] or done == total or now - last["t"] > 2:
            print(f"  {stage:<10} {done}/{total}", flush=True)
            last.update(stage=stage, t=now)

    return progress


def ensure_index(services: Services) -> None:
    """Build the index when there is none, so `advisor serve` works on a fresh clone.

    Not on an app node of a Chroma server: builds come from `advisor index` (any machine); the
    node answers 503 until the server has one and then follows its pointer.
    """
    settings = services.settings
    store = open_store(settings)
    try:
        current = store.current()
    except RuntimeError as exc:  # a Chroma server that cannot be reached (yet): serve, and follow it when it can
        print(f"{exc}; this node answers once the server can be reached.", flush=True)
        return
    if current is not None and store.layout_ok(current):
        return
    if store.kind == "server":
        state = "has no build yet" if current is None else "holds a build of an older version"
        print(f"The Chroma server {state}: this node answers once 'advisor index' has published one.", flush=True)
        return
    if current is None:
        print(f"No index yet: building it from '{settings.corpus_dir}' first (once; later starts are instant).", flush=True)
    else:
        print("The index was built by an older version: rebuilding it (cached embeddings are reused).", flush=True)
    try:
        # An older layout is rebuilt in full: an incremental build would keep the old build's files.
        report = services.build_index(full=current is not None, progress=_print_progress())
    except IndexBusyError:
        print("Another process is building the index; waiting for it to finish...", flush=True)
        while store.current() in (None, current):
            time.sleep(1.0)
        return
    print(f"Index built: {report.documents} documents, {report.chunks} chunks.", flush=True)
    for f in report.failed:
        print(f"  not indexed: {f.source}: {f.reason}", flush=True)


def served_app(settings: Settings) -> FastAPI:
    """What `advisor serve` runs (`advisor.web.launch`): the index built first when there is none,
    then the app on the composition root's advisor."""
    services = build_services(settings)
    ensure_index(services)
    app, _ = build_app(settings, services.advisor)
    return app
