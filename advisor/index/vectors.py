"""Where a build's vectors live: Chroma collections (an embedded folder per build, or a Chroma server),
the chunk records stored with them, and the backends the builder and the readers use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from advisor.core.types import Chunk
from advisor.index.layout import IndexVerifyError

COLLECTION = "chunks"


def chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def embedded_client(path: Path) -> Any:
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def server_client(url: str) -> Any:
    import chromadb

    u = urlparse(url)
    return chromadb.HttpClient(
        host=u.hostname or "127.0.0.1",
        port=u.port or (443 if u.scheme == "https" else 8000),
        ssl=u.scheme == "https",
        settings=chroma_settings(),
    )


def create_collection(client: Any, name: str, ef_search: int) -> Any:
    return client.get_or_create_collection(
        name=name,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine", "ef_search": ef_search, "ef_construction": 200}},
        metadata={"app": "alliance-advisor"},
    )


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata cannot hold None: a missing page is stored as 0."""
    return {
        "source": chunk.source,
        "title": chunk.title,
        "language": chunk.language,
        "section": chunk.section,
        "page": chunk.page or 0,
        "position": chunk.position,
        "role": chunk.role,
    }


def record_metadata(chunk: Chunk, row: int) -> dict[str, Any]:
    """A chunk record that a reader can rebuild the chunk from (`chunk_from_record`): the citation
    fields, the overlap, and `row`, the chunk's place in the build's chunk list (BM25 and the
    vectors are in that order)."""
    return {**chunk_metadata(chunk), "overlap": chunk.overlap, "row": row}


def chunk_from_record(chunk_id: str, document: str, metadata: dict[str, Any]) -> tuple[int, Chunk]:
    """(row, chunk) from a record written with `record_metadata`."""
    chunk = Chunk(
        id=chunk_id,
        source=metadata["source"],
        title=metadata["title"],
        language=metadata["language"],
        section=metadata["section"],
        page=int(metadata["page"]) or None,
        position=int(metadata["position"]),
        text=document,
        role=metadata.get("role", ""),
        overlap=int(metadata.get("overlap", 0)),
    )
    return int(metadata["row"]), chunk


def upsert(collection: Any, chunks: Sequence[Chunk], vectors: np.ndarray, batch: int = 1000, rows: Sequence[int] | None = None) -> None:
    """Write chunks with their vectors; with `rows` (their places in the build's chunk list) as
    records a reader rebuilds the chunk list from."""
    for i in range(0, len(chunks), batch):
        part = chunks[i : i + batch]
        collection.upsert(
            ids=[c.id for c in part],
            embeddings=vectors[i : i + batch].astype(np.float32),
            documents=[c.text for c in part],
            metadatas=[
                chunk_metadata(c) if rows is None else record_metadata(c, rows[i + j]) for j, c in enumerate(part)
            ],
        )




def all_ids(collection: Any) -> set[str]:
    out: set[str] = set()
    offset = 0
    while True:
        got = collection.get(include=[], limit=5000, offset=offset)
        if not got["ids"]:
            return out
        out.update(got["ids"])
        offset += len(got["ids"])


def query(collection: Any, vector: np.ndarray, k: int, count: int | None = None) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity) best first.

    `count` is the collection's size when the caller knows it (saves a round trip per query).
    """
    n = collection.count() if count is None else count
    if n == 0:
        return []
    res = collection.query(query_embeddings=[vector.astype(np.float32)], n_results=min(k, n), include=["distances"])
    return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]


def rows_by_language(chunks: list[Chunk]) -> dict[str, list[int]]:
    """Positions of the chunks of each language, languages in sorted order."""
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.language, []).append(i)
    return dict(sorted(rows.items()))


class VectorBackend:
    """Where a build's vectors live: a Chroma folder per build, or collections per build on a server.

    Either way a build has one collection per chunk language (see LAYOUT).
    """

    kind = "embedded"
    keeps_chunks = False  # True: the records carry whole chunks, the chunk list readers rebuild

    def write(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray, ef_search: int) -> None:

        client = self._client(bdir)
        for lang, rows in rows_by_language(chunks).items():
            name = self.collection_name(build_id, lang)
            with contextlib.suppress(Exception):
                client.delete_collection(name)  # a crashed attempt at the same build
            upsert(
                create_collection(client, name, ef_search),
                [chunks[i] for i in rows],
                vectors[rows],
                rows=rows if self.keeps_chunks else None,
            )

    def collections(self, build_id: str, bdir: Path) -> dict[str, Any]:
        """The build's collections by language."""
        client = self._client(bdir)
        prefix = self.collection_name(build_id, "")
        out: dict[str, Any] = {}
        for col in client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(prefix):
                out[name[len(prefix) :]] = client.get_collection(name, embedding_function=None)  # never Chroma's default model
        return dict(sorted(out.items()))

    def collection_name(self, build_id: str, lang: str) -> str:
        raise NotImplementedError

    def _client(self, bdir: Path) -> Any:
        raise NotImplementedError

    def verify(self, build_id: str, bdir: Path, chunks: list[Chunk], vectors: np.ndarray) -> None:

        cols = self.collections(build_id, bdir)
        rows = rows_by_language(chunks)
        if set(cols) != set(rows):
            raise IndexVerifyError(f"vector store holds languages {sorted(cols)}, expected {sorted(rows)}")
        for lang, col in cols.items():
            count = col.count()
            if count != len(rows[lang]):
                raise IndexVerifyError(f"vector store holds {count} '{lang}' chunks, expected {len(rows[lang])}")
            # A backend whose records carry whole chunks is read back record by record by its store
            # (ServerStore.verify compares every chunk and vector): its ids need no second scan.
            if not self.keeps_chunks and all_ids(col) != {chunks[i].id for i in rows[lang]}:
                raise IndexVerifyError(f"vector store ids of '{lang}' differ from the chunk list")
        # Self-query: one chunk of every document must find itself.
        firsts: dict[str, int] = {}
        for i, c in enumerate(chunks):
            firsts.setdefault(c.source, i)
        for source, i in list(firsts.items())[:200]:
            got = query(cols[chunks[i].language], vectors[i], 5)
            # its own id, or an identical vector (another chunk with the same embedding) on top
            if chunks[i].id not in {cid for cid, _ in got} and not (got and got[0][1] > 0.9999):
                raise IndexVerifyError(f"self-query of '{source}' did not find its own chunk")


class EmbeddedChroma(VectorBackend):
    kind = "embedded"

    def _client(self, bdir: Path) -> Any:

        return embedded_client(bdir / "chroma")

    def collection_name(self, build_id: str, lang: str) -> str:

        return f"{COLLECTION}_{lang}"


class ServerChroma(VectorBackend):
    """A build's collections on a Chroma server, `advisor_<build>_<language>`; their records carry
    whole chunks, so a node with an empty folder rebuilds the chunk list from them
    (`advisor.index.shared`, which also owns pruning them)."""

    kind = "server"
    keeps_chunks = True

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self.client = client

    def _client(self, bdir: Path | None = None) -> Any:

        return self.client if self.client is not None else server_client(self.url)

    def collection_name(self, build_id: str, lang: str) -> str:
        return f"{self.name(build_id)}_{lang}"

    @staticmethod
    def name(build_id: str) -> str:
        return "advisor_" + build_id.replace("-", "_")
