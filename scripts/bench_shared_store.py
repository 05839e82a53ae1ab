"""Time a synthetic build through the Chroma-server store, and a node copying it (docs/reliability.md).

    chroma run --path /tmp/bench-chroma --host 127.0.0.1 --port 18767   # a throwaway server
    .venv/bin/python scripts/bench_shared_store.py http://127.0.0.1:18767 20000

The build goes through the same steps as `advisor index` (lease, collections, files, read-back,
switch) with random unit vectors instead of embeddings; then a second store with an empty folder
(a new app node) copies and opens it. It switches the server's pointer: never aim it at a
deployment people use.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from advisor.core.types import Chunk
from advisor.index.build import write_build_files
from advisor.index.layout import LAYOUT
from advisor.index.shared import ServerStore


def main(url: str, n: int) -> None:
    rng = np.random.default_rng(0)
    words = "partner vertrouwen samenwerking governance besluit kosten voortgang alliantie netwerk regie afspraak conflict".split()
    chunks = [
        Chunk(id=f"c{i:07d}", source=f"doc{i // 20:05d}.md", title=f"Doc {i // 20}", language="nl" if i % 3 else "en",
              section=f"S{i % 7}", page=None, position=i % 20, text=" ".join(rng.choice(words, 120)))
        for i in range(n)
    ]
    vecs = rng.normal(size=(n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = ServerStore(url, Path(tempfile.mkdtemp(prefix="bench-builder-")))
    seconds: dict[str, float] = {}

    def timed(what: str, fn, *args) -> None:  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        fn(*args)
        seconds[what] = round(time.perf_counter() - t, 2)

    with store.writer():
        build_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + "bench0"
        bdir = store.begin(build_id)
        timed("write collections", store.vectors.write, build_id, bdir, chunks, vecs, 200)
        timed("local files", write_build_files, bdir, chunks, vecs)
        timed("upload files", store.upload, build_id, bdir)
        timed("verify collections", store.vectors.verify, build_id, bdir, chunks, vecs)
        timed("read back as a node", store.verify, build_id, bdir, chunks, vecs)
        info = {"id": build_id, "layout": LAYOUT, "chunks": n, "documents": n // 20, "manifest": {}, "complete": True, "created": "", "model": "synthetic"}
        timed("publish (build.json, switch)", store.publish, build_id, bdir, info)
    node = ServerStore(url, Path(tempfile.mkdtemp(prefix="bench-node-")))
    timed("node copies and opens", node.open, build_id)
    bm25 = node.index_dir / "builds" / build_id / "bm25.pkl"
    print(json.dumps({"chunks": n, "seconds": seconds, "bm25_bytes": bm25.stat().st_size}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20000)
