"""Two app nodes that keep nothing, a Chroma server, and builds from a third process.

The deployment of the README ("More than one machine") on loopback: a real `chroma run`, two
`advisor serve` processes each with its own empty index folder, and `advisor index` run as a
separate process with a folder of its own. It checks that

1. both nodes answer with citations from the first build the indexer publishes;
2. after a document is added and the indexer runs again, both nodes cite it within 10 s, while
   10 chat sessions spread over both nodes keep asking, with 0 failed requests;
3. a second indexer (another folder, as on another machine) is refused with exit code 75;
4. an indexer killed with SIGKILL in the middle of a build leaves both nodes answering from the
   previous build, and the next build succeeds at once and is followed by both nodes.

Figures go to RELIABILITY_OUT_NODES (default: a temporary file) for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from advisor.index.shared import ServerStore
from tests.chroma_server import chroma_server, free_port
from tests.conftest import FIXTURE_QUESTIONS, write_extra_documents, write_fixture_corpus

pytestmark = pytest.mark.load

SESSIONS = 10
PICKUP_LIMIT = 10.0
QUESTIONS = FIXTURE_QUESTIONS
NEW_DOC = ("nieuw-feit.md", "# Het zeilbootprotocol\n\n## Afspraak\n\nHet zeilbootprotocol schrijft voor dat partners elke maand samen een zeiltocht maken om vertrouwen op te bouwen.\n")
NEW_QUESTION = "Wat schrijft het zeilbootprotocol voor?"
LATE_DOC = ("derde-feit.md", "# De lantaarnregel\n\n## Afspraak\n\nDe lantaarnregel bepaalt dat elke partner een lantaarndrager aanwijst die problemen vroeg zichtbaar maakt.\n")
LATE_QUESTION = "Wat bepaalt de lantaarnregel?"


def _ask(url: str, question: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    r = httpx.post(f"{url}/api/ask", json={"question": question, "history": []}, timeout=timeout)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def _first_source(url: str, question: str) -> str | None:
    cites = _ask(url, question)["citations"]
    return cites[0]["source"] if cites else None


def _session(url: str, stop: threading.Event, results: list[tuple[str, float, int, str]], n: int) -> None:
    with httpx.Client(timeout=120) as client:
        while not stop.is_set():
            q = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            t0 = time.monotonic()
            try:
                r = client.post(f"{url}/api/ask", json={"question": q, "history": []})
                ok, what = r.status_code, ""
                if ok == 200:
                    data = r.json()
                    if not data.get("citations") and not data.get("refused"):
                        ok, what = -2, "answer without citations"
                else:
                    what = r.text[:200]
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                ok, what = -1, type(exc).__name__
            results.append((url, time.monotonic() - t0, ok, what))


def _wait(check, seconds: float, step: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = check()
        except (httpx.HTTPError, ValueError, KeyError):
            got = None
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def _pickup(urls: list[str], question: str, source: str, since: float) -> dict[str, float]:
    """Seconds from `since` until each node's answer cites `source` (inf when not within the limit)."""
    out: dict[str, float] = {}

    def watch(url: str) -> None:
        ok = _wait(lambda: _first_source(url, question) == source, PICKUP_LIMIT + 20, step=0.1)
        out[url] = time.monotonic() - since if ok else float("inf")

    threads = [threading.Thread(target=watch, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_stateless_nodes_follow_builds_made_by_a_third_process(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    corpus = write_fixture_corpus(tmp_path / "corpus")
    figures: dict[str, object] = {"sessions": SESSIONS}
    t_total = time.monotonic()
    with chroma_server(tmp_path / "chroma") as chroma_url:
        env = {
            **os.environ,
            "ADVISOR_MODELS_DIR": str(tmp_path_factory.getbasetemp() / "shared-models"),
            "ADVISOR_CHROMA_SERVER_URL": chroma_url,
            "HF_HUB_OFFLINE": "1",
        }

        def indexer(folder: str, *extra: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-m", "advisor", "index", "--json", *extra, "--corpus", str(corpus), "--index", str(tmp_path / folder)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )

        nodes: list[subprocess.Popen[bytes]] = []
        urls: list[str] = []
        try:
            for name in ("node-a", "node-b"):
                port = free_port()
                log = (tmp_path / f"{name}.log").open("w")
                nodes.append(subprocess.Popen(
                    [sys.executable, "-m", "advisor", "serve", "--port", str(port), "--corpus", str(corpus), "--index", str(tmp_path / name)],
                    env=env, stdout=log, stderr=subprocess.STDOUT,
                ))
                urls.append(f"http://127.0.0.1:{port}")
            t0 = time.monotonic()
            for url in urls:
                health = _wait(lambda url=url: httpx.get(f"{url}/api/health", timeout=2).json(), 240, step=0.5)
                assert health and health["build"] is None and health["status"] == "no index", (tmp_path / "node-a.log").read_text()[-2000:]
            figures["node_start_seconds"] = round(time.monotonic() - t0, 1)
            assert all(not any((tmp_path / name).glob("builds/*")) for name in ("node-a", "node-b"))

            # 1. the first build, made by a third process
            t0 = time.monotonic()
            first = indexer("indexer")
            out, err = first.communicate(timeout=900)
            assert first.returncode == 0, err
            build1 = json.loads(out.splitlines()[-1])["build_id"]
            figures["first_build_seconds"] = round(time.monotonic() - t0, 1)
            done = time.monotonic()
            seen = {u: _wait(lambda u=u: httpx.get(f"{u}/api/health", timeout=5).json()["build"] == build1, PICKUP_LIMIT) for u in urls}
            assert all(seen.values()), seen
            figures["first_build_pointer_seen_seconds"] = round(time.monotonic() - done, 2)
            for url in urls:
                ans = _ask(url, QUESTIONS[0])
                assert not ans["refused"] and ans["citations"][0]["source"] == "vertrouwen.md"
            for name in ("node-a", "node-b"):  # each node's cache: a copy of that build, nothing else
                assert sorted(p.name for p in (tmp_path / name / "builds").iterdir()) == [build1]

            # 2. a new document, re-indexed while 10 sessions chat on both nodes
            (corpus / NEW_DOC[0]).write_text(NEW_DOC[1])
            stop = threading.Event()
            results: list[tuple[str, float, int, str]] = []
            sessions = [threading.Thread(target=_session, args=(urls[s % 2], stop, results, s), daemon=True) for s in range(SESSIONS)]
            for t in sessions:
                t.start()
            time.sleep(3)
            t0 = time.monotonic()
            second = indexer("indexer")
            out, err = second.communicate(timeout=900)
            assert second.returncode == 0, err
            build2 = json.loads(out.splitlines()[-1])["build_id"]
            switched = time.monotonic()
            figures["reindex_seconds"] = round(switched - t0, 1)
            pickup = _pickup(urls, NEW_QUESTION, NEW_DOC[0], switched)
            time.sleep(3)  # and some more chat on the new build
            stop.set()
            for t in sessions:
                t.join(150)
            failures = [r for r in results if r[2] != 200]
            lat = sorted(d for _, d, ok, _ in results if ok == 200)
            figures["reindex_under_load"] = {
                "requests": len(results),
                "per_node": {f"node-{'ab'[i]}": sum(1 for r in results if r[0] == u) for i, u in enumerate(urls)},
                "failed": len(failures),
                "p50_s": round(statistics.median(lat), 2) if lat else None,
                "p95_s": round(lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))], 2) if lat else None,
                "new_document_cited_after_s": {f"node-{'ab'[i]}": round(pickup[u], 2) for i, u in enumerate(urls)},
            }
            assert failures == [], failures[:5]
            assert all(s <= PICKUP_LIMIT for s in pickup.values()), pickup
            assert all(httpx.get(f"{u}/api/health").json()["build"] == build2 for u in urls)

            # 3 and 4. a long build killed with SIGKILL in the middle; a second indexer refused meanwhile
            # int8 passages embed ~85 chunks between two lease renewals (2 s): enough documents that
            # the observer sees the embedding under way before the builder can finish it
            write_extra_documents(corpus, 96)
            (corpus / LATE_DOC[0]).write_text(LATE_DOC[1])
            observer = ServerStore(chroma_url, tmp_path / "observer", poll_seconds=0.1)
            doomed = indexer("indexer")
            assert _wait(observer.is_building, 120, step=0.1), "the build did not start"
            rival = indexer("other-machine")  # as from another machine: its own folder, the same server
            progress = _wait(lambda: doomed.poll() is not None or ((p := observer.progress()) and p["stage"] == "embedding" and p["done"] > 0 and p), 600, step=0.1)
            assert isinstance(progress, dict) and doomed.poll() is None, "the build ended before it could be killed"
            time.sleep(1.0)
            killed_at = observer.progress() or progress
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(30)
            figures["killed_at"] = {k: killed_at.get(k) for k in ("stage", "done", "total")}
            _, rival_err = rival.communicate(timeout=300)
            figures["second_indexer_exit_code"] = rival.returncode
            assert rival.returncode == 75 and "another index build is running" in rival_err, rival_err
            for url in urls:
                for _ in range(3):
                    assert httpx.get(f"{url}/api/health").json()["build"] == build2
                    assert _first_source(url, NEW_QUESTION) == NEW_DOC[0]
                    time.sleep(0.5)
            figures["after_kill"] = "both nodes on the previous build, answering"

            t0 = time.monotonic()
            final = indexer("indexer")
            out, err = final.communicate(timeout=900)
            assert final.returncode == 0, err  # the dead builder's lease did not block it
            build3 = json.loads(out.splitlines()[-1])["build_id"]
            figures["build_after_kill_seconds"] = round(time.monotonic() - t0, 1)
            pickup = _pickup(urls, LATE_QUESTION, LATE_DOC[0], time.monotonic())
            figures["build_after_kill_cited_after_s"] = {f"node-{'ab'[i]}": round(pickup[u], 2) for i, u in enumerate(urls)}
            assert all(s <= PICKUP_LIMIT for s in pickup.values()), pickup
            assert all(httpx.get(f"{u}/api/health").json()["build"] == build3 for u in urls)
            names = {c.name for c in observer.client.list_collections()}
            ours = {n for n in names if n.startswith(("advisor_", "advisor-files_"))}
            assert {n for n in ours if build3.replace("-", "_") not in n and build2.replace("-", "_") not in n} == set()
            assert not (tmp_path / "node-a" / "CURRENT").exists() and not (tmp_path / "node-b" / "CURRENT").exists()
        finally:
            for p in nodes:
                p.terminate()
            for p in nodes:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
    figures["test_seconds"] = round(time.monotonic() - t_total, 1)
    out_path = Path(os.environ.get("RELIABILITY_OUT_NODES", tmp_path / "nodes.json"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(figures, indent=1))
