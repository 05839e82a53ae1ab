"""The vector store: ChromaDB, embedded (`PersistentClient`) or a server (`HttpClient`).

Collections are created with explicit settings: no embedding function (we pass vectors; Chroma's
default function would try to download a model), cosine space, and a raised `ef_search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from advisor.types import Chunk

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
    }


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        source=str(meta["source"]),
        title=str(meta["title"]),
        language="en" if meta.get("language") == "en" else "nl",
        section=str(meta.get("section", "")),
        page=int(meta["page"]) or None if meta.get("page") else None,
        position=int(meta.get("position", 0)),
        text=text,
    )


def upsert(collection: Any, chunks: Sequence[Chunk], vectors: np.ndarray, batch: int = 1000) -> None:
    for i in range(0, len(chunks), batch):
        part = chunks[i : i + batch]
        collection.upsert(
            ids=[c.id for c in part],
            embeddings=vectors[i : i + batch].astype(np.float32),
            documents=[c.text for c in part],
            metadatas=[chunk_metadata(c) for c in part],
        )


def delete(collection: Any, ids: Sequence[str], batch: int = 1000) -> None:
    for i in range(0, len(ids), batch):
        collection.delete(ids=list(ids[i : i + batch]))


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
