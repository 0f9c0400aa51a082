"""OZmap's own client as the judge: the official TypeScript SDK (``@ozmap/ozmap-sdk`` from the
npm registry, pinned in package-lock.json) driven through its documented constructor and methods
against the sandbox on loopback, every call a chatbot or an ERP would make (``calls.cjs``).

node and npm must be on the machine: missing, the test fails in CI (``CI=true``) and is skipped
on a developer's machine. ``npm ci`` installs the locked SDK into ``tests/sdk/node_modules``
once per lock-file version (never ``npm install``: CI must get exactly what was reviewed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.ozmap.sandbox import BOX_900, SPLITTER_900, RunningSandbox
from tests.support.services import unavailable

HERE = Path(__file__).resolve().parent
STAMP = HERE / "node_modules" / ".ozbot-lock-sha256"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(
            f"{name} is missing: the OZmap SDK test needs node 20 and npm "
            "(apt-get install nodejs npm)"
        )
    return found


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the locked SDK installed next to this file."""
    node_bin, npm = _tool("node"), _tool("npm")
    wanted = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.is_file() or STAMP.read_text() != wanted:
        done = subprocess.run(  # noqa: S603 - npm with fixed arguments
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {HERE}: {done.stderr.strip()[-800:]}")
        STAMP.write_text(wanted)
    return node_bin


def case(sandbox: RunningSandbox) -> dict[str, Any]:
    """What the script needs to know about the seed network."""
    net = sandbox.network
    samples = net.samples
    box = net.get("boxes", BOX_900)
    assert box is not None
    return {
        "login": "devoz",
        "password": "devoz",
        "box": BOX_900,
        "splitter": SPLITTER_900,
        "project": box["project"],
        "owner": net.users[0]["_id"],
        "pendencyType": next(iter(net.collections["pendency-types"])),
        "deletableClient": "cliente-lote-2",
        "covered": samples["covered"],
        "far": samples["not_covered"],
        "building": {
            "id": samples["building"]["building"],
            "lat": samples["building"]["lat"],
            "lng": samples["building"]["lng"],
        },
        "condominium": {
            "id": samples["horizontal_condominium"]["horizontalCondominium"],
            "lat": samples["horizontal_condominium"]["lat"],
            "lng": samples["horizontal_condominium"]["lng"],
        },
        "outage": samples["outage_region"],
    }


def sdk_env(sandbox: RunningSandbox, home: Path, report: Path) -> dict[str, str]:
    """The environment ``calls.cjs`` runs in against ``sandbox``, writing ``report``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "OZMAP_URL": sandbox.url,
        "OZMAP_TOKEN": sandbox.token,
        "SDK_CASE": json.dumps(case(sandbox)),
        "SDK_REPORT": str(report),
        # the SDK's logger would open an HTTP server on localhost:9898 and log every request
        "OZLOGGER_HTTP": "false",
        "OZLOGGER_LEVEL": "error",
    }


def test_the_official_sdk_works_against_the_sandbox(
    node: str, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run(  # noqa: S603 - our own script
        [node, str(HERE / "calls.cjs")],
        env=sdk_env(sandbox, tmp_path, report),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    calls = json.loads(report.read_text())["calls"]
    failed = [f"{c['name']}: {c['detail']}" for c in calls if not c["ok"]]
    assert failed == [], f"{len(calls) - len(failed)} of {len(calls)} SDK calls work"
    assert len(calls) >= 66  # the calls of calls.cjs: none may silently drop out
