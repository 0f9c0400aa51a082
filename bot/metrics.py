"""Prometheus metrics of one ``ozbot serve`` process, in their own registry (so tests can build
several apps in one process).

What is measured where:

- turns and webhooks: the dispatcher and the routes update their counters as they go;
- OZmap: :class:`MeteredTransport` wraps the shared HTTP client's pool for ``OZMAP_URL`` and
  times every request on the wire, by operation (``GET ftth-viability/radius``,
  ``POST properties``, ``DELETE properties/{id}``...), with its outcome; the reservations
  (``POST properties``), prospects (``POST prospects``) and cancellations
  (``DELETE properties/{id}``) OZmap accepted are counted from the same requests;
- backlogs: :meth:`Metrics.sample_backlog` reads them from the store when ``/metrics`` is
  scraped (the handoff queue, due timers, the inbox), so every replica shows the shared truth.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.httptransport import Answer

__all__ = ["MeteredTransport", "Metrics", "ozmap_operation"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v2/"
# The first path segment of the OZmap API v2 routes the bot calls (docs/ozmap-api.md); any other
# is counted as "other", so a label never carries a value from the request.
OZMAP_RESOURCES = frozenset(
    {
        "authenticated",
        "boxes",
        "buildings",
        "ftth-clients",
        "ftth-viability",
        "horizontal-condominiums",
        "poles",
        "projects",
        "properties",
        "prospects",
        "regions",
        "splitters",
        "tags",
    }
)
# Later segments that name a route, not an element; every other segment becomes {id}
OZMAP_ROUTE_WORDS = frozenset({"radius", "client", "batch-update", "test-status"})
# operations whose success is an event counted on its own
EVENTS = {"POST properties": "reservations", "POST prospects": "prospects"}
EVENTS_BY_PREFIX = {"DELETE properties/{id}": "cancellations"}

BACKLOG_TIMEOUT = 3.0  # seconds a scrape waits for the store before it shows the last values
QUEUE_SAMPLE_LIMIT = 10_000  # the queue depth is read as rows: this many at most


def ozmap_operation(method: str, path: str) -> str:
    """``"GET properties/client/{id}"`` for a request to ``/api/v2/properties/client/OZB-12``."""
    rest = path.split(API_PREFIX, 1)[1] if API_PREFIX in path else ""
    segments = [part for part in rest.split("/") if part]
    if not segments or segments[0] not in OZMAP_RESOURCES:
        return f"{method} other"
    shown = [segments[0]] + [s if s in OZMAP_ROUTE_WORDS else "{id}" for s in segments[1:]]
    return f"{method} {'/'.join(shown)}"


class Metrics:
    """The counters the web layer, the dispatcher and the OZmap transport update;
    :meth:`render` is ``/metrics``."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.webhooks = Counter(
            "ozbot_webhook_requests",
            "Webhook requests by channel and outcome (accepted, duplicate, ignored, forbidden, "
            "bad_request, unavailable)",
            ["channel", "outcome"],
            registry=r,
        )
        self.turns = Counter(
            "ozbot_turns",
            "Turns processed in the background, by channel and outcome (ok, error)",
            ["channel", "outcome"],
            registry=r,
        )
        self.turn_seconds = Histogram(
            "ozbot_turn_seconds",
            "Time from a message's arrival to the end of its turn (replies sent)",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.in_flight = Gauge("ozbot_turns_in_flight", "Turns running now", registry=r)
        self.queued = Gauge(
            "ozbot_turns_queued", "Messages accepted and not yet processed", registry=r
        )
        self.message_status = Counter(
            "ozbot_whatsapp_message_status",
            "Twilio status callbacks by status",
            ["status"],
            registry=r,
        )

        # --- OZmap, measured on the wire by MeteredTransport ---
        self.ozmap_seconds = Histogram(
            "ozbot_ozmap_request_seconds",
            "OZmap API requests (each attempt) by operation, until the answer's headers",
            ["operation"],
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15),
            registry=r,
        )
        self.ozmap_requests = Counter(
            "ozbot_ozmap_requests",
            "OZmap API requests by operation and outcome (ok, rejected: 4xx, failed: 5xx, "
            "timeout, unreachable)",
            ["operation", "outcome"],
            registry=r,
        )
        self.reservations = Counter(
            "ozbot_reservations", "Reservations OZmap accepted (properties created)", registry=r
        )
        self.prospects = Counter("ozbot_prospects", "Prospects OZmap accepted", registry=r)
        self.cancellations = Counter(
            "ozbot_cancellations", "Reservations cancelled (properties deleted)", registry=r
        )

        # --- backlogs, read from the store at each scrape (sample_backlog) ---
        self.handoffs_waiting = Gauge(
            "ozbot_handoffs_waiting",
            f"Conversations waiting in the agents' queue (read up to {QUEUE_SAMPLE_LIMIT})",
            registry=r,
        )
        self.timers_due = Gauge(
            "ozbot_timers_due",
            "Timers (nudges, expiries, handoff releases) due now, claimed or not",
            registry=r,
        )
        self.inbox_backlog = Gauge(
            "ozbot_inbox_backlog",
            "Accepted messages whose turn has not run yet (all processes)",
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "ozbot_outbox_backlog",
            "Replies committed with their turn and not yet sent (all processes)",
            registry=r,
        )
        self.backlog_up = Gauge(
            "ozbot_backlog_up",
            "1 when the last scrape could read the backlogs from the store, else 0",
            registry=r,
        )

    async def sample_backlog(self, store: Any) -> None:
        """Read the backlogs from ``store`` (a store of the runtime). A slow or failing store
        leaves the last values and sets ``ozbot_backlog_up`` to 0: a scrape never hangs."""
        try:
            async with asyncio.timeout(BACKLOG_TIMEOUT):
                waiting = await store.waiting_handoffs(limit=QUEUE_SAMPLE_LIMIT)
                self.handoffs_waiting.set(len(waiting))
                self.timers_due.set(await store.due_timers(datetime.now(UTC)))
                self.inbox_backlog.set(await store.inbox_pending())
                self.outbox_backlog.set(await store.outbox_backlog())
        except Exception as exc:  # a metric must not fail the scrape: it says it is stale
            log.warning("metrics: could not read the backlogs from the store: %s", exc)
            self.backlog_up.set(0)
        else:
            self.backlog_up.set(1)

    def observe_ozmap(self, method: str, path: str, seconds: float, outcome: str) -> None:
        operation = ozmap_operation(method, path)
        self.ozmap_seconds.labels(operation).observe(seconds)
        self.ozmap_requests.labels(operation, outcome).inc()
        if outcome != "ok":
            return
        event = EVENTS.get(operation) or EVENTS_BY_PREFIX.get(operation)
        if event is not None:
            counter: Counter = getattr(self, event)
            counter.inc()

    def meter_ozmap(
        self, mounts: Mapping[str, httpx.AsyncBaseTransport], ozmap_url: str
    ) -> dict[str, httpx.AsyncBaseTransport]:
        """``mounts`` with the transport for ``ozmap_url``'s origin wrapped in a
        :class:`MeteredTransport` (a new pool when there is none)."""
        origin = httpx.URL(ozmap_url)
        if origin.scheme not in ("http", "https") or not origin.host:
            return dict(mounts)  # the OZmap client refuses such a URL with the fix
        port = f":{origin.port}" if origin.port else ""
        key = f"{origin.scheme}://{origin.host}{port}"
        metered = dict(mounts)
        inner = metered.get(key) or httpx.AsyncHTTPTransport()
        metered[key] = MeteredTransport(inner, self)
        return metered

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport that times each request it passes on and reports it to
    :meth:`Metrics.observe_ozmap`; it changes nothing in the request or the answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        method, path = request.method, request.url.path
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._metrics.observe_ozmap(method, path, time.perf_counter() - started, "timeout")
            raise
        except httpx.TransportError:
            self._metrics.observe_ozmap(method, path, time.perf_counter() - started, "unreachable")
            raise
        status = response.status_code
        outcome = "ok" if status < 400 else "rejected" if status < 500 else "failed"
        self._metrics.observe_ozmap(method, path, time.perf_counter() - started, outcome)
        return response

    async def fetch(
        self,
        method: str,
        url: httpx.URL,
        raw: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> Answer:
        """:meth:`bot.httptransport.Http11Transport.fetch` through the inner transport, timed
        and reported as ``handle_async_request`` does (the time includes reading the body,
        which an OZmap answer carries in the same few packets as its head). An inner
        transport without ``fetch`` gets the request httpx would have built."""
        lean = getattr(self._inner, "fetch", None)
        started = time.perf_counter()
        try:
            if lean is not None:
                answer: Answer = await lean(method, url, raw, body, timeouts)
            else:
                request = httpx.Request(
                    method, url, headers=raw, content=body, extensions={"timeout": timeouts}
                )
                answer = Answer.of(await self._read(request))
        except httpx.TimeoutException:
            self._metrics.observe_ozmap(method, url.path, time.perf_counter() - started, "timeout")
            raise
        except httpx.TransportError:
            elapsed = time.perf_counter() - started
            self._metrics.observe_ozmap(method, url.path, elapsed, "unreachable")
            raise
        status = answer.status_code
        outcome = "ok" if status < 400 else "rejected" if status < 500 else "failed"
        self._metrics.observe_ozmap(method, url.path, time.perf_counter() - started, outcome)
        return answer

    async def _read(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
