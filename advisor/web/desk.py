"""The maintainer's desk: its handlers and upload helpers, callable without a server.

    DeskHandlers(settings, runner, gate, apply_settings)
        .unlock  .lock  .upload  .remove  .reindex  .evaluate  .tick  .refresh_feedback  .status  .relabel
        .calibrate  .calibration_tick  .apply_calibration
    in_upload_cache(path, cache_dir), desk_upload_lines(settings, files, cache_dir, language)

One login (`unlock`) gives a session token; every other handler checks it first. The work itself
(saving uploads, running the re-index, the evaluation and the calibration in their own processes)
is in `advisor.web.maintenance`. Applying a calibration writes the settings file and hands the
values to `apply_settings` (the app's `Advisor.reconfigure`), so the next answer uses them. Each handler that writes a note takes the session's chosen language
(`advisor.web.i18n`); without one (an API client) the notes are in English.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported at module level: handlers' `gr.Request` annotations must resolve.
import gradio as gr

from advisor.index.stores import open_store
from advisor.web import maintenance
from advisor.web.access import client_address
from advisor.web.i18n import label, text
from advisor.web.feedback import read_feedback
from advisor.web.sanitize import plain_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.core.settings import Settings
    from advisor.web.access import DeskGate

log = logging.getLogger(__name__)



def in_upload_cache(path: str | Path, cache_dir: str | Path) -> bool:
    """Whether `path` is a file Gradio's upload route wrote (inside its cache), not a server path."""
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    root = Path(cache_dir).resolve()
    return resolved.is_relative_to(root) and resolved != root and resolved.is_file()


def _save_one(settings: Settings, path: Path, cache_dir: str | Path, language: str | None) -> str:
    """Save one uploaded file into the corpus; its line of result. The cached copy is removed."""
    refused = text("refused", language)
    if not in_upload_cache(path, cache_dir):
        log.warning("desk upload refused: %s is not a file the upload route received", path.name)
        return f"- {refused}: {text('not_uploaded_here', language, name=path.name)}"
    try:
        if path.stat().st_size > settings.upload_max_mb * 2**20:
            raise maintenance.UploadError(text("over_limit", language, name=path.name, mb=f"{settings.upload_max_mb:g}"))
        saved = maintenance.save_upload(settings, path.name, path.read_bytes())
        return f"- {saved.name}: {text('replaced' if saved.replaced else 'added', language)} ({_size(saved.size)})"
    except maintenance.UploadError as exc:
        return f"- {refused}: {exc}"
    except OSError:
        return f"- {refused}: {text('unreadable', language, name=path.name)}"
    finally:
        path.unlink(missing_ok=True)  # the cached copy is not kept once it is in the corpus (or refused)


def desk_upload_lines(settings: Settings, files: Sequence[Any] | None, cache_dir: str | Path, language: str | None = None) -> list[str]:
    """Save uploaded files into the corpus, one line of result per file; only files from the upload cache."""
    lines = [_save_one(settings, Path(str(f)), cache_dir, language) for f in files or []]
    if not lines:
        lines.append(text("choose_files", language))
    elif any(not ln.startswith(f"- {text('refused', language)}:") for ln in lines):
        lines.append(f"\n{text('reindex_to_use', language)}")
    return lines


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


class DeskHandlers:
    """The desk's event handlers; each method's parameters are exactly the event's inputs."""

    def __init__(
        self,
        settings: Settings,
        runner: maintenance.Runner,
        gate: DeskGate,
        apply_settings: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        """`apply_settings` makes applied values take effect in the serving process; without it the
        desk writes them and says a restart is needed."""
        self.settings = settings
        self.runner = runner
        self.gate = gate
        self.apply_settings = apply_settings

    # -------------------------------------------------------- views

    def _require(self, token: str | None, request: gr.Request, language: str | None = None) -> None:
        if not self.gate.check(token, client_address(request)):
            raise gr.Error(text("login_first", language))

    def table(self) -> list[list[Any]]:
        """The corpus table, its text cells made plain."""
        return [[plain_text(str(v)) if isinstance(v, str) else v for v in row] for row in maintenance.corpus_rows(self.settings)]

    def files_choice(self) -> Any:
        return gr.update(choices=maintenance.corpus_files(self.settings), value=None)

    def eval_view(self) -> dict[str, Any]:
        headers, rows = maintenance.eval_table(maintenance.eval_reports(self.settings))
        return {"headers": headers, "data": rows}

    def feedback_rows(self) -> list[list[Any]]:
        return [
            [r.get("time", ""), r.get("rating", ""), str(r.get("question", ""))[:500], str(r.get("comment", ""))[:500], str(r.get("answer", ""))[:300]]
            for r in read_feedback(self.settings.feedback_path)
        ]

    # -------------------------------------------------------- handlers

    def relabel(self, choice: str | None) -> tuple[Any, ...]:
        """The desk's labels in the language chosen on the switch, in the order of `app._DeskView.labelled`."""
        suffixes, mb = ", ".join(maintenance.ALLOWED_SUFFIXES), f"{self.settings.upload_max_mb:g}"
        return (
            gr.update(label=label("desk_tab", choice)),
            gr.update(label=label("password", choice)),
            gr.update(value=label("unlock", choice)),
            gr.update(value=label("logout", choice)),
            gr.update(value=label("documents", choice)),
            gr.update(label=label("upload", choice, suffixes=suffixes, mb=mb)),
            gr.update(value=label("add", choice)),
            gr.update(label=label("corpus", choice)),
            gr.update(label=label("remove_choice", choice)),
            gr.update(value=label("remove", choice)),
            gr.update(value=label("index", choice)),
            gr.update(value=label("reindex", choice)),
            gr.update(value=label("evaluation", choice)),
            gr.update(value=label("run_eval", choice)),
            gr.update(label=label("reports", choice)),
            gr.update(value=label("feedback", choice)),
            gr.update(value=label("refresh", choice)),
            gr.update(label=label("feedback_table", choice)),
            gr.update(value=label("calibration", choice)),
            gr.update(value=label("run_calibrate", choice)),
            gr.update(value=label("apply_calibration", choice)),
        )

    def unlock(self, password: str, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Log in. Returns (token, login row, controls, login note, timer, corpus, remove choice,
        eval table, feedback table, password box, token box)."""
        result = self.gate.login(password, client_address(request))
        if not result.ok:
            note = text("wrong_password", language)
            if result.wait_seconds > 0:
                note += " " + text("wait", language, seconds=f"{result.wait_seconds:.0f}")
            return (None, gr.skip(), gr.skip(), note, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "", "")
        return (
            result.token, gr.update(visible=False), gr.update(visible=True), "", gr.Timer(active=True),
            self.table(), self.files_choice(), self.eval_view(), self.feedback_rows(), "", result.token,
        )

    def lock(self, token: str | None, language: str | None) -> tuple[Any, ...]:
        """Log out. Returns (token, login row, controls, login note, timer, token box)."""
        self.gate.logout(token)
        return None, gr.update(visible=True), gr.update(visible=False), text("logged_out", language), gr.Timer(active=False), ""

    def upload(self, token: str | None, files: list[str] | None, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        from gradio.utils import get_upload_folder

        self._require(token, request, language)
        lines = desk_upload_lines(self.settings, files, get_upload_folder(), language)
        return "\n".join(lines), self.table(), self.files_choice(), None

    def remove(self, token: str | None, source: str | None, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        self._require(token, request, language)
        if not source:
            return text("choose_document", language), gr.skip(), gr.skip()
        try:
            note = maintenance.remove_document(self.settings, source, language)
        except maintenance.UploadError as exc:
            note = str(exc)
        except OSError:
            note = text("not_removed", language, source=source)
        return note, self.table(), self.files_choice()

    def reindex(self, token: str | None, language: str | None, request: gr.Request) -> str:
        self._require(token, request, language)
        return self._start(self.runner.start_index, "index", language)

    def evaluate(self, token: str | None, language: str | None, request: gr.Request) -> str:
        self._require(token, request, language)
        return self._start(self.runner.start_eval, "eval", language)

    def calibrate(self, token: str | None, language: str | None, request: gr.Request) -> str:
        """Start `advisor calibrate --json` on the current index; nothing is written until applied."""
        self._require(token, request, language)
        return self._start(self.runner.start_calibrate, "calibrate", language)

    def calibration_tick(self, token: str | None, seen: str, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The desk's timer for the calibration: (status, view, apply button, seen key); the view is
        sent only when the result or the language changed."""
        if not self.gate.check(token, client_address(request), touch=False):
            return (gr.skip(),) * 4
        status = self.runner.calibrate_status(language)
        result = self.runner.calibration()
        key = maintenance.result_key(result, language)
        if key == seen:
            return status, gr.skip(), gr.skip(), seen
        if result is None:  # a later run failed or is running: the earlier result is no longer shown
            return status, "", gr.update(visible=False), key
        applicable = maintenance.proposal(result) is not None
        return status, maintenance.calibration_html(result, language), gr.update(visible=applicable, interactive=applicable), key

    def apply_calibration(self, token: str | None, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Write the last calibration's proposal (the server's copy, never values from the page) into the
        settings file, and use it from the next answer on. Returns (note, apply button)."""
        self._require(token, request, language)
        result = self.runner.calibration()
        values = maintenance.proposal(result)
        if result is None or values is None:
            return text("calib_nothing_to_apply", language), gr.update(visible=False)
        build = (result.get("index") or {}).get("build")
        if build != open_store(self.settings).current(fresh=True):
            return text("calib_stale", language), gr.update(visible=False)
        try:
            applied = maintenance.apply_calibration(values, build)
        except (OSError, ValueError) as exc:
            log.exception("writing the calibration failed")
            return text("calib_apply_failed", language, error=maintenance.scrub_paths(str(exc), self.settings)), gr.skip()
        shown = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items())
        # The desk's own settings go to the children it starts next (evaluation, calibration): they must see the new rule.
        self.settings = self.settings.model_copy(update=values)
        self.runner.settings = self.settings
        if self.apply_settings is None:
            note = text("calib_written_restart", language, path=applied.path, values=shown)
        else:
            self.apply_settings(values)
            note = text("calib_applied", language, path=applied.path, values=shown)
        if applied.overridden:
            note += text("calib_overridden", language, variables=", ".join(applied.overridden), path=applied.path)
        log.info("calibration applied from the desk: %s", shown)
        return note, gr.update(visible=False)

    @staticmethod
    def _start(start: Callable[[str | None], str], kind: str, language: str | None) -> str:
        try:
            return start(language)
        except OSError:
            log.exception("starting the %s run failed", kind)
            return text(f"{kind}_start_failed", language)

    def tick(self, token: str | None, seen: str, language: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The desk's timer: (index status, eval status, corpus, remove choice, eval table, seen key);
        the tables are sent only when the corpus or the last report changed."""
        if not self.gate.check(token, client_address(request), touch=False):
            return (gr.skip(),) * 6
        index_text = self.runner.index_status(language)
        eval_text = self.runner.eval_status(language)
        reports = maintenance.eval_reports(self.settings)
        key = f"{maintenance.corpus_key(self.settings)}|{reports[0][0] if reports else ''}"
        if key == seen:
            return index_text, eval_text, gr.skip(), gr.skip(), gr.skip(), seen
        return index_text, eval_text, self.table(), self.files_choice(), self.eval_view(), key

    def refresh_feedback(self, token: str | None, language: str | None, request: gr.Request) -> list[list[Any]]:
        self._require(token, request, language)
        return self.feedback_rows()

    def status(self, token: str | None, request: gr.Request) -> dict[str, str]:
        """What the desk shows about the re-index and the evaluation, for scripts that watch them."""
        self._require(token, request)
        return {"index": self.runner.index_status(), "eval": self.runner.eval_status(), "calibrate": self.runner.calibrate_status()}
