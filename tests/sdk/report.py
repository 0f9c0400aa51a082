"""Print what the official OZmap SDK makes of the sandbox, call by call, and how many work:

    .venv/bin/python -m tests.sdk.report

The same calls as ``test_sdk.py`` (``calls.cjs``) against a fresh sandbox in this process; the
locked SDK must be installed (``npm ci`` in tests/sdk, which the test does once). Exits 1 when
a call fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.ozmap.sandbox import Network, serve_in_thread
from tests.sdk.test_sdk import HERE, sdk_env


def main() -> int:
    with serve_in_thread(Network.load()) as sandbox, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(  # noqa: S603 - our own script
            [shutil.which("node") or "node", str(HERE / "calls.cjs")],
            env=sdk_env(sandbox, Path(tmp), report),
            check=True,
            timeout=300,
        )
        calls = json.loads(report.read_text())["calls"]
    for c in calls:
        print(("ok  " if c["ok"] else "FAIL"), c["name"], c["detail"][:120])
    working = sum(1 for c in calls if c["ok"])
    print(f"{working} of {len(calls)} SDK calls work")
    return 0 if working == len(calls) else 1


if __name__ == "__main__":
    sys.exit(main())
