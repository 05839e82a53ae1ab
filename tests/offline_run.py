"""Run the advisor CLI with an audit hook that records every network call it attempts.

Used by tests/test_offline.py: `python tests/offline_run.py LOG -- index --corpus ...`.
"""

import json
import sys

log_path = sys.argv[1]
args = sys.argv[3:]
events = []


def hook(event: str, payload: tuple) -> None:  # type: ignore[type-arg]
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
        target = payload[1] if event == "socket.connect" else payload[0]
        if event == "socket.connect" and isinstance(target, (str, bytes)):
            return  # AF_UNIX sockets are local IPC, not network
        events.append({"event": event, "target": repr(target)})


sys.addaudithook(hook)
sys.argv = ["advisor", *args]
try:
    from advisor.cli import main

    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
finally:
    with open(log_path, "w") as f:
        json.dump(events, f)
sys.exit(code)
