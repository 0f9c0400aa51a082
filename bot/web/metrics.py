"""Prometheus metrics of one ``ozbot serve`` process, in their own registry (so tests can build
several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    """The counters the web layer and the dispatcher update; :meth:`render` is ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "ozbot_webhook_requests",
            "Webhook requests by channel and outcome (accepted, duplicate, ignored, forbidden, "
            "bad_request, unavailable)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.turns = Counter(
            "ozbot_turns",
            "Turns processed in the background, by channel and outcome (ok, error)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "ozbot_turn_seconds",
            "Time from a message's arrival to the end of its turn (replies sent)",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.in_flight = Gauge("ozbot_turns_in_flight", "Turns running now", registry=self.registry)
        self.queued = Gauge(
            "ozbot_turns_queued", "Messages accepted and not yet processed", registry=self.registry
        )
        self.message_status = Counter(
            "ozbot_whatsapp_message_status",
            "Twilio status callbacks by status",
            ["status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
