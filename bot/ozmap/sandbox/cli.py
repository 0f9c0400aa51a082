"""``ozbot sandbox``: run the OZmap-compatible sandbox on uvicorn.

    ozbot sandbox [--host 127.0.0.1] [--port 9994] [--token TOKEN] [--state FILE]
                  [--network FILE] [--latency S] [--error-rate X] [--seed N]
                  [--login devoz] [--password devoz] [--feasibility-shape SHAPE]
                  [--error-shape SHAPE] [--paging start|page|total]

The token is ``--token``, else ``OZMAP_TOKEN`` (from the environment or ``.env``), else a random
one; one line tells the URL and how to authenticate. A random token is printed in full (it is the
only way to learn it); one the user supplied is shown masked. With ``--state FILE`` the network
is loaded from FILE when it exists (else from ``--network``/the seed) and written back after
every change, so reservations survive a restart. ``--feasibility-shape`` picks how
``/ftth-viability/radius`` answers (OZmap documents only its ``viable``): full, minimal, bare,
mixed, nested, ids or wrapped (see bot/ozmap/sandbox/feasibility.py). ``--error-shape`` picks
the body of its error answers (OZmap documents none): full, error, errors, nested or text (see
bot/ozmap/sandbox/errors.py). ``--paging`` picks where ``nextUrl`` carries the position, or
that there is none (see bot/ozmap/sandbox/lists.py; the SDK follows only ``start``).
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.ozmap.sandbox.app import API_PREFIX, DEFAULT_LOGIN, DEFAULT_PASSWORD, create_app
from bot.ozmap.sandbox.errors import ERROR_SHAPES
from bot.ozmap.sandbox.feasibility import SHAPES
from bot.ozmap.sandbox.lists import PAGING_STYLES
from bot.ozmap.sandbox.network import DEFAULT_NETWORK_FILE, Network
from bot.settings import load_settings, mask

__all__ = ["add_arguments", "register", "run"]

DEFAULT_PORT = 9994  # OZmap's own API port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 9994)")
    parser.add_argument("--token", help="API key to accept (default: OZMAP_TOKEN or random)")
    parser.add_argument("--state", type=Path, help="JSON file to keep the network state in")
    parser.add_argument(
        "--network", type=Path, default=DEFAULT_NETWORK_FILE, help="seed network JSON file"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction 0..1 of requests answered 503"
    )
    parser.add_argument("--seed", type=int, default=None, help="RNG seed for --error-rate")
    parser.add_argument("--login", default=DEFAULT_LOGIN, help="login for POST /users/login")
    parser.add_argument(
        "--password", default=DEFAULT_PASSWORD, help="password for POST /users/login"
    )
    parser.add_argument(
        "--feasibility-shape",
        choices=SHAPES,
        default="full",
        help="shape of the feasibility answer (OZmap documents only its `viable`)",
    )
    parser.add_argument(
        "--error-shape",
        choices=ERROR_SHAPES,
        default="full",
        help="shape of the body of error answers (OZmap documents none)",
    )
    parser.add_argument(
        "--paging",
        choices=PAGING_STYLES,
        default="start",
        help="where nextUrl carries the position (start, what the SDK follows; page), or no "
        "nextUrl at all (total)",
    )
    parser.set_defaults(handler=run)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run the local OZmap-compatible server with a seeded network",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)


def _load_network(args: argparse.Namespace) -> Network:
    source: Path = args.state if args.state is not None and args.state.is_file() else args.network
    try:
        return Network.load(source)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the network file {source}: {exc.strerror}; pass --network FILE"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{source} is not a sandbox network file ({exc}); regenerate it with "
            "bot/ozmap/sandbox/data/make_network.py or delete the --state file"
        ) from exc


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code. Raises ConfigError for bad options."""
    import uvicorn  # imported here: only this command needs the server

    if not 0.0 <= args.error_rate <= 1.0:
        raise ConfigError("--error-rate must be between 0 and 1, e.g. 0.1")
    if args.latency < 0:
        raise ConfigError("--latency must be zero or more seconds, e.g. 0.2")
    token = args.token or load_settings().ozmap_token
    if token:
        how = f"use your token ({mask(token)})"
    else:
        token = secrets.token_urlsafe(24)
        how = f"OZMAP_TOKEN={token}"
    network = _load_network(args)
    app = create_app(
        network,
        token,
        latency=args.latency,
        error_rate=args.error_rate,
        seed=args.seed,
        state_file=args.state,
        login=args.login,
        password=args.password,
        feasibility_shape=args.feasibility_shape,
    )
    app.state.sandbox.error_shape = args.error_shape
    app.state.sandbox.paging_style = args.paging
    url = f"http://{args.host}:{args.port}"
    print(
        f"OZmap sandbox on {url}{API_PREFIX} — set OZMAP_URL={url} and {how} "
        f"(or POST {API_PREFIX}/users/login as {args.login})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
