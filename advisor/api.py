"""The JSON API next to the UI: `POST /api/ask` and `GET /api/health`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported at module level so FastAPI can resolve the handlers' annotations; only the UI imports this.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from advisor.indexer import current_build_id, index_is_building, read_build_info

if TYPE_CHECKING:
    from advisor.answer import Advisor
    from advisor.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION = 2000
MAX_HISTORY = 50


class BadRequest(ValueError):
    """A request the API cannot answer; the message says what to change."""


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
    return question, clean


def health(settings: Settings) -> dict[str, Any]:
    index_dir = Path(settings.index_dir)
    build = current_build_id(index_dir)
    documents = chunks = 0
    if build is not None:
        try:
            info = read_build_info(index_dir, build)
            documents, chunks = int(info.get("documents", 0)), int(info.get("chunks", 0))
        except (OSError, ValueError):
            pass
    return {"status": "ok" if build else "no index", "build": build, "documents": documents, "chunks": chunks, "building": index_is_building(index_dir)}


def add_api_routes(app: FastAPI, advisor: Advisor, settings: Settings) -> None:
    import anyio

    from advisor.retrieval import NoIndexError

    # Answers are CPU-bound: as many at once as the UI's chat allows, the rest wait their turn.
    limiter = anyio.CapacityLimiter(settings.concurrency_limit)

    @app.post("/api/ask")
    async def ask(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        try:
            question, history = parse_ask(body)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            answer = await anyio.to_thread.run_sync(lambda: advisor.answer(question, history), limiter=limiter)
        except NoIndexError:
            return JSONResponse({"error": "there is no index yet; a maintainer must build it first"}, status_code=503)
        except Exception:  # noqa: BLE001 - a short message, never a stack trace or a server path
            log.exception("answering failed")
            return JSONResponse({"error": "the advisor could not answer this question because of an internal error"}, status_code=500)
        return JSONResponse(answer.to_json())

    @app.get("/api/health")
    def get_health() -> dict[str, Any]:
        return health(settings)
