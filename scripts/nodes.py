"""The multi-machine deployment, on one machine and on loopback: `make nodes`.

    Chroma server       127.0.0.1:8000   data in .nodes/chroma (the only state that matters)
    one-shot indexer    advisor index --index .nodes/indexer   (exits when its build is current)
    app node A          http://127.0.0.1:7861   index folder .nodes/node-a (starts empty: a cache)
    app node B          http://127.0.0.1:7862   index folder .nodes/node-b (starts empty: a cache)

The same commands, each on its own machine, are the README's "More than one machine". Ctrl-C
stops the nodes and the server. Re-index from another shell with

    ADVISOR_CHROMA_SERVER_URL=http://127.0.0.1:8000 .venv/bin/advisor index --index .nodes/indexer

and both nodes follow within a second or two. Ports and folder: CHROMA_PORT, NODE_PORTS, NODES_DIR.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from advisor.embedding.models import EmbeddingCache


def wait_until(url: str, what: str, proc: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not come up within {seconds:.0f} s")
        time.sleep(0.5)


def main() -> None:
    base = Path(os.environ.get("NODES_DIR", ".nodes"))
    chroma_port = int(os.environ.get("CHROMA_PORT", "8000"))
    node_ports = [int(p) for p in os.environ.get("NODE_PORTS", "7861,7862").split(",")]
    chroma_url = f"http://127.0.0.1:{chroma_port}"
    env = {**os.environ, "ADVISOR_CHROMA_SERVER_URL": chroma_url, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    advisor = [sys.executable, "-m", "advisor"]
    running: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for proc in reversed(running):
            proc.terminate()
        for proc in reversed(running):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    base.mkdir(parents=True, exist_ok=True)

    print(f"1/3 Chroma server on {chroma_url} (data: {base / 'chroma'})", flush=True)
    chroma = subprocess.Popen(
        [str(Path(sys.executable).with_name("chroma")), "run", "--path", str(base / "chroma"), "--host", "127.0.0.1", "--port", str(chroma_port)],
        env=env, stdout=(base / "chroma.log").open("w"), stderr=subprocess.STDOUT,
    )
    running.append(chroma)
    wait_until(f"{chroma_url}/api/v2/heartbeat", "the Chroma server", chroma, 60)

    print(f"2/3 one-shot indexer: advisor index --index {base / 'indexer'}", flush=True)
    EmbeddingCache.seed(Path("index"), base / "indexer")  # the quick start's embeddings: the corpus is not embedded again
    code = subprocess.run([*advisor, "index", "--index", str(base / "indexer")], env=env).returncode
    if code not in (0, 75):  # 75: a build from elsewhere is running; the nodes will follow it
        stop()

    print("3/3 app nodes, each with an empty index folder of its own", flush=True)
    for name, port in zip(("node-a", "node-b"), node_ports):
        folder = base / name
        shutil.rmtree(folder, ignore_errors=True)  # only a cache of the server's builds
        node = subprocess.Popen(
            [*advisor, "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(folder)],
            env=env, stdout=(base / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
        )
        running.append(node)
    for port, node in zip(node_ports, running[1:]):
        wait_until(f"http://127.0.0.1:{port}/api/health", f"the node on port {port}", node)
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()
        print(f"    http://127.0.0.1:{port}  build {health['build']}, {health['documents']} documents", flush=True)
    print(f"Running. Logs in {base}/. Ctrl-C stops the nodes and the server.", flush=True)
    while True:
        for proc in running:
            if proc.poll() is not None:
                print(f"process {proc.args[:4]} exited with code {proc.returncode}; stopping", flush=True)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
