"""The composition root: the one place that turns settings into working parts.

    services = build_services(settings)            # the CLI, the app, the benchmark
    services = build_services(settings, embedder=FakeEmbedder())   # tests inject here

Nothing below this module keeps a model in a global or chooses a process-wide setting: a part
gets what it needs passed in. Parts are made when first used, so `advisor index` on an unchanged
corpus never loads the embedding model, and `advisor ask` never loads the one that embeds passages.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from advisor.answer.service import Advisor
from advisor.index.build import IndexReport, build_index

if TYPE_CHECKING:
    from advisor.core.settings import Settings
    from advisor.embedding.models import Embedder


class Services:
    """The settings and the parts built from them, each made once, on first use."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        # retrieve is not imported at module level: a command that needs no search stays light
        from advisor.retrieve.glossary import check_glossary

        check_glossary(settings.glossary)  # a missing or malformed glossary file is named now, not at the first question
        self.settings = settings
        self._embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        from advisor.embedding.models import load_embedder  # torch and the model: only when needed

        return load_embedder(self.settings)

    @cached_property
    def index_embedder(self) -> Embedder:
        """What embeds an index build's passages: on ONNX Runtime its own sessions (one per core, the
        `passage_precision` graph), else the one model."""
        if self._embedder is not None or self.settings.embedding_runtime == "torch":
            return self.embedder
        from advisor.embedding.models import load_embedder  # the model: only when a build embeds something

        return load_embedder(self.settings, passages=True)

    @cached_property
    def advisor(self) -> Advisor:
        if self._embedder is None and self.settings.answer_threads > 0 and getattr(self.embedder, "runtime", "") == "torch":
            import torch  # heavy: only the torch runtime needs it (ONNX Runtime sets threads per session)

            # The one process-wide choice, made here and only for a process that answers: one
            # torch thread each keeps latency steady when several answer at once
            # (docs/reliability.md). A build in the same process ran before, on every core.
            torch.set_num_threads(self.settings.answer_threads)
        return Advisor(self.settings, self.embedder)

    def build_index(self, **kwargs: Any) -> IndexReport:
        """A new index build; the model is loaded only if something needs embedding."""
        return build_index(self.settings, self._embedder, load=lambda: self.index_embedder, **kwargs)


def build_services(settings: Settings, *, embedder: Embedder | None = None) -> Services:
    return Services(settings, embedder=embedder)
