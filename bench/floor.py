"""The HTTP floor bench/webhooks.py measures: a Starlette endpoint that only answers 200, served by
uvicorn as ``ozbot serve`` is (uvloop, httptools, no access log).

    python bench/floor.py --port N
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def ok(_: Request) -> Response:
    return Response()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(
        routes=[
            Route("/webhooks/telegram", ok, methods=["POST"]),
            Route("/webhooks/twilio", ok, methods=["POST"]),
            Route("/healthz", ok, methods=["GET"]),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
