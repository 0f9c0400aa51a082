"""A local OZmap-compatible server ("the sandbox") with a seeded network in Florianópolis.

Integrators, the demo, the tests and the benchmarks run against it; the OZmap client works
unchanged against it and against a real OZmap. Entry points:

* :func:`create_app` — the Starlette app (``/api/v2``), see :mod:`bot.ozmap.sandbox.app`;
* :class:`Network` — the in-memory network, loaded from ``data/network.json``;
* :func:`feasibility` — the radius feasibility rules;
* :func:`serve_in_thread` — a live server on loopback inside this process (tests);
* :func:`bot.ozmap.sandbox.process.run_sandbox_process` — one in a separate process (benchmarks);
* ``ozbot sandbox`` / ``python -m bot.ozmap.sandbox`` — the command line.
"""

from bot.ozmap.sandbox.app import API_PREFIX, Sandbox, create_app
from bot.ozmap.sandbox.feasibility import DEFAULT_RADIUS_M, SHAPES, feasibility
from bot.ozmap.sandbox.network import (
    BOX_900,
    DEFAULT_NETWORK_FILE,
    SPLITTER_900,
    THREE_FREE_PORTS_BOX,
    Network,
)
from bot.ozmap.sandbox.server import RunningSandbox, serve_in_thread

__all__ = [
    "API_PREFIX",
    "BOX_900",
    "DEFAULT_NETWORK_FILE",
    "DEFAULT_RADIUS_M",
    "SHAPES",
    "SPLITTER_900",
    "THREE_FREE_PORTS_BOX",
    "Network",
    "RunningSandbox",
    "Sandbox",
    "create_app",
    "feasibility",
    "serve_in_thread",
]
