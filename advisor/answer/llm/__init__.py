"""Answers written by a language model and held to the passages they cite.

The model only ever sees passages that retrieval found, framed as quoted data between
per-request random delimiters; when retrieval finds nothing relevant the model is not asked at
all and the extractive refusal is returned. Every generated sentence is then checked against the
passages it cites (embedding similarity plus stemmed term overlap): citations to passages that
were not given are removed, and a sentence its citations do not support is marked or dropped.

This package owns the LLM answer path:

- `prompts`: the system, user and condensation prompts, passage framing, output sanitising;
- `check`: the citation check (`check_citations`, `CheckResult`, `CheckedSentence`, `SupportScorer`);
- `backends`: OpenAI-compatible and Ollama chat models, probed before use (`BackendUnavailable`);
- `chain`: the `Generator`, one LCEL chain over typed state, and `make_generator`.

Backends (`settings.llm_backend`): any OpenAI-compatible endpoint (`langchain-openai`) or an
Ollama server (`langchain-ollama`). A missing package or an unreachable server never raises:
`make_generator` returns no generator and a notice, and the advisor answers extractively.
"""

from advisor.answer.llm.backends import BackendUnavailable, make_chat_model
from advisor.answer.llm.chain import Generator, Step, make_generator
from advisor.answer.llm.check import UNSUPPORTED, CheckedSentence, CheckResult, SupportScorer, check_citations
from advisor.answer.llm.prompts import REMINDERS, SYSTEM_PROMPT, frame_passages, sanitize_output

__all__ = [
    "REMINDERS",
    "SYSTEM_PROMPT",
    "UNSUPPORTED",
    "BackendUnavailable",
    "CheckResult",
    "CheckedSentence",
    "Generator",
    "Step",
    "SupportScorer",
    "check_citations",
    "frame_passages",
    "make_chat_model",
    "make_generator",
    "sanitize_output",
]
