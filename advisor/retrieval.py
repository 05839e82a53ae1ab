"""Hybrid retrieval: dense (Chroma) and BM25, fused by reciprocal rank, capped per document."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.fusion import cap_per_group, reciprocal_rank_fusion
from advisor.indexer import builds_dir, current_build_id, load_build_chunks, read_build_info, vector_backend_for
from advisor.keyword import BM25Index
from advisor.types import Chunk, Hit

if TYPE_CHECKING:
    from advisor.embeddings import Embedder
    from advisor.settings import Settings

log = logging.getLogger(__name__)


class NoIndexError(RuntimeError):
    """There is no current build to search."""


class Searcher:
    """One immutable build, opened for searching."""

    def __init__(self, settings: Settings, build_id: str, embedder: Embedder) -> None:
        self.settings = settings
        self.build_id = build_id
        self.embedder = embedder
        index_dir = Path(settings.index_dir)
        bdir = builds_dir(index_dir) / build_id
        self.info = read_build_info(index_dir, build_id)
        self.chunks: list[Chunk] = load_build_chunks(index_dir, build_id)
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self.bm25 = BM25Index.load(bdir / "bm25.pkl")
        self.collection = vector_backend_for(settings).collection(build_id, bdir)

    def dense(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        from advisor.store import query

        return [(self.by_id[cid], sim) for cid, sim in query(self.collection, qvec, k) if cid in self.by_id]

    def keyword(self, query: str, k: int) -> list[tuple[int, float, float]]:
        return [(h.index, h.score, h.coverage) for h in self.bm25.search(query, k)]

    def vectors(self, indices: list[int]) -> dict[int, np.ndarray]:
        if not indices:
            return {}
        got = self.collection.get(ids=[self.chunks[i].id for i in indices], include=["embeddings"])
        return {self.by_id[cid]: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], got["embeddings"])}

    def search(self, query: str, *, k: int | None = None, dense_only: bool = False) -> list[Hit]:
        s = self.settings
        k = k or s.k_final
        qvec = self.embedder.embed_queries([query])[0]
        dense = self.dense(qvec, s.k_dense)
        sims = dict(dense)
        rankings = [[i for i, _ in dense]]
        kw_rank: dict[int, int] = {}
        if not dense_only:
            # The keyword side counts only where it really matches: an English question on Dutch
            # text matches a stray word or two, and letting that vote lowers quality.
            kw = [i for i, _, cov in self.keyword(query, s.k_keyword) if cov >= s.keyword_min_coverage]
            kw_rank = {i: r for r, i in enumerate(kw, start=1)}
            rankings.append(kw)
        fused = reciprocal_rank_fusion(rankings, k=s.rrf_k)
        missing = [i for i, _ in fused[: k * 4] if i not in sims]
        for i, v in self.vectors(missing).items():
            sims[i] = float(v @ qvec)
        dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        hits = [
            Hit(
                chunk=self.chunks[i],
                score=score,
                dense_similarity=sims.get(i),
                dense_rank=dense_rank.get(i),
                keyword_rank=kw_rank.get(i),
            )
            for i, score in fused
        ]
        return cap_per_group(hits, lambda h: h.chunk.source, s.per_document_cap, k)


class IndexReader:
    """Follows the index's CURRENT pointer: each search uses the newest complete build."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    def searcher(self) -> Searcher:
        build_id = current_build_id(Path(self.settings.index_dir))
        if build_id is None:
            raise NoIndexError("there is no index yet: run 'advisor index' first")
        current = self._searcher
        if current is not None and current.build_id == build_id:
            return current
        with self._lock:
            if self._searcher is None or self._searcher.build_id != build_id:
                log.info("opening index build %s", build_id)
                self._searcher = Searcher(self.settings, build_id, self.embedder)
            return self._searcher

    def search(self, query: str, **kw: Any) -> list[Hit]:
        return self.searcher().search(query, **kw)


def make_retriever(reader: IndexReader) -> Any:
    """The hybrid search as a LangChain `BaseRetriever`; each Document carries its `Hit`."""
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever

    class AdvisorRetriever(BaseRetriever):
        """Dense + BM25 with reciprocal-rank fusion over the current index build."""

        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
            return [
                LCDocument(
                    page_content=h.chunk.text,
                    id=h.chunk.id,
                    metadata={
                        "source": h.chunk.source,
                        "title": h.chunk.title,
                        "section": h.chunk.section,
                        "page": h.chunk.page,
                        "score": h.score,
                        "dense_similarity": h.dense_similarity,
                        "hit": h,
                    },
                )
                for h in reader.search(query)
            ]

    return AdvisorRetriever()
