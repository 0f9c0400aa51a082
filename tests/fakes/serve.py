"""Run a messenger fake on loopback: in a thread of this process (:func:`serve_in_thread`, for
tests of the CLI), or as its own process (``python -m tests.fakes.serve telegram|twilio
--port N``, for the benchmark). Both fakes also answer ``GET /_fake/sent`` with what they
received and when (epoch seconds), so another process can measure reply latency, and
``GET /_fake/count`` with how many messages that is."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.payloads import ACCOUNT_SID
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support.net import free_socket

__all__ = ["add_inspection", "serve_in_thread"]


def add_inspection(fake: FakeTelegramAPI | FakeTwilioAPI) -> None:
    """Add ``GET /_fake/sent[?since=N]``: ``[{"to", "text", "at"}]`` for every message received
    (from the ``N``-th on), and ``GET /_fake/count``: how many there are (cheap to poll)."""

    def messages() -> list[Any]:
        return fake.sent() if isinstance(fake, FakeTelegramAPI) else fake.messages

    async def sent(request: Request) -> JSONResponse:
        since = int(request.query_params.get("since", "0"))
        rows: list[dict[str, Any]]
        if isinstance(fake, FakeTelegramAPI):
            rows = [
                {"to": str(c.params["chat_id"]), "text": c.params["text"], "at": c.wall}
                for c in fake.sent()[since:]
            ]
        else:
            rows = [{"to": m.to, "text": m.text, "at": m.wall} for m in fake.messages[since:]]
        return JSONResponse(rows)

    async def count(request: Request) -> JSONResponse:
        return JSONResponse(len(messages()))

    fake.app.router.routes.append(Route("/_fake/sent", sent, methods=["GET"]))
    fake.app.router.routes.append(Route("/_fake/count", count, methods=["GET"]))


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a daemon thread; yields its URL."""
    sock, port = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=["telegram", "twilio"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="bot token, or Twilio auth token")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="Telegram: seconds before a call arrives"
    )
    args = parser.parse_args()
    fake: FakeTelegramAPI | FakeTwilioAPI
    if args.which == "telegram":
        fake = FakeTelegramAPI(args.token, latency=args.latency)
    else:
        fake = FakeTwilioAPI(ACCOUNT_SID, args.token)
    add_inspection(fake)
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
