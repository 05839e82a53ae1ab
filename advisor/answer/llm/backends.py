"""The chat model behind the LLM answer: an OpenAI-compatible endpoint or an Ollama server.

Each backend's LangChain package is imported only when that backend is configured: neither is
a core dependency, and a missing one becomes a notice (`BackendUnavailable`), never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from advisor.core.settings import Settings

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
PROBE_TIMEOUT = 3.0  # seconds: a server that does not answer a model list this fast is treated as down
MAX_ANSWER_TOKENS = 512  # small models can loop until the context is full; an advice answer is shorter


class BackendUnavailable(RuntimeError):
    """The configured model cannot be used; the message is shown to the user as a notice."""


def _probe(url: str, api_key: str | None, what: str) -> Any:
    """GET a model list with a short timeout: the JSON, or None when the server has no such list."""
    import httpx  # only a configured backend needs it

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        r = httpx.get(url, headers=headers, timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(
            f"The language model server ({what}) at {url.rsplit('/', 1)[0]} is not reachable "
            f"({type(exc).__name__}); answers are extractive until it is."
        ) from None
    if r.status_code in (401, 403):
        raise BackendUnavailable(
            f"The language model server ({what}) refused the API key (HTTP {r.status_code}); "
            "set ADVISOR_LLM_API_KEY. Answers are extractive until then."
        )
    if r.status_code >= 500:
        raise BackendUnavailable(
            f"The language model server ({what}) answered HTTP {r.status_code}; answers are extractive until it recovers."
        )
    try:
        return r.json() if r.status_code == 200 else None
    except ValueError:
        return None


def _missing(package: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"The language model backend needs the package '{package}': pip install 'alliance-advisor[llm]'. "
        "Answers are extractive until it is installed."
    )


def _openai_model(settings: Settings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr
    except ImportError:
        raise _missing("langchain-openai") from None
    base_url = (settings.llm_base_url or OPENAI_DEFAULT_URL).rstrip("/")
    key = settings.resolved_llm_api_key
    listing = _probe(f"{base_url}/models", key, "OpenAI-compatible")
    available = [m.get("id") for m in (listing or {}).get("data", []) if isinstance(m, dict)]
    model = settings.llm_model or (available[0] if available else None)
    if not model:
        raise BackendUnavailable("No model configured for the OpenAI-compatible backend: set ADVISOR_LLM_MODEL.")
    # The client sends `max_completion_tokens`; many compatible servers (llama.cpp) only read `max_tokens`.
    extra = None if base_url == OPENAI_DEFAULT_URL else {"max_tokens": MAX_ANSWER_TOKENS}
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(key or "not-needed"),  # local servers ignore the key; the client insists on one
        timeout=settings.llm_timeout,
        streaming=True,
        temperature=0,
        max_retries=1,
        max_completion_tokens=MAX_ANSWER_TOKENS,
        extra_body=extra,
    )


def _ollama_model(settings: Settings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise _missing("langchain-ollama") from None
    base_url = (settings.llm_base_url or OLLAMA_DEFAULT_URL).rstrip("/")
    listing = _probe(f"{base_url}/api/tags", None, "Ollama")
    available = [m.get("name") for m in (listing or {}).get("models", []) if isinstance(m, dict)]
    model = settings.llm_model or (available[0] if available else None)
    if not model:
        raise BackendUnavailable("No model configured for Ollama: set ADVISOR_LLM_MODEL (e.g. after `ollama pull`).")
    if available and model not in available and f"{model}:latest" not in available:
        raise BackendUnavailable(f"Ollama at {base_url} has no model '{model}' (run `ollama pull {model}`); answers are extractive.")
    return ChatOllama(
        model=model,
        base_url=base_url,
        temperature=0,
        num_predict=MAX_ANSWER_TOKENS,
        client_kwargs={"timeout": settings.llm_timeout},
    )


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The configured LangChain chat model, after checking that its server answers."""
    match settings.llm_backend:
        case "openai":
            return _openai_model(settings)
        case "ollama":
            return _ollama_model(settings)
        case other:
            raise BackendUnavailable(f"Unknown language model backend '{other}'; answers are extractive.")
