"""Builds in a real Chroma server (`chroma run` on loopback), read by app nodes that keep nothing.

"Machines" here are settings with their own index folders: a builder's, and nodes' that start empty.
The multi-process topology (two `advisor serve`, a separate indexer, SIGKILL) is tests/test_nodes.py.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.answer.service import Advisor
from advisor.cli import EXIT_BUSY, main
from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.index.layout import IndexBusyError, IndexVerifyError, current_build_id
from advisor.index.shared import CONTROL, LEASE, ServerStore, files_collection_name
from advisor.index.stores import open_store
from advisor.index.vectors import server_client
from tests.chroma_server import chroma_server
from tests.conftest import FAKE_EMBEDDER_SETTINGS

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


@pytest.fixture
def fresh_server(server_url: str) -> str:
    """The module's server with nothing of ours on it: each test starts from an empty deployment."""
    client = server_client(server_url)
    for col in client.list_collections():
        client.delete_collection(col.name)
    return server_url


def on_server(settings: Settings, url: str, folder: Path) -> Settings:
    """The same settings on another machine: its own index folder, the shared server."""
    return settings.model_copy(update={"chroma_server_url": url, "index_dir": folder})


def our_collections(url: str) -> set[str]:
    return {c.name for c in server_client(url).list_collections() if c.name != CONTROL}


def wait_for(check, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_the_whole_build_lives_in_the_server(settings: Settings, fake_embedder, corpus: Path, fresh_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    first = build_index(builder, fake_embedder)
    prefix = "advisor_" + first.build_id.replace("-", "_")
    assert our_collections(fresh_server) == {prefix + "_nl", prefix + "_en", files_collection_name(first.build_id)}
    client = server_client(fresh_server)
    cols = [client.get_collection(prefix + "_" + lang) for lang in ("nl", "en")]
    assert sum(col.count() for col in cols) == first.chunks
    assert all(col.configuration_json["hnsw"]["space"] == "cosine" for col in cols)
    pointer = client.get_collection(CONTROL).get(ids=["pointer"])["metadatas"][0]
    assert pointer["current"] == first.build_id and pointer["previous"] == ""
    assert current_build_id(Path(builder.index_dir)) is None  # no local pointer: the server's is the only one
    assert not (Path(builder.index_dir) / "staging").exists() or not any((Path(builder.index_dir) / "staging").iterdir())

    # a change makes a new build current and keeps the previous one; older ones are dropped
    (corpus / "extra.md").write_text("# Exit\n\n## Uitstappen\n\nEen exitregeling beschrijft hoe partners bezittingen verdelen bij het beëindigen.\n")
    second = build_index(builder, fake_embedder)
    assert (second.added, second.unchanged) == (["extra.md"], 5)  # incremental against the server's manifest
    (corpus / "extra2.md").write_text("# Netwerk\n\nNetwerkleiderschap verbindt partijen zonder hiërarchie.\n")
    third = build_index(builder, fake_embedder)
    store = open_store(builder)
    assert (store.current(fresh=True), store.previous()) == (third.build_id, second.build_id)
    kept = {b.replace("-", "_") for b in (second.build_id, third.build_id)}
    assert our_collections(fresh_server) == {f"advisor_{b}_{lang}" for b in kept for lang in ("nl", "en")} | {
        files_collection_name(b.replace("_", "-")) for b in kept
    }


def test_a_node_with_an_empty_folder_answers_and_follows_new_builds(settings: Settings, fake_embedder, corpus: Path, fresh_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    node = on_server(settings, fresh_server, tmp_path / "node")
    first = build_index(builder, fake_embedder)

    advisor = Advisor(node, fake_embedder)
    ans = advisor.answer("Hoe groeit vertrouwen tussen partners?")
    assert not ans.refused and ans.citations[0].source == "vertrouwen.md"
    cached = Path(node.index_dir) / "builds" / first.build_id
    assert {p.name for p in cached.iterdir()} == {"build.json", "chunks.jsonl", "bm25.pkl", "vectors.npy", "language_stats.npz"}
    # the node's copy is the builder's build: same chunks in the same order, same keyword index
    assert (cached / "chunks.jsonl").read_bytes() == (Path(builder.index_dir) / "builds" / first.build_id / "chunks.jsonl").read_bytes()
    assert (cached / "bm25.pkl").read_bytes() == (Path(builder.index_dir) / "builds" / first.build_id / "bm25.pkl").read_bytes()

    (corpus / "extra.md").write_text("# Exit\n\n## Uitstappen\n\nEen exitregeling beschrijft hoe partners bezittingen verdelen bij het beëindigen.\n")
    second = build_index(builder, fake_embedder)
    t0 = time.monotonic()
    cited = wait_for(lambda: advisor.answer("Hoe verdelen partners bezittingen bij een exit?").citations[0].source == "extra.md")
    assert cited and time.monotonic() - t0 < 1.0 + node.chroma_poll_seconds * 2
    assert advisor.reader.searcher().build_id == second.build_id


def test_a_second_writer_on_another_machine_is_refused(settings: Settings, fake_embedder, fresh_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    one = on_server(settings, fresh_server, tmp_path / "one")
    other = on_server(settings, fresh_server, tmp_path / "other")
    with open_store(one).writer():
        assert open_store(other).is_building() or wait_for(lambda: open_store(other).is_building(), 3)
        with pytest.raises(IndexBusyError, match="another index build is running"):
            build_index(other, fake_embedder)
        # the CLI says so with its documented exit code, from a third folder
        monkeypatch.setenv("ADVISOR_CHROMA_SERVER_URL", fresh_server)
        for name in ("refusal_threshold", "refusal_floor", "chunk_size", "chunk_overlap"):
            monkeypatch.setenv(f"ADVISOR_{name.upper()}", str(FAKE_EMBEDDER_SETTINGS[name]))
        res = CliRunner().invoke(main, ["index", "--corpus", str(settings.corpus_dir), "--index", str(tmp_path / "third")], obj={"embedder": fake_embedder})
        assert res.exit_code == EXIT_BUSY and "another index build is running" in res.output
    assert wait_for(lambda: not open_store(other).is_building(), 3)
    assert build_index(other, fake_embedder).documents == 5  # released: the next build goes


def test_a_lease_of_a_dead_local_builder_is_free_at_once_and_a_live_remote_one_is_not(settings: Settings, fake_embedder, fresh_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    store = open_store(builder)
    assert isinstance(store, ServerStore)
    dead = subprocess.Popen(["true"])
    dead.wait()
    control = server_client(fresh_server).get_or_create_collection(CONTROL, embedding_function=None)

    def lease(**meta: object) -> None:
        control.upsert(ids=[LEASE], embeddings=[[0.0]], metadatas=[{"owner": "x", "holder": "process 1 on elsewhere", "expires": time.time() + 600, **meta}])

    from advisor.index.shared import _host  # the host id a killed builder of this machine left

    lease(host=_host(), pid=dead.pid, start="123")
    assert not store.is_building()
    assert build_index(builder, fake_embedder).documents == 5

    lease(host="elsewhere/boot", pid=1, start="1")
    store._lease_seen = (float("-inf"), None)  # the status cache: read again now
    assert store.is_building() and store.progress() is not None
    with pytest.raises(IndexBusyError, match="process 1 on elsewhere"):
        build_index(builder, fake_embedder, full=True)
    lease(host="elsewhere/boot", pid=1, start="1", expires=time.time() - 1)  # expired: free
    assert not build_index(builder, fake_embedder, full=True).noop


def test_rollback_and_prune_act_on_the_shared_pointer(settings: Settings, fake_embedder, corpus: Path, fresh_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    node = on_server(settings, fresh_server, tmp_path / "node")
    first = build_index(builder, fake_embedder)
    (corpus / "extra.md").write_text("# Exit\n\n## Uitstappen\n\nEen exitregeling beschrijft hoe partners bezittingen verdelen bij het beëindigen.\n")
    second = build_index(builder, fake_embedder)
    advisor = Advisor(node, fake_embedder)
    assert advisor.reader.searcher().build_id == second.build_id

    # a rollback from any machine moves every node's pointer
    monkeypatch.setenv("ADVISOR_CHROMA_SERVER_URL", fresh_server)
    res = CliRunner().invoke(main, ["rollback", "--corpus", str(corpus), "--index", str(tmp_path / "elsewhere")])
    assert res.exit_code == 0 and first.build_id in res.output
    assert wait_for(lambda: advisor.reader.searcher().build_id == first.build_id, 5)
    assert all(c.source != "extra.md" for c in advisor.answer("Hoe verdelen partners bezittingen bij een exit?").citations)
    assert open_store(builder).previous() == second.build_id or wait_for(lambda: open_store(builder).previous() == second.build_id, 3)

    # what a crashed build left (collections of a build never made current) is pruned
    client = server_client(fresh_server)
    client.create_collection("advisor_20000101_000000_dead00_nl", embedding_function=None)
    client.create_collection(files_collection_name("20000101-000000-dead00"), embedding_function=None)
    res = CliRunner().invoke(main, ["prune", "--corpus", str(corpus), "--index", str(tmp_path / "elsewhere")])
    assert res.exit_code == 0 and "20000101-000000-dead00" in res.output
    names = our_collections(fresh_server)
    assert not any("20000101" in n for n in names)
    assert any(first.build_id.replace("-", "_") in n for n in names) and any(second.build_id.replace("-", "_") in n for n in names)


class CrashBeforeSwitch(ServerStore):
    """A builder that dies after writing everything but the pointer."""

    def publish(self, build_id: str, bdir: Path, info: dict) -> None:  # type: ignore[type-arg]
        raise IndexVerifyError("killed before the switch")


def test_a_build_that_dies_before_the_switch_is_never_seen_and_is_cleaned_up(settings: Settings, fake_embedder, corpus: Path, fresh_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    node = on_server(settings, fresh_server, tmp_path / "node")
    first = build_index(builder, fake_embedder)
    advisor = Advisor(node, fake_embedder)
    assert advisor.answer("Hoe groeit vertrouwen tussen partners?").citations[0].source == "vertrouwen.md"

    (corpus / "extra.md").write_text("# Exit\n\n## Uitstappen\n\nEen exitregeling beschrijft hoe partners bezittingen verdelen bij het beëindigen.\n")
    crashing = CrashBeforeSwitch(fresh_server, Path(builder.index_dir))
    with pytest.raises(IndexVerifyError):
        build_index(builder, fake_embedder, store=crashing)
    leftovers = our_collections(fresh_server) - {c for c in our_collections(fresh_server) if first.build_id.replace("-", "_") in c}
    assert leftovers  # its collections are on the server ...
    time.sleep(node.chroma_poll_seconds * 1.5)
    assert open_store(node).current() == first.build_id  # ... but the pointer never named it
    assert advisor.reader.searcher().build_id == first.build_id
    assert all(c.source != "extra.md" for c in advisor.answer("Hoe verdelen partners bezittingen bij een exit?").citations)

    second = build_index(builder, fake_embedder)
    assert not (leftovers & our_collections(fresh_server))  # the next build cleared them away
    assert wait_for(lambda: advisor.answer("Hoe verdelen partners bezittingen bij een exit?").citations[0].source == "extra.md")
    assert advisor.reader.searcher().build_id == second.build_id


def test_a_reader_keeps_one_control_handle_and_asks_again_when_it_goes_stale(settings: Settings, fake_embedder, fresh_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    builder = on_server(settings, fresh_server, tmp_path / "builder")
    first = build_index(builder, fake_embedder)
    reader = ServerStore(fresh_server, tmp_path / "reader", poll_seconds=0.0)
    assert reader.current(fresh=True) == first.build_id
    handle = reader._control()
    assert reader.current(fresh=True) == first.build_id and reader._control() is handle  # not asked for again
    # the control collection made anew under the reader (as after a wipe): the stale handle fails,
    # the reader asks for the new one and reads what is there now
    client = server_client(fresh_server)
    client.delete_collection(CONTROL)
    assert reader.current(fresh=True) is None
    assert reader._control() is not handle
