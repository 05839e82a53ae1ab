"""The JSON API next to the UI: `POST /api/ask` and `GET /api/health`.

Whatever a client sends, the answer is JSON: a body over `MAX_BODY` bytes gets 413 (from
`access.RequestLimits`, on Content-Length and while a body without one streams in), one that is not JSON, nested
deeper than `MAX_DEPTH` or holding text that is not Unicode (lone surrogates) gets 400, and the
answer itself is serialised so that no character can fail it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

# Imported at module level so FastAPI can resolve the handlers' annotations; only the UI imports this.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from advisor.index.stores import open_store
from advisor.retrieve.search import NoIndexError

if TYPE_CHECKING:
    from advisor.answer.service import Advisor
    from advisor.core.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION = 2000
MAX_HISTORY = 50
MAX_BODY = 64 * 1024  # bytes of an /api/ask body: a question, its history, and room to spare
MAX_DEPTH = 32  # nesting of arrays and objects in a body; a valid one needs 3

_SURROGATE = re.compile("[\ud800-\udfff]")


class BadRequest(ValueError):
    """A request the API cannot answer; the message says what to change."""


class SafeJSONResponse(JSONResponse):
    """A JSONResponse that cannot fail on text: lone surrogates (which UTF-8 cannot encode) become U+FFFD."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def _error(message: str, status: int) -> SafeJSONResponse:
    return SafeJSONResponse({"error": message}, status_code=status)


def _depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count).

    Checked before parsing, so a body of 60 000 '[' never reaches the recursive parser.
    """
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_json_body(data: bytes) -> Any:
    """The body as JSON, or `BadRequest` saying why not."""
    if not data.strip():
        return None
    if _depth_exceeds(data, MAX_DEPTH):
        raise BadRequest(f"the body is nested too deeply (more than {MAX_DEPTH} levels of arrays or objects)")
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid JSON (it is not UTF-8 text)") from None
    except RecursionError:
        raise BadRequest(f"the body is nested too deeply (more than {MAX_DEPTH} levels of arrays or objects)") from None
    except ValueError:  # JSONDecodeError
        raise BadRequest("the body is not valid JSON") from None


def _text_problem(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def parse_ask(body: Any) -> tuple[str, list[Any]]:
    """The question and history of an /api/ask body, or `BadRequest` with a clear message."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"question": "..."}')
    question = body.get("question")
    if question is None:
        raise BadRequest("'question' is missing")
    if not isinstance(question, str):
        raise BadRequest("'question' must be a string")
    if not question.strip():
        raise BadRequest("'question' is empty")
    if len(question) > MAX_QUESTION:
        raise BadRequest(f"'question' is longer than {MAX_QUESTION} characters")
    if _text_problem(question):
        raise BadRequest("'question' contains invalid text (an unpaired UTF-16 surrogate such as \\ud800)")
    history = body.get("history") or []
    if not isinstance(history, list):
        raise BadRequest("'history' must be a list of earlier questions or {role, content} messages")
    clean: list[Any] = []
    for turn in history[-MAX_HISTORY:]:
        if isinstance(turn, str):
            clean.append(turn)
        elif isinstance(turn, dict) and isinstance(turn.get("role"), str) and isinstance(turn.get("content"), str):
            clean.append({"role": turn["role"], "content": turn["content"]})
        else:
            raise BadRequest("each 'history' item must be a string or a {role, content} message with string values")
        if any(_text_problem(t) for t in ((turn,) if isinstance(turn, str) else (turn["role"], turn["content"]))):
            raise BadRequest("a 'history' item contains invalid text (an unpaired UTF-16 surrogate such as \\ud800)")
    return question, clean


def health(settings: Settings) -> dict[str, Any]:
    store = open_store(settings)
    build = store.current()
    documents = chunks = 0
    info = store.info_or_none(build)
    if info is not None:
        documents, chunks = int(info.get("documents", 0)), int(info.get("chunks", 0))
    return {"status": "ok" if build else "no index", "build": build, "documents": documents, "chunks": chunks, "building": store.is_building()}


def add_api_routes(app: FastAPI, advisor: Advisor, settings: Settings) -> None:
    import anyio


    # Answers are CPU-bound: as many at once as the UI's chat allows, the rest wait their turn.
    limiter = anyio.CapacityLimiter(settings.concurrency_limit)

    @app.post("/api/ask")
    async def ask(request: Request) -> JSONResponse:
        try:
            # The body's size is capped before this by `access.RequestLimits` (MAX_BODY for /api/).
            question, history = parse_ask(parse_json_body(await request.body()))
        except BadRequest as exc:
            return _error(str(exc), 400)
        try:
            answer = await anyio.to_thread.run_sync(lambda: advisor.answer(question, history), limiter=limiter)
            return SafeJSONResponse(answer.to_json())
        except NoIndexError:
            return _error("there is no index yet; a maintainer must build it first", 503)
        except Exception:  # noqa: BLE001 - a short message, never a stack trace or a server path
            log.exception("answering failed")
            return _error("the advisor could not answer this question because of an internal error", 500)

    @app.get("/api/health")
    def get_health() -> JSONResponse:
        return SafeJSONResponse(health(settings))
