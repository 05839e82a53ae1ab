"""The JSON API answers every request with JSON: hostile bodies get a clear 4xx, never a plain 500.

These run the API's routes in-process (FastAPI's TestClient) with a stub advisor, so they need
no index; tests/ui/test_app.py drives the launched app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from advisor.core.settings import Settings
from advisor.web.access import DeskGate, RequestLimits
from advisor.web.api import MAX_BODY, add_api_routes


class StubAnswer:
    def __init__(self, question: str) -> None:
        self.question = question

    def to_json(self) -> dict[str, Any]:
        answer = f"Over {self.question}."
        if self.question == "surrogaat":  # text from elsewhere (an LLM's reply, a file name) may hold one
            answer = "Zie \udc80 de bron."
        return {"answer": answer, "refused": False, "language": "nl", "citations": [], "suggestions": []}


class StubAdvisor:
    def __init__(self) -> None:
        self.questions: list[str] = []

    def answer(self, question: str, history: Any = None) -> StubAnswer:
        self.questions.append(question)
        return StubAnswer(question)


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[TestClient, StubAdvisor]]:
    app = FastAPI()
    advisor = StubAdvisor()
    add_api_routes(app, advisor, settings)  # type: ignore[arg-type]
    # as build_app wires it: the body limits live in the one request-limits middleware
    app.add_middleware(RequestLimits, gate=DeskGate(None), max_body=2**21, max_upload=0, path_limits={"/api/": MAX_BODY})
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, advisor


def _post(client: TestClient, content: bytes | Iterator[bytes], **headers: str) -> Any:
    return client.post("/api/ask", content=content, headers={"content-type": "application/json", **headers})


def test_a_normal_question_is_answered(api: tuple[TestClient, StubAdvisor]) -> None:
    client, advisor = api
    res = client.post("/api/ask", json={"question": "Hoe groeit vertrouwen?", "history": ["Eerder"]})
    assert res.status_code == 200
    assert advisor.questions == ["Hoe groeit vertrouwen?"]


def test_an_answer_with_a_lone_surrogate_is_still_json(api: tuple[TestClient, StubAdvisor]) -> None:
    client, _ = api
    res = client.post("/api/ask", json={"question": "surrogaat"})
    assert res.status_code == 200
    assert res.json()["answer"] == "Zie \ufffd de bron."


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 60_000,
        b'{"question": "x", "history": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"question": "x", "meta": ' + b'{"a":' * 2000 + b"1" + b"}" * 2000 + b"}",
    ],
)
def test_deeply_nested_json_gets_a_400(api: tuple[TestClient, StubAdvisor], body: bytes) -> None:
    client, advisor = api
    res = _post(client, body)
    assert res.status_code == 400
    assert "nested too deeply" in res.json()["error"]
    assert advisor.questions == []


def test_brackets_inside_strings_are_not_nesting(api: tuple[TestClient, StubAdvisor]) -> None:
    client, advisor = api
    res = client.post("/api/ask", json={"question": "Wat betekent [[[ \"{ in een tekst?" + "[" * 500})
    assert res.status_code == 200
    assert len(advisor.questions) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"question": "\\ud800"}', "'question' contains invalid text"),
        (b'{"question": "Wat is \\udfff vertrouwen?"}', "'question' contains invalid text"),
        (b'{"question": "Wat?", "history": ["\\ud800"]}', "a 'history' item contains invalid text"),
        (b'{"question": "Wat?", "history": [{"role": "user", "content": "\\udc00"}]}', "a 'history' item contains invalid text"),
        (b'{"question": "\xff\xfe"}', "not valid JSON"),
        (b'{"question": "caf\xe9"}', "not valid JSON"),
    ],
)
def test_text_that_is_not_unicode_gets_a_400(api: tuple[TestClient, StubAdvisor], body: bytes, message: str) -> None:
    client, advisor = api
    res = _post(client, body)
    assert res.status_code == 400
    assert message in res.json()["error"]
    assert advisor.questions == []


def test_a_paired_surrogate_escape_is_a_real_character(api: tuple[TestClient, StubAdvisor]) -> None:
    client, advisor = api
    res = _post(client, b'{"question": "Vertrouwen \\ud83d\\ude00?"}')
    assert res.status_code == 200
    assert advisor.questions == ["Vertrouwen \U0001f600?"]


def test_a_body_over_the_limit_gets_413(api: tuple[TestClient, StubAdvisor]) -> None:
    client, advisor = api
    body = json.dumps({"question": "Wat?", "pad": "x" * MAX_BODY}).encode()
    res = _post(client, body)
    assert res.status_code == 413
    assert "larger than 64 KiB" in res.json()["error"]
    assert advisor.questions == []


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(api: tuple[TestClient, StubAdvisor]) -> None:
    client, _ = api
    res = _post(client, b'{"question": "Wat?"}', **{"content-length": str(10 * MAX_BODY)})
    assert res.status_code == 413


def test_a_streamed_body_without_content_length_is_counted(api: tuple[TestClient, StubAdvisor]) -> None:
    client, advisor = api

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "Wat?", "pad": "'
        for _ in range(40):
            yield b"x" * 4096
        yield b'"}'

    res = _post(client, chunks())
    assert res.request.headers.get("content-length") is None
    assert res.status_code == 413
    assert advisor.questions == []
    # a small streamed body is fine
    res = _post(client, iter([b'{"question": ', b'"Wat?"}']))
    assert res.status_code == 200


def test_the_health_endpoint_still_answers(api: tuple[TestClient, StubAdvisor]) -> None:
    client, _ = api
    res = client.get("/api/health")
    assert res.status_code == 200
    assert res.json()["status"] == "no index"
