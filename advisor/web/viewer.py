"""The document viewer: a cited document's text, opened at the cited section or page.

It reads only documents of the current index build whose resolved path lies inside the corpus
folder, through the same bounded reader as indexing (a worker process with the settings' time and
memory limits, see `DocumentCache`), and renders their text escaped: nothing of the file is served
as it is, and no file outside the corpus is ever opened.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from cachetools import LRUCache

from advisor.core.types import Document
from advisor.index.stores import open_store
from advisor.ingest.loaders import LOADERS, LoadError
from advisor.ingest.sandbox import GuardedLoader
from advisor.web.render import labels
from advisor.web.sanitize import escape_html, highlight_html

if TYPE_CHECKING:
    from advisor.core.settings import Settings

PDF_WINDOW = 2  # pages shown before and after the cited page
MAX_PIECES = 400


class DocumentUnavailable(LookupError):
    """A request for a document that may not or cannot be shown; the message names no server path."""


def shown_name(source: str) -> str:
    """How a requested path may appear in a message: relative, never absolute."""
    source = (source or "").replace("\\", "/")
    if source.startswith("/") or (len(source) > 1 and source[1] == ":"):
        return PurePosixPath(source).name
    return source[:200]


def resolve_document(settings: Settings, source: str) -> Path:
    """The file of an indexed document, or `DocumentUnavailable`."""
    lab = labels("en")
    message = lab["unavailable"].format(name=shown_name(source))
    if not source or "\x00" in source:
        raise DocumentUnavailable(message)
    rel = PurePosixPath(source.replace("\\", "/"))
    if rel.is_absolute() or any(part in ("..", "") or part.startswith(".") for part in rel.parts):
        raise DocumentUnavailable(message)
    root = Path(settings.corpus_dir).resolve()
    path = (root / Path(*rel.parts)).resolve()
    if not path.is_relative_to(root) or path == root or not path.is_file() or path.suffix.lower() not in LOADERS:
        raise DocumentUnavailable(message)
    store = open_store(settings)
    manifest = (store.info_or_none(store.current()) or {}).get("manifest", {})
    # Only documents that indexing read under its time and memory bounds are parsed here.
    if rel.as_posix() not in manifest:
        raise DocumentUnavailable(message)
    return path


class DocumentCache:
    """Documents recently opened in the viewer, read by the indexer's bounded reader.

    The viewer parses the file as it is now, which a maintainer may have replaced since the build
    that listed it: so it reads through a `GuardedLoader` of its own (a worker process with the
    settings' time and memory bounds), never in the server process, and it remembers failures as
    well as documents, keyed by (source, mtime_ns, size), so a file that cannot be read costs one
    attempt per version, not one per click. Owned by whoever builds the app; `close()` ends the
    worker. Safe to share between threads: loads run one at a time, and a document that another
    thread is loading is waited for, not read twice.
    """

    def __init__(self, timeout: float, memory_mb: int, size: int = 16) -> None:
        self.size = size
        self.loader = GuardedLoader(timeout, memory_mb)
        self.items: LRUCache[tuple[str, int, int], Document] = LRUCache(size)
        self.failures: LRUCache[tuple[str, int, int], str] = LRUCache(4 * size)
        self.lock = threading.Lock()  # guards the two tables
        self.load_lock = threading.Lock()  # one read at a time (the worker serves one anyway)

    def _known(self, key: tuple[str, int, int]) -> Document | None:
        with self.lock:
            failure = self.failures.get(key)
            if failure is not None:
                raise LoadError(failure)
            return self.items.get(key)

    def load(self, path: Path, source: str) -> Document:
        st = path.stat()
        key = (source, st.st_mtime_ns, st.st_size)
        doc = self._known(key)
        if doc is not None:
            return doc
        with self.load_lock:
            doc = self._known(key)  # read by another thread while this one waited
            if doc is not None:
                return doc
            try:
                doc = self.loader.load(path, source)
            except LoadError as exc:
                with self.lock:
                    self.failures[key] = str(exc)
                raise
            with self.lock:
                self.items[key] = doc
            return doc

    def close(self) -> None:
        self.loader.close()

    def __enter__(self) -> DocumentCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def document_html(
    settings: Settings,
    source: str,
    page: int | None = None,
    section: str = "",
    highlights: tuple[str, ...] | list[str] = (),
    language: str | None = None,
    cache: DocumentCache | None = None,
) -> str:
    """The document's text as escaped HTML, the cited place marked `id="doc-target"`.

    `cache` is the app's `DocumentCache`; without one, a cache (and its reader process) is made
    for this call and closed after it.
    """
    lab = labels(language)
    own = cache is None
    try:
        path = resolve_document(settings, source)
        if cache is None:
            cache = DocumentCache(settings.load_timeout, settings.load_memory_mb)
        doc = cache.load(path, PurePosixPath(source).as_posix())
    except (DocumentUnavailable, LoadError, OSError):
        langs = [language] if language in ("nl", "en") else ["nl", "en"]
        text = " · ".join(labels(x)["unavailable"].format(name=shown_name(source)) for x in langs)
        return f'<div class="doc-viewer"><p class="doc-error">{html.escape(text)}</p></div>'
    finally:
        if own and cache is not None:
            cache.close()

    pieces = list(doc.pieces)
    note = ""
    if doc.format == "pdf" and page:
        pages = sorted({p.page for p in pieces if p.page})
        first, last = max(page - PDF_WINDOW, 1), page + PDF_WINDOW
        pieces = [p for p in pieces if p.page and first <= p.page <= last]
        if pages:
            note = lab["pages"].format(first=max(first, pages[0]), last=min(last, pages[-1]), total=pages[-1])
    pieces = pieces[:MAX_PIECES]

    target = _target_index(pieces, page, section)
    out = [f'<div class="doc-viewer"><h2 class="doc-title">{escape_html(doc.title)}</h2>']
    out.append(f'<p class="doc-meta">{escape_html(source)}{" · " + escape_html(note) if note else ""}</p>')
    shown_section: str | None = None
    shown_page: int | None = None
    for i, piece in enumerate(pieces):
        attrs = ' id="doc-target" class="doc-piece doc-target"' if i == target else ' class="doc-piece"'
        if doc.format == "pdf" and piece.page != shown_page:
            shown_page = piece.page
            out.append(f'<h3 class="doc-page">{lab["page_heading"].format(n=piece.page)}</h3>')
        if piece.section != shown_section:
            shown_section = piece.section
            if piece.section:
                depth = min(piece.section.count(" > "), 2)
                out.append(f'<h{4 + depth} class="doc-section">{escape_html(piece.section.split(" > ")[-1])}</h{4 + depth}>')
        paragraphs = "".join(f"<p>{highlight_html(par, highlights)}</p>" for par in piece.text.split("\n") if par.strip())
        out.append(f"<div{attrs}>{paragraphs}</div>")
    out.append("</div>")
    return "".join(out)


def _target_index(pieces: list, page: int | None, section: str) -> int | None:  # type: ignore[type-arg]
    for i, p in enumerate(pieces):
        if section and p.section == section and (page is None or p.page == page):
            return i
    for i, p in enumerate(pieces):
        if page is not None and p.page == page:
            return i
    for i, p in enumerate(pieces):
        if section and p.section.endswith(section):
            return i
    return None
