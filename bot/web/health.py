"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (it can serve: the
store and OZmap answer), ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.web.state import app_state

__all__ = ["routes"]

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks = await app_state(request).readiness()
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    state = app_state(request)
    await state.metrics.sample_backlog(state.runtime.store)
    return PlainTextResponse(state.metrics.render(), media_type=PROMETHEUS_TEXT)


routes = [
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
    Route("/metrics", metrics, methods=["GET"], name="metrics"),
]
