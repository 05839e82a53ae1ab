"""Gradio's queue protocol spoken by hand, as an attacker would: any data for any event.

`gradio_client` checks and uploads what it sends; these helpers send exactly the JSON given,
so the tests can put a file reference anywhere a client could.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

PASSWD = "/etc/passwd"


def file_ref(path: str) -> dict[str, Any]:
    """A Gradio FileData value naming a server path."""
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": path.rsplit("/", 1)[-1]}


def file_message(path: str) -> dict[str, Any]:
    """A chat message whose content is a file, as the Chatbot's own format allows."""
    return {"role": "user", "content": {"type": "file", "file": file_ref(path)}}


@dataclass
class Dependency:
    fn_index: int
    api_name: str | None
    inputs: list[int]
    outputs: list[int]
    has_fn: bool


def dependencies(base: str) -> tuple[list[Dependency], dict[int, dict[str, Any]]]:
    config = httpx.get(base + "config", timeout=10).json()
    components = {c["id"]: c for c in config["components"]}
    deps = [
        Dependency(i, d.get("api_name"), list(d.get("inputs", [])), list(d.get("outputs", [])), bool(d.get("backend_fn", True)))
        for i, d in enumerate(config["dependencies"])
    ]
    return deps, components


def call(base: str, fn_index: int, data: list[Any], session_hash: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Join the queue and read the event's messages until it completes; returns the last message."""
    session_hash = session_hash or secrets.token_hex(6)
    with httpx.Client(base_url=base, timeout=timeout) as http:
        r = http.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None, "trigger_id": None})
        if r.status_code != 200:
            return {"msg": "rejected", "status_code": r.status_code, "body": r.text}
        event_id = r.json().get("event_id")
        last: dict[str, Any] = {}
        seen: list[dict[str, Any]] = []
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, event_id):
                    continue
                seen.append(message)
                last = message
                if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                    break
        # Toasts (gr.Warning, gr.Info) come as "log" messages before the result.
        return {**last, "log": [m.get("log") for m in seen if m.get("msg") == "log"]}


def call_by_name(base: str, api_name: str, data: list[Any], session_hash: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    deps, _ = dependencies(base)
    dep = next(d for d in deps if d.api_name == api_name)
    # A browser sends a slot for every input, null for the session's states (the server fills those in).
    data = [*data, *[None] * (len(dep.inputs) - len(data))]
    return call(base, dep.fn_index, data, session_hash, timeout)
