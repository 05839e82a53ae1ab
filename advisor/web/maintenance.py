"""The maintainer's desk without the UI: uploads, the corpus table, re-index, evaluation and calibration runs.

Indexing, evaluation and calibration run as separate processes (`python -m advisor
index|eval|calibrate --json`), never in the server: Chroma's embedded client is not process-safe and its writes hold the GIL, so a
build inside the server would stall every chat. The server only starts the process, reads the
progress file the build publishes, and shows the result.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.core.settings import RULE_SETTINGS, config_path, overridden_by_environment, write_config
from advisor.evaluate import METRICS
from advisor.index.build import scan_corpus
from advisor.index.stores import open_store
from advisor.ingest.loaders import LOADERS
from advisor.ingest.sandbox import child_environment
from advisor.web.i18n import text
from advisor.web.viewer import shown_name

if TYPE_CHECKING:
    from advisor.core.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES: tuple[str, ...] = tuple(LOADERS)
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm"})
MAX_NAME = 120
CORPUS_COLUMNS = ["File", "Title", "Language", "Format", "Chunks", "Last indexed", "Status / errors"]
FEEDBACK_COLUMNS = ["Time", "Rating", "Question", "Comment", "Answer"]


class UploadError(ValueError):
    """An upload that is refused; the message is for the maintainer and names no server path."""


# ---------------------------------------------------------------- uploads


def safe_filename(name: str) -> str:
    """A corpus file name from whatever the browser sent, or `UploadError`.

    Only the last path component counts; characters outside [A-Za-z0-9._-] become '-'; '..'
    cannot survive; hidden files, unsupported types and the corpus catalogue are refused.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    if base.startswith("."):
        raise UploadError(f"'{base[:MAX_NAME]}' is a hidden file name; hidden files are not accepted")
    base = re.sub(r"[^A-Za-z0-9._-]", "-", base)
    base = re.sub(r"\.{2,}", ".", base)
    base = re.sub(r"-{2,}", "-", base).strip("-. ")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip("-._"):
        raise UploadError(f"'{base or name[:40]}' has no usable file name")
    suffix = "." + suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadError(f"'{base}': file type '{suffix}' is not accepted (allowed: {', '.join(ALLOWED_SUFFIXES)})")
    stem = stem[: MAX_NAME - len(suffix)].strip("-.")
    clean = stem + suffix
    if clean.lower() == "readme.md":
        raise UploadError("README.md is the corpus catalogue and is not indexed; give the file another name")
    return clean


def content_problem(suffix: str, data: bytes) -> str | None:
    """Why the bytes are not the type their suffix claims, or None when they are."""
    suffix = suffix.lower()
    if not data:
        return "the file is empty"
    if suffix == ".pdf":
        return None if data.startswith(b"%PDF") else "the file is not a PDF (it does not start with %PDF)"
    if suffix == ".docx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "the file is not a DOCX document (not a zip archive)"
        return None if "word/document.xml" in names else "the file is not a DOCX document (no word/document.xml inside)"
    if suffix in TEXT_SUFFIXES:
        if b"\x00" in data:
            return "the file is not text (it contains NUL bytes)"
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "the file is not UTF-8 text"
        return None
    return f"file type '{suffix}' is not accepted"


@dataclass(frozen=True)
class Saved:
    name: str
    replaced: bool
    size: int


def save_upload(settings: Settings, original_name: str, data: bytes) -> Saved:
    """Check an uploaded file and put it in the corpus (atomically), or raise `UploadError`."""
    name = safe_filename(original_name)
    limit = settings.upload_max_mb * 2**20
    if len(data) > limit:
        raise UploadError(f"'{name}' is {len(data) / 2**20:.1f} MiB, over the upload limit of {settings.upload_max_mb:g} MiB")
    problem = content_problem(Path(name).suffix, data)
    if problem:
        raise UploadError(f"'{name}' was refused: {problem}")
    root = Path(settings.corpus_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    # `name` is one plain component, so the target is an entry of the corpus folder itself. It is
    # not resolved: when that entry is a symbolic link, os.replace swaps the link for the upload
    # and never writes to the file it pointed to (which may be outside the corpus, or another
    # corpus document).
    target = root / name
    if target.parent != root or name in ("", ".", ".."):
        raise UploadError(f"'{name}' would land outside the corpus folder")
    if target.is_dir() and not target.is_symlink():
        raise UploadError(f"'{name}' is a folder in the corpus; give the file another name")
    replaced = target.is_symlink() or target.exists()
    # A fresh temporary file (O_EXCL: never through a link someone left under a predictable name).
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=f".{name}.upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Saved(name, replaced, len(data))


# ---------------------------------------------------------------- the corpus


def corpus_files(settings: Settings) -> list[str]:
    """Files on disk in the corpus, relative, as indexing walks it (`index.build.scan_corpus`): the
    files it reads and the ones it refuses (with a reason the table shows), hidden ones and the
    catalogue left out. A symbolic link is listed by its own name, so it can be removed."""
    try:
        found, refused = scan_corpus(Path(settings.corpus_dir))
    except FileNotFoundError:
        return []
    return sorted({*found, *(f.source for f in refused)})


def corpus_key(settings: Settings) -> str:
    """Changes whenever the current build or a corpus file changes: when the desk's tables are stale."""
    root = Path(settings.corpus_dir)
    parts = [open_store(settings).current() or ""]
    for rel in corpus_files(settings):
        try:
            st = (root / rel).stat()
        except OSError:
            continue
        parts.append(f"{rel}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def current_info(settings: Settings) -> dict[str, Any] | None:
    store = open_store(settings)
    return store.info_or_none(store.current())


def corpus_rows(settings: Settings) -> list[list[Any]]:
    """The corpus table: indexed documents, files that failed, files not indexed yet, files gone."""
    info = current_info(settings) or {}
    manifest: dict[str, Any] = info.get("manifest", {})
    failed = {f["source"]: f["reason"] for f in info.get("failed", [])}
    on_disk = set(corpus_files(settings))
    rows: list[list[Any]] = []
    for source in sorted(on_disk | set(manifest) | set(failed)):
        m = manifest.get(source)
        if source not in on_disk:
            status = "removed from the corpus; re-index to drop it from answers"
        elif source in failed:
            status = f"not indexed: {failed[source]}"
        elif m is None:
            status = "not indexed yet; start a re-index"
        else:
            status = "indexed"
        if m:
            rows.append([source, m.get("title", ""), m.get("language", ""), m.get("format", ""), m.get("chunks", 0), m.get("indexed_at", ""), status])
        else:
            rows.append([source, "", "", Path(source).suffix.lstrip("."), 0, "", status])
    return rows


def remove_document(settings: Settings, source: str, language: str | None = None) -> str:
    """Delete a corpus file chosen from the corpus listing; the index keeps it until a re-index."""

    root = Path(settings.corpus_dir).resolve()
    refused = UploadError(text("not_in_corpus", language, name=shown_name(source)))
    if source not in corpus_files(settings):
        raise refused
    # The entry itself is removed: a symbolic link, never the file it points to. Its folder must
    # really lie inside the corpus (a linked folder could lead anywhere).
    entry = root / source
    parent = entry.parent.resolve()
    if not parent.is_relative_to(root):
        raise refused
    path = parent / entry.name
    if not path.is_symlink() and not path.is_file():
        raise refused
    path.unlink()
    return text("removed", language, source=source)


# ---------------------------------------------------------------- background runs


SECRET_SETTINGS = frozenset({"admin_password", "llm_api_key"})


def settings_env(settings: Settings, *, llm_key: bool = False) -> dict[str, str]:
    """The environment of an index or eval child: the server's settings as ADVISOR_* variables, so
    the child uses the very same ones, and of the server's own environment only the allow-listed
    variables that run Python (`advisor.ingest.sandbox.child_environment`): no password, no API key, no
    variable of anything else that runs in the server.

    `llm_key`: the child measures the configured LLM (the evaluation), so it gets the API key
    (setting `llm_api_key`, or else OPENAI_API_KEY) when an LLM backend is configured.
    """

    env = child_environment(extra=("ADVISOR_CONFIG",))
    for name, value in settings.model_dump().items():
        if value is None or name in SECRET_SETTINGS:
            continue
        if isinstance(value, Path):
            value = str(value.resolve())
        env[f"ADVISOR_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    measures_llm = llm_key and settings.llm_backend != "none"
    if measures_llm:
        if settings.llm_api_key:
            env["ADVISOR_LLM_API_KEY"] = settings.llm_api_key
        elif os.environ.get("OPENAI_API_KEY"):
            env["OPENAI_API_KEY"] = os.environ["OPENAI_API_KEY"]
    if measures_llm or settings.chroma_server_url:  # servers the child must reach, perhaps through a proxy
        env.update({k: v for k, v in os.environ.items() if k.lower() in ("http_proxy", "https_proxy", "all_proxy")})
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def scrub_paths(text: str, settings: Settings) -> str:
    """A child's message without the server's absolute paths."""
    for path, label in ((settings.corpus_dir, "corpus"), (settings.index_dir, "index")):
        text = text.replace(str(Path(path).resolve()), label).replace(str(path), label)
    return re.sub(r"(?<![\w.])/(?:[\w.+-]+/)+[\w.+-]*", "<path>", text)


@dataclass
class Job:
    kind: str  # "index", "eval" or "calibrate"
    process: subprocess.Popen[str]
    out_path: Path
    err_path: Path
    started: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None
    error: str = ""
    finished: bool = False


# Per kind of run: the notes when it starts, when it already runs, and when it cannot start.
_STARTED = {"index": "index_started", "eval": "eval_started", "calibrate": "calibrate_started"}
_ALREADY = {"index": "index_running", "eval": "eval_running_already", "calibrate": "calibrate_running_already"}


class Runner:
    """At most one re-index, one evaluation and one calibration at a time, started from the desk, watched by polling."""

    def __init__(
        self,
        settings: Settings,
        index_command: Sequence[str] | None = None,
        eval_command: Sequence[str] | None = None,
        calibrate_command: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.index_command = list(index_command or [sys.executable, "-m", "advisor", "index", "--json"])
        self.eval_command = list(eval_command or [sys.executable, "-m", "advisor", "eval", "--json"])
        self.calibrate_command = list(calibrate_command or [sys.executable, "-m", "advisor", "calibrate", "--json"])
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def _paths_args(self) -> list[str]:
        return ["--corpus", str(Path(self.settings.corpus_dir).resolve()), "--index", str(Path(self.settings.index_dir).resolve())]

    def _start(self, kind: str, command: list[str], language: str | None) -> str:
        with self.lock:
            job = self.jobs.get(kind)
            if job is not None and job.process.poll() is None:
                return text(_ALREADY[kind], language)
            index_dir = Path(self.settings.index_dir)
            if kind == "index" and open_store(self.settings).is_building():
                return text("index_building", language)
            logs = index_dir / "desk"
            logs.mkdir(parents=True, exist_ok=True)
            out_path, err_path = logs / f"{kind}.out", logs / f"{kind}.err"
            with out_path.open("w") as out, err_path.open("w") as err:
                proc = subprocess.Popen(
                    [*command, *self._paths_args()],
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    env=settings_env(self.settings, llm_key=kind == "eval"),
                    text=True,
                    start_new_session=True,
                )
            self.jobs[kind] = Job(kind, proc, out_path, err_path)
        log.info("started %s run (process %d)", kind, proc.pid)
        return text(_STARTED[kind], language)

    def start_index(self, language: str | None = None) -> str:
        return self._start("index", self.index_command, language)

    def start_eval(self, language: str | None = None) -> str:
        return self._start("eval", self.eval_command, language)

    def start_calibrate(self, language: str | None = None) -> str:
        return self._start("calibrate", self.calibrate_command, language)

    def running(self, kind: str) -> bool:
        job = self.jobs.get(kind)
        return job is not None and job.process.poll() is None

    def poll(self, kind: str) -> Job | None:
        job = self.jobs.get(kind)
        if job is None or job.finished or job.process.poll() is None:
            return job
        job.finished = True
        out = job.out_path.read_text(errors="replace").strip()
        err = job.err_path.read_text(errors="replace").strip()
        try:
            job.result = json.loads(out.splitlines()[-1]) if out else None
        except ValueError:
            job.result = None
        if job.process.returncode not in (0, 4) or job.result is None:
            lines = [ln for ln in err.splitlines() if ln.strip() and not ln.lstrip().startswith(("Traceback", "File "))]
            job.error = scrub_paths(lines[-1] if lines else f"the run ended with exit code {job.process.returncode}", self.settings)
        return job

    def index_status(self, language: str | None = None) -> str:
        """One plain sentence or two on the re-index: running with progress, done, or failed."""
        job = self.poll("index")
        progress = open_store(self.settings).progress()
        if progress is not None:
            return text("index_progress", language, progress=_progress_words(progress))
        if job is None:
            return text("no_reindex_yet", language)
        if not job.finished:
            return text("index_starting", language)
        if job.error:
            return text("index_failed", language, error=job.error)
        return index_summary(job.result or {}, language)

    def _run_status(self, kind: str, language: str | None) -> tuple[str, Job | None]:
        """A child run's line (running for so long, failed with its reason, or finished; '' before
        any), and the job it describes."""
        job = self.poll(kind)
        if job is None:
            return "", None
        if not job.finished:
            return text(f"{kind}_running", language, seconds=f"{time.monotonic() - job.started:.0f}"), job
        if job.error:
            return text(f"{kind}_failed", language, error=job.error), job
        return text(f"{kind}_finished", language), job

    def eval_status(self, language: str | None = None) -> str:
        status, job = self._run_status("eval", language)
        below = job is not None and job.finished and not job.error and job.process.returncode == 4
        return status + (text("below_bars", language) if below else "")

    def calibrate_status(self, language: str | None = None) -> str:
        return self._run_status("calibrate", language)[0]

    def calibration(self) -> dict[str, Any] | None:
        """The last finished calibration's result (`advisor calibrate --json`), or None."""
        job = self.poll("calibrate")
        return job.result if job is not None and job.finished and not job.error else None

    def stop_all(self) -> None:
        for job in self.jobs.values():
            if job.process.poll() is None:
                job.process.terminate()


def _progress_words(progress: dict[str, Any]) -> str:
    stage, done, total = progress.get("stage", "starting"), progress.get("done", 0), progress.get("total", 0)
    return f"{stage} {done}/{total}" if total else str(stage)


def index_summary(report: dict[str, Any], language: str | None = None) -> str:
    """An index report in plain words, one line per failed file."""
    if report.get("noop"):
        head = text("index_noop", language, build=report.get("build_id"))
    else:
        head = text(
            "index_current", language, build=report.get("build_id"), documents=report.get("documents", 0),
            chunks=report.get("chunks", 0), added=len(report.get("added", [])), changed=len(report.get("changed", [])),
            removed=len(report.get("removed", [])),
        )
    failed = report.get("failed", [])
    if failed:
        head += f"\n\n{text('index_failed_files', language, count=len(failed))}\n" + "\n".join(f"- {f['source']}: {f['reason']}" for f in failed)
    return head


# ---------------------------------------------------------------- evaluation reports



def eval_reports(settings: Settings, n: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """The newest evaluation reports of this index, newest first, as (file name, report)."""
    folder = Path(settings.index_dir) / "eval"
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(folder.glob("eval-*.json"), reverse=True):
        try:
            out.append((path.name, json.loads(path.read_text())))
        except (OSError, ValueError):
            continue
        if len(out) == n:
            break
    return out


def eval_table(reports: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[list[Any]]]:
    """Metrics side by side: the newest report, the one before, and the change."""
    headers = ["Metric"] + [name.removeprefix("eval-").removesuffix(".json") for name, _ in reports]
    if len(reports) == 2:
        headers.append("Change")
    rows: list[list[Any]] = []
    for key in METRICS:
        values = [r.get("metrics", {}).get(key) for _, r in reports]
        if all(v is None for v in values):
            continue
        row: list[Any] = [key] + ["-" if v is None else (int(v) if key == "questions" else round(float(v), 3)) for v in values]
        if len(reports) == 2:
            a, b = values
            row.append("-" if a is None or b is None else f"{float(a) - float(b):+.3f}")
        rows.append(row)
    return headers, rows


# ---------------------------------------------------------------- calibration

CALIBRATION_FIGURES = ("refusal_precision", "refusal_recall", "answered", "recall_at_5")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return html.escape(str(value), quote=True)


def calibration_html(result: dict[str, Any] | None, language: str | None = None) -> str:
    """The desk's view of a calibration: current and proposed rule with their figures, the questions
    whose outcome changes, and the notes, every value from the run escaped."""
    if not result:
        return ""
    q = result.get("questions", {})
    parts = [f"<p>{html.escape(text('calib_questions', language, total=q.get('total', 0), answerable=q.get('answerable', 0), refusal=q.get('refusal', 0), file=Path(str(q.get('file', ''))).name))}</p>"]
    chance = result.get("index", {}).get("chance") or {}
    if chance:
        shift = result.get("index", {}).get("chance_shift") or {}
        levels = ", ".join(
            f"{lang} {float(v):.3f}" + (f" ({-float(shift[lang]):+.3f})" if abs(float(shift.get(lang, 0.0))) >= 0.0005 else "")
            for lang, v in sorted(chance.items())
        )
        parts.append(f"<p>{html.escape(text('calib_chance', language, levels=levels))}</p>")
    head = "".join(f"<th>{html.escape(text(f'calib_{k}', language))}</th>" for k in ("rule", *RULE_SETTINGS, *CALIBRATION_FIGURES))
    rows = []
    for which in ("current", "proposed"):
        part = result.get(which, {})
        values = [part.get("rule", {}).get(k) for k in RULE_SETTINGS] + [part.get("figures", {}).get(k) for k in CALIBRATION_FIGURES]
        rows.append(f"<tr><td>{html.escape(text(f'calib_{which}', language))}</td>" + "".join(f"<td>{_cell(v)}</td>" for v in values) + "</tr>")
    parts.append(f'<table class="calibration"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    changed = result.get("changed", [])
    if changed:
        parts.append(f"<p>{html.escape(text('calib_changed', language, n=len(changed)))}</p>")
        items = "".join(
            f"<li><code>{_cell(c.get('id'))}</code> {html.escape(text('calib_outcome_' + str(c.get('before')), language))} &rarr; "
            f"{html.escape(text('calib_outcome_' + str(c.get('after')), language))} ({html.escape(text('calib_should_' + str(c.get('should')), language))}): "
            f"{_cell(str(c.get('question', ''))[:200])}</li>"
            for c in changed[:50]
        )
        parts.append(f"<ul>{items}</ul>")
    else:
        parts.append(f"<p>{html.escape(text('calib_unchanged', language))}</p>")
    parts += _glossary_html(result.get("glossary") or {}, language)
    notes = [calibration_note(n, language) for n in result.get("notes", [])]
    if notes:
        parts.append(f"<p><strong>{html.escape(text('calib_notes', language))}</strong></p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(parts)


GLOSSARY_FIGURES = ("recall_at_5", "mrr", "cross_language_recall_at_5", "refusal_precision", "refusal_recall")


def _glossary_html(glossary: dict[str, Any], language: str | None) -> list[str]:
    """The glossaries a calibration tried, and the one it proposes."""
    tried = glossary.get("tried") or []
    if len(tried) < 2:
        return []
    head = "".join(f"<th>{html.escape(text(f'calib_{k}', language))}</th>" for k in ("glossary", *GLOSSARY_FIGURES))
    rows = "".join(
        f"<tr><td>{_cell(g.get('glossary'))}</td>" + "".join(f"<td>{_cell(g.get(k))}</td>" for k in GLOSSARY_FIGURES) + "</tr>" for g in tried
    )
    proposed, current = glossary.get("proposed"), glossary.get("current")
    verdict = text("calib_glossary_proposed" if proposed != current else "calib_glossary_kept", language, glossary=str(proposed))
    return [
        f"<p>{html.escape(text('calib_glossaries', language))}</p>",
        f'<table class="calibration"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>',
        f"<p>{html.escape(verdict)}</p>",
    ]


def calibration_note(note: dict[str, Any], language: str | None = None) -> str:
    """A calibration note in the desk's language: its code's sentence with its values, else the English one."""
    values = dict(note.get("values") or {})
    if "documents" in values:
        values["documents"] = ", ".join(str(d) for d in values["documents"][:8])
    if "group" in values:
        values["group"] = text(f"calib_group_{values['group']}", language)
    try:
        return text(f"calib_note_{note.get('code')}", language, **values)
    except (KeyError, ValueError, IndexError):
        return str(note.get("message", ""))


def result_key(result: dict[str, Any] | None, language: str | None) -> str:
    """Changes when the calibration's result or the page's language does: when the desk's view is stale."""
    if result is None:
        return ""
    return hashlib.sha1(json.dumps(result, sort_keys=True).encode()).hexdigest() + f"|{language}"


def proposal(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The proposed values of a calibration, when they differ from the current ones: the rule, and
    the glossary when another one is proposed (the rule was calibrated with it)."""
    if not result:
        return None
    proposed = result.get("proposed", {}).get("rule", {})
    current = result.get("current", {}).get("rule", {})
    values: dict[str, Any] = {k: float(proposed[k]) for k in RULE_SETTINGS if k in proposed}
    if len(values) != len(RULE_SETTINGS):
        return None
    glossary = result.get("glossary") or {}
    if glossary.get("proposed") and glossary.get("proposed") != glossary.get("current"):
        values["glossary"] = str(glossary["proposed"])
    return values if values != {k: current.get(k) for k in RULE_SETTINGS} else None


@dataclass(frozen=True)
class Applied:
    values: dict[str, Any]
    path: str  # the settings file, as the server names it (relative unless ADVISOR_CONFIG is absolute)
    overridden: list[str]  # ADVISOR_* variables that win over the file at the next start


def apply_calibration(values: dict[str, Any], build: str | None) -> Applied:
    """Write a calibration's values into the settings file in use, keeping its other lines."""
    stamp = time.strftime("%Y-%m-%d")
    path = write_config(values, config_path(), note=f"refusal rule set from the maintainer's desk on {stamp} (build {build})")
    return Applied(values, path.name if path.is_absolute() else str(path), overridden_by_environment(list(values)))
