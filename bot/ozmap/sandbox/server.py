"""Run the sandbox on a real loopback socket inside this process (tests, the demo).

:func:`serve_in_thread` starts uvicorn in a background thread with its own event loop, on a
socket bound to a free port before the server starts (so the URL is known and no port race is
possible), waits until it accepts requests, and stops it on exit. Being thread-based, it works
from sync and async code alike and outlives any one test's event loop.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from bot.ozmap.sandbox.app import API_PREFIX, Sandbox, create_app
from bot.ozmap.sandbox.network import Network

__all__ = ["RunningSandbox", "serve_in_thread"]


@dataclass(frozen=True)
class RunningSandbox:
    """A live sandbox: ``url`` is the server root (``http://127.0.0.1:PORT``; the API is under
    ``url + "/api/v2"``), ``token`` the API key it accepts, ``network`` the live model."""

    url: str
    token: str
    network: Network
    sandbox: Sandbox
    shape: str = "full"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def reset(self) -> None:
        """Restore the seed state (the network as it was loaded), the feasibility shape it was
        started with, and no answers to lose."""
        self.network.reset()
        self.sandbox.feasibility_shape = self.shape
        self.sandbox.lose_answers.clear()
        self.sandbox.error_rate_after_loss = None
        self.sandbox.error_shape = "full"
        self.sandbox.paging_style = "start"


@contextmanager
def serve_in_thread(
    network: Network | None = None,
    token: str | None = None,
    *,
    latency: float = 0.0,
    error_rate: float = 0.0,
    seed: int | None = None,
    state_file: Path | None = None,
    feasibility_shape: str = "full",
    startup_timeout: float = 10.0,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on ``127.0.0.1`` on a free port until the ``with`` block ends.

    ``network`` defaults to the seed; ``token`` to a random one (read it from the result).

    Raises ``RuntimeError`` if the server does not start within ``startup_timeout`` seconds.
    """
    network = network if network is not None else Network.load()
    token = token or secrets.token_urlsafe(16)
    app = create_app(
        network,
        token,
        latency=latency,
        error_rate=error_rate,
        seed=seed,
        state_file=state_file,
        feasibility_shape=feasibility_shape,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"ozmap-sandbox-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = threading.Event()
        waited = 0.0
        while not server.started:
            if not thread.is_alive() or waited > startup_timeout:
                raise RuntimeError(f"the OZmap sandbox did not start on port {port}")
            deadline.wait(0.01)
            waited += 0.01
        yield RunningSandbox(
            url=f"http://127.0.0.1:{port}",
            token=token,
            network=network,
            sandbox=app.state.sandbox,
            shape=feasibility_shape,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
