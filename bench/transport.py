"""Outbound HTTP: the client CPU one POST costs, per client stack, against a local server.

    .venv/bin/python bench/transport.py [--requests 3000] [--concurrency 1,16]

The server (``bench/floor.py``-like: uvicorn answering a small JSON body, as the Bot API and
Twilio do) runs in its own process; this process sends ``--requests`` POSTs of a small JSON
body, ``--concurrency`` at a time, through:

* ``httpx``: ``httpx.AsyncClient`` on its own pooled transport (httpcore, h11, anyio), as
  ``ozbot serve`` used until the aiohttp transport;
* ``httpx+aiohttp``: ``httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())``: the httpx
  interface (what the PTB request, the twilio client, the OZmap client and the tests speak) on
  aiohttp's connection pool and parser, as ``ozbot serve`` used until bot/httptransport.py;
* ``ozbot``: :func:`bot.httpclient.shared_client`, the client ``ozbot serve`` sends through (its
  own transport, bot/httptransport.py on bot/http11.py, a lean request path), ``post``ing the
  bytes the PTB request posts (an httpx request and response built);
* ``ozbot fetch``: the same client's ``fetch``, which the PTB request, the twilio client and
  the OZmap client call (no httpx request or response built);
* ``ozbot fetch form``: ``fetch`` of the form the twilio client posts (a Messages.json create
  with basic auth);
* ``aiohttp``: ``aiohttp.ClientSession`` called directly (the transport ozbot used before
  bot/http11.py).

Run from another checkout's bench/ (a copy of this file), the ``ozbot`` rows measure that
checkout's client: how the figures for the aiohttp transport were taken.

Prints this process's CPU time per request (getrusage, so the server's work is not in it) and
the wall time. Not a test: numbers depend on the machine; record them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import uvloop
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.httpclient import shared_client

SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def ok(request):
    await request.body()
    return JSONResponse({"ok": True, "result": {"message_id": 1, "date": 0, "text": "x" * 200}})
app = Starlette(routes=[Route("/bot/sendMessage", ok, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
BODY = {"chat_id": 123456789, "text": "Olá! Sou o assistente virtual. " * 4}
FORM = {
    "To": "whatsapp:+5548991234567",
    "From": "whatsapp:+5548999990000",
    "Body": "Olá! Sou o assistente virtual. " * 4,
    "StatusCallback": "https://bot.example.com/webhooks/twilio/status",
}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def timed(
    send: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> tuple[float, float]:
    for _ in range(50):  # warm: connections open, code paths loaded
        await send()
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await send()

    start_cpu, start = cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (cpu() - start_cpu) / requests, (time.perf_counter() - start) / requests


async def run(url: str, requests: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    results: dict[str, tuple[float, float]] = {}

    async with httpx.AsyncClient(limits=limits) as client:

        async def plain() -> None:
            (await client.post(url, json=BODY)).raise_for_status()

        results["httpx"] = await timed(plain, requests, concurrency)

    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as client:

        async def bridged() -> None:
            (await client.post(url, json=BODY)).raise_for_status()

        results["httpx+aiohttp"] = await timed(bridged, requests, concurrency)

    body = json.dumps(BODY).encode()
    json_headers = {"User-Agent": "PTB", "Content-Type": "application/json"}
    async with shared_client() as client:

        async def ours() -> None:
            (await client.post(url, content=body, headers=json_headers)).raise_for_status()

        results["ozbot"] = await timed(ours, requests, concurrency)

        async def fetched() -> None:
            answer = await client.fetch("POST", url, content=body, headers=json_headers)
            assert answer.status_code == 200

        results["ozbot fetch"] = await timed(fetched, requests, concurrency)
        login = {"Authorization": "Basic QUMxOnRva2Vu", "Accept": "application/json"}

        async def fetched_form() -> None:
            answer = await client.fetch("POST", url, data=FORM, headers=login)
            assert answer.status_code == 200

        results["ozbot fetch form"] = await timed(fetched_form, requests, concurrency)

    async with aiohttp.ClientSession() as session:

        async def direct() -> None:
            async with session.post(url, json=BODY) as response:
                response.raise_for_status()
                await response.read()

        results["aiohttp"] = await timed(direct, requests, concurrency)

    for name, (cpu_s, wall_s) in results.items():
        print(
            f"concurrency {concurrency:>3}  {name:<16} client CPU {cpu_s * 1e6:7.0f} us/request"
            f"   wall {wall_s * 1e6:7.0f} us/request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=Path(__file__).parent)  # noqa: S603
    try:
        for _ in range(100):
            try:
                httpx.post(f"http://127.0.0.1:{port}/bot/sendMessage")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/bot/sendMessage"
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            # on uvloop, as uvicorn runs ozbot serve
            uvloop.run(run(url, args.requests, concurrency))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
