"""Login-storm benchmark: how long a web-chat message waits for its 202 while agents' logins
fail all at once (issue 10, item 7: argon2 on the event loop pushed the worst webhook
acknowledgement from 5 ms to 6 s under 60 failed logins).

    .venv/bin/python bench/logins.py [--logins 60] [--rounds 3]

Runs ``ozbot serve``'s app (SQLite in a temporary directory, no OZmap needed) on loopback in
a child process, so the client's work does not share the server's event loop. Per round, a
quiet phase (acknowledgements alone, one after another), then a storm: ``--logins``
simultaneous failed logins (unknown names, one address each, so the throttle lets every one
reach argon2) while the acknowledgements go on. Prints the storm's length and the
acknowledgements' p50 / p99 / worst in each phase. Not a test: numbers depend on the machine.

Recorded 2026-12-01 on 2 shared cores with the load average at 14-17 (other helpers' suites
running; argon2 takes about 0.7 s a verification then, 50 ms idle), 60 logins, one round each:

    argon2 in a worker thread (today)   quiet p50 19 ms, worst 41 ms; storm 44.6 s;
                                        185 acks during it, p50 145 ms, p99 810 ms, worst 1.4 s
    argon2 on the event loop (before)   quiet p50 21 ms, worst 56 ms; storm 54.9 s;
                                        2 acks during it, p50 27.4 s, worst 54.7 s
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.logins import FRESH, failed_login_storm

ROOT = Path(__file__).resolve().parents[1]


def _server(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OZBOT_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data / 'ozbot.db'}",
        "OZMAP_URL": "http://127.0.0.1:9",
        "OZMAP_TOKEN": "unused",
        "GEOCODER": "gazetteer",
        "CEP_PROVIDER": "offline",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    # our own interpreter and module, arguments we built
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # noqa: S603


async def _ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


def _figures(acks: list[float]) -> str:
    if not acks:
        return "no acknowledgement"
    ordered = sorted(acks)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(acks)} acks, p50 {statistics.median(ordered) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, worst {ordered[-1] * 1000:.0f} ms"
    )


async def _round(url: str, logins: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=FRESH) as chat:
        page = await chat.get("/chat")
        chat.cookies.set("ozbot_chat", page.cookies["ozbot_chat"])

        async def ack(n: int) -> float:
            started = time.perf_counter()
            response = await chat.post("/chat/api/messages", json={"id": f"b{n}", "text": "oi"})
            assert response.status_code == 202, response.text
            return time.perf_counter() - started

        quiet = [await ack(n) for n in range(20)]
        storm = await failed_login_storm(url, logins, client_timeout=300)
        started = time.perf_counter()
        during: list[float] = []
        n = 1000
        while not storm.done():
            during.append(await ack(n))
            n += 1
            await asyncio.sleep(0.02)
        statuses = await storm
        took = time.perf_counter() - started
    refused = sum(1 for status in statuses if status == 401)
    print(f"  quiet: {_figures(quiet)}")
    print(f"  storm of {logins} failed logins ({refused} refused 401) took {took:.2f} s")
    print(f"  during the storm: {_figures(during)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as data:
        server = _server(Path(data), args.port)
        try:
            await _ready(url)
            for number in range(1, args.rounds + 1):
                print(f"round {number}:")
                await _round(url, args.logins)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
