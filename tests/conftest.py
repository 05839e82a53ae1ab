"""Shared fixtures: a deterministic fake embedder for exact unit tests, and fixture corpora made of real files."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor.core.settings import Settings, load_settings
from advisor.tools.authoring import markdown_to_docx, markdown_to_pdf


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's advisor.toml or ADVISOR_* variables, and never go online."""
    import os

    for key in list(os.environ):
        if key.startswith("ADVISOR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ADVISOR_CONFIG", str(tmp_path / "no-such-advisor.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# The thresholds that suit the fake embedder's bag-of-words similarities, and the fixture's chunking:
# written once, for every fixture that answers with it.
# A bag of words has no language bias to correct: what the background passages measure on it is
# shared function words, so the refusal rule judges the raw similarity.
FAKE_EMBEDDER_SETTINGS = {
    "refusal_threshold": 0.2,
    "refusal_floor": 0.1,
    "chunk_size": 400,
    "chunk_overlap": 80,
    "refusal_language_gap": False,
}


class FakeEmbedder:
    """Bag of words hashed into 512 dimensions: similarity is shared vocabulary, easy to reason about.

    Crude stemming (first 5 letters) lets 'vertrouwen' and 'vertrouw' meet.
    """

    name = "fake-bow"

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(512, dtype=np.float32)
        for w in re.findall(r"[a-zà-ÿ]+", text.lower()):
            if len(w) < 3:
                continue
            h = int(hashlib.md5(w[:5].encode()).hexdigest(), 16)
            v[h % 512] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1.0 / np.sqrt(512)

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.texts_embedded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, 512), np.float32)

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return np.stack([self._vec(t) for t in texts])


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


NL_TRUST = """# Vertrouwen tussen partners

## Hoe vertrouwen groeit

Vertrouwen tussen partners groeit wanneer beide organisaties hun afspraken consequent nakomen. Kleine toezeggingen die worden waargemaakt, leggen de basis voor grotere stappen.

Openheid over de eigen belangen helpt ook. Een partner die zijn belangen verzwijgt, wekt argwaan bij de ander.

## Wat vertrouwen schaadt

Sarcasme over de partner in het eigen managementteam ondermijnt het vertrouwen. Wij-zij-denken ontstaat snel wanneer vertegenwoordigers thuis negatief over de partner praten.
"""

EN_GOAL = """# A shared goal that people can carry

## Why a shared goal matters

A clear and inspiring shared goal keeps independent organisations pointed in the same direction. Without it, every partner optimises its own results and the alliance drifts.

## Short messages beat thick reports

People remember a goal they can explain in three sentences. Thick reports with detailed plans are rarely read by the people who must act on them.
"""

PDF_GOVERNANCE = """# Governance van netwerken

## Gedeelde sturing

Bij gedeelde sturing nemen alle deelnemers samen de besluiten. Deze vorm past bij kleine netwerken met veel onderling vertrouwen.

## Leidende organisatie

Bij een leidende organisatie neemt een van de deelnemers de coordinatie op zich. Dat werkt wanneer die organisatie door de anderen als legitiem wordt gezien.

## Netwerkadministratieorganisatie

Een aparte netwerkadministratieorganisatie coordineert grote netwerken met veel deelnemers. Zij heeft eigen personeel en een eigen budget.
"""

DOCX_CONFLICT = """# Conflicten in allianties

## Escaleren zonder schade

Een goede escalatieprocedure beschrijft welke niveaus een conflict doorloopt en binnen welke termijn elk niveau beslist. Zo blijft een meningsverschil zakelijk.
"""

HTML_PAGE = """<!doctype html><html lang="nl"><head><title>Ketensamenwerking in de zorg</title>
<style>.x{color:red}</style><script>document.write('SCRIPTTEKST')</script></head>
<body><nav><a href="#a">Inhoud</a></nav><article><h1>Ketensamenwerking in de zorg</h1>
<h2>De ketenregisseur</h2><p>Een ketenregisseur bewaakt de route van de client langs alle zorgaanbieders in de keten.</p>
<p hidden>VERBORGEN tekst die niemand ziet</p><div style="display: none">ONZICHTBAAR</div>
<h2>Informatie delen</h2><p>Zorgaanbieders in een keten moeten gegevens over de client tijdig met elkaar delen.</p>
</article><footer>Kennisbank</footer></body></html>"""


# Questions the fixture corpus (write_fixture_corpus) answers, in both languages.
FIXTURE_QUESTIONS = [
    "Hoe groeit vertrouwen tussen partners?",
    "Why do short messages beat thick reports?",
    "Welke governancevorm past bij een groot netwerk?",
    "Wat doet een ketenregisseur?",
    "How do I escalate a conflict without damage?",
]


def write_extra_documents(corpus: Path, n: int) -> None:
    """`n` generated Dutch documents (about three chunks each) that make a build long enough to
    chat through or to kill in the middle of."""
    for i in range(n):
        paras = "\n\n".join(
            f"In samenwerkingsverband {i} bespreken de partners onderwerp {p}: wie neemt welk besluit, hoe worden kosten verdeeld en hoe wordt voortgang gemeten in kwartaal {p % 4 + 1}."
            for p in range(14)
        )
        (corpus / f"verband-{i:02d}.md").write_text(f"# Samenwerkingsverband {i}\n\n## Afspraken\n\n{paras}\n")


def write_fixture_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "vertrouwen.md").write_text(NL_TRUST, encoding="utf-8")
    (root / "shared-goal.md").write_text(EN_GOAL, encoding="utf-8")
    markdown_to_pdf(PDF_GOVERNANCE, root / "governance.pdf", page_breaks_before_h2=True)
    markdown_to_docx(DOCX_CONFLICT, root / "conflict.docx")
    (root / "keten.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "README.md").write_text("# Catalogue\n\nNot indexed.\n", encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_fixture_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return load_settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        models_dir=tmp_path / "models",
        **FAKE_EMBEDDER_SETTINGS,
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Integration tests are slower: run them after the unit tests."""
    items.sort(key=lambda it: 1 if it.get_closest_marker("integration") else 0)


SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def index_shipped_documents(tmp_path_factory: pytest.TempPathFactory, name: str, documents: list[str]) -> Any:
    """Copies of shipped documents in a temporary corpus, indexed alone with the real model and the
    default settings: the services of that small corpus."""
    from advisor.services import build_services  # the real model: only the tests that need it pay for it

    tmp = tmp_path_factory.mktemp(name)
    corpus = tmp / "corpus"
    corpus.mkdir()
    for doc in documents:
        shutil.copy2(SHIPPED_CORPUS / doc, corpus / doc)
    settings = Settings(corpus_dir=corpus, index_dir=tmp / "index", models_dir=tmp_path_factory.getbasetemp() / "shared-models")
    services = build_services(settings)
    report = services.build_index()
    assert report.failed == [] and report.documents == len(documents)
    return services
