"""``/metrics``: OZmap requests timed and counted by operation on the wire, the reservations,
prospects and cancellations OZmap accepted, the backlogs read from the store; and the JSON log
format, which keeps customers' data out as the text one does."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.logsafe import configure_logging
from bot.metrics import MeteredTransport, Metrics, ozmap_operation
from bot.ozmap.sandbox import RunningSandbox
from tests.web.support import TG_SECRET, TG_TOKEN
from tests.web.test_end_to_end import TelegramCustomer, serve


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/api/v2/ftth-viability/radius", "GET ftth-viability/radius"),
        ("GET", "/api/v2/properties/client/OZB-ABC234", "GET properties/client/{id}"),
        ("POST", "/api/v2/properties", "POST properties"),
        ("DELETE", "/api/v2/properties/5da62201493d9c00066655b8", "DELETE properties/{id}"),
        ("PATCH", "/api/v2/ftth-clients/joao-da-silva", "PATCH ftth-clients/{id}"),
        ("POST", "/api/v2/ftth-clients/batch-update", "POST ftth-clients/batch-update"),
        ("GET", "/api/v2/secret-route/x", "GET other"),
        ("GET", "/healthz", "GET other"),
    ],
)
def test_operations_are_route_templates_never_values(
    method: str, path: str, operation: str
) -> None:
    assert ozmap_operation(method, path) == operation


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_outcomes_and_events_are_counted_by_operation() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/radius"):
            raise httpx.ConnectTimeout("slow", request=request)
        if request.url.path.endswith("/tags"):
            raise httpx.ConnectError("refused", request=request)
        if request.url.path.endswith(("/prospects", "/5da62201493d9c00066655b8")):
            return httpx.Response(201 if request.method == "POST" else 204)
        return httpx.Response(503 if request.method == "POST" else 404)

    metrics = Metrics()
    transport = MeteredTransport(httpx.MockTransport(answer), metrics)
    async with httpx.AsyncClient(transport=transport, base_url="http://oz/api/v2") as http:
        for call in (http.get("/ftth-viability/radius"), http.get("/tags")):
            with pytest.raises(httpx.TransportError):
                await call
        assert (await http.post("/properties")).status_code == 503
        assert (await http.get("/properties/client/nope")).status_code == 404
        assert (await http.post("/prospects")).status_code == 201
        assert (await http.delete("/properties/5da62201493d9c00066655b8")).status_code == 204
    text = metrics.render().decode()
    requests = "ozbot_ozmap_requests_total"
    assert value(text, requests, operation="GET ftth-viability/radius", outcome="timeout") == 1
    assert value(text, requests, operation="GET tags", outcome="unreachable") == 1
    assert value(text, requests, operation="POST properties", outcome="failed") == 1
    assert value(text, requests, operation="GET properties/client/{id}", outcome="rejected") == 1
    assert value(text, "ozbot_reservations_total") == 0  # OZmap refused it
    assert value(text, "ozbot_prospects_total") == 1
    assert value(text, "ozbot_cancellations_total") == 1
    assert value(text, "ozbot_ozmap_request_seconds_count", operation="POST properties") == 1


async def test_a_sale_a_cancellation_and_a_handoff_show_in_metrics(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    covered = sandbox.network.samples["covered"]
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        ana = TelegramCustomer(client, fakes, state, chat_id=771100)
        await ana.says("/start")
        await ana.taps("intent:sales")
        await ana.pins(covered["lat"], covered["lng"])
        await ana.taps("yes")
        await ana.says("Ana Souza")
        await ana.taps("yes")
        assert "OZB-" in ana.text
        text = (await client.get("/metrics")).text
        assert value(text, "ozbot_reservations_total") == 1
        assert value(text, "ozbot_cancellations_total") == 0
        ok = {"outcome": "ok"}
        assert value(text, "ozbot_ozmap_requests_total", operation="POST properties", **ok) == 1
        radius = value(
            text, "ozbot_ozmap_request_seconds_count", operation="GET ftth-viability/radius"
        )
        assert radius >= 1
        assert value(text, "ozbot_handoffs_waiting") == 0
        assert value(text, "ozbot_backlog_up") == 1

        bia = TelegramCustomer(client, fakes, state, chat_id=771101)
        await bia.says("atendente")
        text = (await client.get("/metrics")).text
        assert value(text, "ozbot_handoffs_waiting") == 1
        assert value(text, "ozbot_timers_due") == 0  # scheduled, none due yet
        assert value(text, "ozbot_inbox_backlog") == 0  # every accepted message has run
        assert value(text, "ozbot_outbox_backlog") == 0  # and its replies went out


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    configure_logging(verbose=True, log_format="json", stream=out)
    try:
        yield out
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


async def test_json_logs_are_one_object_a_line_and_keep_customers_out(
    tmp_path: Path, sandbox: RunningSandbox, json_logs: io.StringIO
) -> None:
    chat = 990077
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        customer = TelegramCustomer(client, fakes, state, chat_id=chat)
        await customer.says("/start")
        await customer.says("atendente")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("bot.test").exception("a failure with its traceback")
    err = json_logs.getvalue()
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"].startswith("bot.") for line in lines)
    failure = next(line for line in lines if line["message"] == "a failure with its traceback")
    assert failure["level"] == "ERROR" and "ValueError: boom" in failure["exc_info"]
    for secret in (str(chat), TG_TOKEN, TG_SECRET):
        assert secret not in err
    assert logging.getLogger("httpx").level == logging.WARNING  # even with verbose=True
