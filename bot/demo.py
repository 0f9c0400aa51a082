"""``ozbot demo``: the whole bot in a terminal, with nothing to configure.

It starts the OZmap sandbox on a free loopback port (in this process, uvicorn in a background
thread), uses the offline gazetteer and CEP table and a SQLite file in a temporary directory,
and talks through :class:`~bot.channels.console.ConsoleChannel`. Interactive in a terminal; with
piped input it reads one message per line and prints the replies as they come, so a
conversation can be scripted::

    printf 'oi\\n1\\nR. Delminda Silveira, 900\\nsim\\nAna Souza\\nsim\\n' | ozbot demo
    printf 'oi\\n1\\nR. Delminda Silveira, 900\\nsim\\nAna\\n1\\ncancelar\\n1\\nsim\\n' | ozbot demo
    printf 'sem internet\\ncliente-massiva-caixa\\n' | ozbot demo

``/location LAT LNG`` sends a location pin; ``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, TextIO

from bot.channels.console import ConsoleChannel
from bot.messages import Inbound, Location
from bot.validation import parse_coordinates

__all__ = ["parse_line", "register", "run_demo"]

CHANNEL = "console"
CONTACT = "demo"
LOCATION_HINT = "(no terminal: send a pin with /location LAT LNG)"
QUIT = "/quit"


def parse_line(line: str, provider_id: str | None = None) -> Inbound | None:
    """One typed line as the customer's message; None for ``/quit``. ``/location LAT LNG`` is a
    location pin (an unreadable one is sent as text, which the bot answers as such)."""
    text = line.strip()
    if text.lower() == QUIT:
        return None
    pid = provider_id or uuid.uuid4().hex
    if text.lower().startswith("/location"):
        point = parse_coordinates(text)
        if point is not None:
            location = Location(lat=point[0], lng=point[1])
            return Inbound(channel=CHANNEL, contact=CONTACT, location=location, provider_id=pid)
    return Inbound(channel=CHANNEL, contact=CONTACT, text=text, provider_id=pid)


def banner(samples: dict[str, Any], ozmap_url: str) -> str:
    def address(name: str) -> str:
        sample = samples.get(name) or {}
        return str(sample.get("address", "?")).split(" - ")[0]

    def pin(name: str) -> str:
        sample = samples.get(name) or {}
        return f"/location {sample.get('lat')} {sample.get('lng')}"

    return "\n".join(
        [
            "ozbot demo: a customer's chat with the bot, against a local OZmap sandbox",
            f"  (sandbox at {ozmap_url}; data in a temporary directory, gone when you leave)",
            "",
            "Try, after choosing 1 (Contratar internet):",
            f"  covered address       {address('covered')}",
            f"  not covered           {address('not_covered')}",
            f"  in a building         {address('building')}",
            f"  in a gated community  {address('horizontal_condominium')}",
            f"  a location pin        {pin('covered')}",
            "Then 2 (Estou sem internet) with an address, a pin or a client code:",
            f"  known mass outage     {address('outage_region')} (a region), or",
            "                        cliente-massiva-caixa (its box)",
            f"  nothing known         {address('horizontal_condominium')}, or reserva_123",
            "  (a code not made in this chat is told nothing but a mass outage where it is)",
            "3 (Cancelar reserva) cancels a reservation made in this session (another's code,",
            "  e.g. reservation_123, is refused). 'atendente' queues you for a person;",
            "  'apagar meus dados' erases what the bot keeps. Left idle mid-flow, it nudges you.",
            "Options are numbered: answer with the number. Type /quit (or Ctrl-D) to leave.",
            "",
        ]
    )


def _start_reader(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], ready: threading.Event
) -> None:
    """Read stdin in a daemon thread (it must not keep the process alive on Ctrl-C). In a
    terminal the prompt waits for ``ready`` (the previous turn's replies printed), so it never
    lands in the middle of the bot's answer."""
    interactive = sys.stdin.isatty()

    def read() -> None:
        try:
            while True:
                if interactive:
                    ready.wait()
                    ready.clear()
                    line = input("you> ")
                else:
                    line = sys.stdin.readline()
                    if not line:
                        break
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        except (EOFError, KeyboardInterrupt, ValueError):
            pass
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()


async def run_demo(out: TextIO | None = None) -> int:
    """Run the demo until ``/quit`` or end of input; returns the exit code."""
    from bot.compose import compose
    from bot.ozmap.sandbox import Network, serve_in_thread
    from bot.plans import SAMPLE
    from bot.settings import load_settings

    out = out or sys.stdout
    echo = not sys.stdin.isatty()  # piped: show each scripted line before its replies
    network = Network.load()
    with (
        tempfile.TemporaryDirectory(prefix="ozbot-demo-") as tmp,
        serve_in_thread(network) as sandbox,
    ):
        data_dir = Path(tmp)
        settings = load_settings(
            env_file=None,
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'ozbot.db'}",
            ozmap_url=sandbox.url,
            ozmap_token=sandbox.token,
            geocoder="gazetteer",
            cep_provider="offline",
        )
        if not settings.plans_file:  # the sample's plans and answers, unless you set yours
            settings = settings.replace(plans_file=str(SAMPLE))
        console = ConsoleChannel(name=CHANNEL, out=out, location_hint=LOCATION_HINT)
        # the timers run in the background: a nudge shows up if you leave the chat idle mid-flow
        async with compose(settings, channels={CHANNEL: console}) as runtime:
            out.write(banner(network.samples, sandbox.url) + "\n")
            out.flush()
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            ready = threading.Event()
            ready.set()
            _start_reader(asyncio.get_running_loop(), queue, ready)
            while (line := await queue.get()) is not None:
                message = parse_line(line) if line.strip() else None
                if line.strip() and echo:
                    out.write(f"you> {line}\n")
                if message is None and line.strip():
                    break  # /quit
                if message is not None:
                    # one turn at a time, awaited: the prompt waits for the replies
                    await runtime.engine.handle(message)
                ready.set()
    return 0


def _handler(args: argparse.Namespace) -> int:
    if not args.verbose:
        # a chat, not a log: request lines from httpx and uvicorn would drown the replies
        logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_demo())


def register(subparsers: Any) -> None:
    """``ozbot demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="chat with the bot in this terminal, against a local OZmap sandbox",
        description=(
            "Chat with the bot in this terminal. Starts the OZmap sandbox on a free loopback "
            "port, the offline geocoder and SQLite in a temporary directory. Pipe lines in to "
            "script a conversation; /location LAT LNG sends a pin; /quit leaves."
        ),
    )
    parser.set_defaults(handler=_handler)
