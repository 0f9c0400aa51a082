"""Run the sandbox in a separate process (benchmarks, end-to-end checks), from sync code.

    with run_sandbox_process(latency=0.05) as sb:
        httpx.get(sb.api_url + "/boxes", headers={"Authorization": sb.token})

It starts ``python -m bot.ozmap.sandbox`` on a free loopback port, waits until
``/api/v2/authenticated`` answers (any HTTP answer counts: with ``error_rate`` the first one may
be a 503), yields a :class:`SandboxProcess`, and terminates the process on exit.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.ozmap.sandbox.app import API_PREFIX

__all__ = ["SandboxProcess", "run_sandbox_process"]

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SandboxProcess:
    """A sandbox running in a child process: ``url`` (server root), ``token``, ``pid``."""

    url: str
    token: str
    pid: int

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, token: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            httpx.get(url, headers={"Authorization": token}, timeout=1.0)
            return True
        except httpx.TransportError:
            time.sleep(0.05)
    return False


@contextmanager
def run_sandbox_process(
    *,
    token: str | None = None,
    network: Path | None = None,
    state: Path | None = None,
    latency: float = 0.0,
    error_rate: float = 0.0,
    seed: int | None = None,
    feasibility_shape: str = "full",
    startup_timeout: float = 20.0,
) -> Iterator[SandboxProcess]:
    """Start a sandbox process and stop it when the block ends.

    Raises ``RuntimeError`` (with the child's stderr) if it does not come up in time.
    """
    token = token or secrets.token_urlsafe(16)
    extra: list[str] = [
        f"--token={token}",  # one argument: a token may start with "-"
        "--latency",
        str(latency),
        "--error-rate",
        str(error_rate),
        "--feasibility-shape",
        feasibility_shape,
    ]
    if network is not None:
        extra += ["--network", str(network)]
    if state is not None:
        extra += ["--state", str(state)]
    if seed is not None:
        extra += ["--seed", str(seed)]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        # stderr goes to a file, not a pipe: a pipe nobody reads could fill and stall the child
        errors = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in the finally below
        proc = subprocess.Popen(  # noqa: S603 -- our own interpreter and module, fixed arguments
            [sys.executable, "-m", "bot.ozmap.sandbox", "--port", str(port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        try:
            if _wait_until_up(proc, url + API_PREFIX + "/authenticated", token, startup_timeout):
                yield SandboxProcess(url=url, token=token, pid=proc.pid)
                return
            if proc.poll() is None:
                break  # still running but never answered: retrying will not help
            errors.seek(0)
            last_error = errors.read().decode(errors="replace")
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            errors.close()
    raise RuntimeError(f"the sandbox process did not start: {last_error.strip()[-500:]}")
