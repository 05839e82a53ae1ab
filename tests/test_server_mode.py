"""The same index and retrieval path against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.answer.service import Advisor
from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.index.layout import current_build_id, previous_build_id
from advisor.index.vectors import server_client
from tests.chroma_server import chroma_server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


def test_index_builds_a_collection_per_build_on_the_server_and_switches(settings: Settings, fake_embedder, corpus: Path, server_url: str) -> None:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"chroma_server_url": server_url})
    first = build_index(s, fake_embedder)
    client = server_client(server_url)
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    prefix = "advisor_" + first.build_id.replace("-", "_")
    assert {prefix + "_nl", prefix + "_en"} <= names  # one collection per language
    cols = [client.get_collection(prefix + "_" + lang) for lang in ("nl", "en")]
    assert sum(col.count() for col in cols) == first.chunks
    assert all(col.configuration_json["hnsw"]["space"] == "cosine" for col in cols)

    advisor = Advisor(s, fake_embedder)
    ans = advisor.answer("Hoe groeit vertrouwen tussen partners?")
    assert not ans.refused and ans.citations[0].source == "vertrouwen.md"

    # a change makes a new collection current and keeps the previous one for rollback
    (corpus / "extra.md").write_text("# Exit\n\n## Uitstappen\n\nEen exitregeling beschrijft hoe partners bezittingen verdelen bij het beëindigen.\n")
    second = build_index(s, fake_embedder)
    assert current_build_id(Path(s.index_dir)) == second.build_id
    assert previous_build_id(Path(s.index_dir)) == first.build_id
    assert advisor.answer("Hoe verdelen partners bezittingen bij een exit?").citations[0].source == "extra.md"
    third_change = corpus / "extra2.md"
    third_change.write_text("# Netwerk\n\nNetwerkleiderschap verbindt partijen zonder hiërarchie.\n")
    third = build_index(s, fake_embedder)
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    ours = {n for n in names if n.startswith("advisor_")}
    assert ours == {"advisor_" + b.replace("-", "_") + "_" + lang for b in (second.build_id, third.build_id) for lang in ("nl", "en")}
