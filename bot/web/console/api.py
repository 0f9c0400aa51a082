"""The console's JSON API and its live stream. Every endpoint needs a login (401), every POST
passes the CSRF defences (403), and what an agent may do to a ticket is decided here:

* read a ticket: it is waiting (a preview before claiming), or it is (or was) theirs; 403 when
  a colleague holds it;
* act on it (reply, OZmap actions, hand back, close): it is claimed, by them; 403 otherwise,
  409 when it is no longer open;
* OZmap actions touch only the client codes this conversation reserved.

``GET /console/api/events`` is a Server-Sent Events stream of ``change`` events,
``{"kind", "ticket"}`` (``ticket`` null: refresh everything), from every process's engine and
consoles (the store's news: LISTEN/NOTIFY on PostgreSQL); no customer text travels on it: pages
fetch what changed. A stream ends after a while and the browser reconnects (pages refetch on
every reconnect, which also catches what a lost connection missed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bot.conversation import TranscriptEntry, ref, utcnow
from bot.errors import ChannelError, OzmapError, OzmapNotFound, StorageError
from bot.ops.news import TOPIC as NEWS
from bot.ozmap.models import ClientStatus
from bot.storage.base import HandoffTicket, Store
from bot.web.console.access import Agent, api, console_store, error, secured
from bot.web.console.summary import (
    context_lines,
    entry_json,
    reservation_codes,
    ticket_json,
)
from bot.web.inputs import load_json
from bot.web.state import app_state
from bot.web.webhooks import TooLarge, read_body

__all__ = ["claim", "events", "message", "ozmap_action", "queue", "release", "ticket"]

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_TICKET = 2**63 - 1  # a bigint, PostgreSQL's and SQLite's largest integer
KEEPALIVE = 15.0
ACTIONS = {
    "activate": "reserva {code} ativada no OZmap (implantada)",
    "status_ok": "status de {code} no OZmap: OK",
    "status_error": "status de {code} no OZmap: ERRO",
}


async def _json_body(request: Request) -> dict[str, Any]:
    """The posted JSON object; ValueError saying what is wrong."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ValueError("send application/json")
    try:
        data = load_json(await read_body(request, 16 * 1024) or b"{}")
    except TooLarge:
        raise ValueError("request too large") from None
    except ValueError:
        raise ValueError("bad JSON") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def _ticket(request: Request) -> HandoffTicket | None:
    ticket_id = int(request.path_params["ticket"])
    if not 0 < ticket_id <= MAX_TICKET:
        return None  # no such ticket: the databases' integers stop there
    return await console_store(request).handoff(ticket_id)


def _readable(ticket: HandoffTicket, agent: Agent) -> bool:
    return ticket.status == "waiting" or ticket.agent == agent.name


def _refuse_action(ticket: HandoffTicket | None, agent: Agent) -> Response | None:
    """Why ``agent`` may not act on ``ticket`` now, as the answer to give; None when they may."""
    if ticket is None:
        return error(404, "no such conversation: it may have been erased")
    if ticket.status == "closed":
        return error(409, "this conversation is closed: it is back with the bot")
    if ticket.status == "waiting":
        return error(403, "claim this conversation first")
    if ticket.agent != agent.name:
        return error(403, f"{ticket.agent} is handling this conversation")
    return None


async def _held(request: Request, agent: Agent) -> tuple[HandoffTicket, dict[str, Any]] | Response:
    """The ticket ``agent`` holds and the action's JSON body, or the refusal to answer with
    (checked in that order: who may act, then what they sent)."""
    found = await _ticket(request)
    refused = _refuse_action(found, agent)
    if refused is not None:
        return refused
    assert found is not None  # _refuse_action refuses a missing ticket
    try:
        return found, await _json_body(request)
    except ValueError as exc:
        return error(400, str(exc))


async def _notify(request: Request, kind: str, ticket: int | None) -> None:
    """Tell every process's console streams (the store's news) what an agent changed."""
    try:
        await console_store(request).publish(NEWS, {"kind": kind, "ticket": ticket})
    except StorageError:
        log.warning("could not tell the other consoles of a %s", kind)


@api
async def queue(request: Request, agent: Agent) -> Response:
    store = console_store(request)
    items = []
    for ticket in await store.open_handoffs():
        conversation = await store.load(ticket.key)
        recent = await store.transcript(ticket.key, limit=20)
        items.append(ticket_json(ticket, conversation, recent, agent.name))
    waiting = sum(1 for item in items if item["status"] == "waiting")
    return JSONResponse({"agent": agent.name, "waiting": waiting, "tickets": items})


@api
async def ticket(request: Request, agent: Agent) -> Response:
    found = await _ticket(request)
    if found is None:
        return error(404, "no such conversation: it may have been erased")
    if not _readable(found, agent):
        return error(403, f"{found.agent} is handling this conversation")
    store = console_store(request)
    conversation = await store.load(found.key)
    transcript = await store.transcript(found.key)
    context = conversation.context if conversation else {}
    return JSONResponse(
        {
            "ticket": ticket_json(found, conversation, transcript, agent.name),
            "context": [[label, value] for label, value in context_lines(context)],
            "reservations": reservation_codes(context),
            "transcript": [entry_json(e) for e in transcript],
            "can_act": found.status == "claimed" and found.agent == agent.name,
            "can_claim": found.status == "waiting",
        }
    )


@api
async def claim(request: Request, agent: Agent) -> Response:
    found = await _ticket(request)
    if found is None:
        return error(404, "no such conversation: it may have been erased")
    claimed = await console_store(request).claim_handoff(found.key, agent.name, utcnow())
    if claimed is None:
        now = await console_store(request).handoff(found.id)
        if now is not None and now.status == "claimed" and now.agent == agent.name:
            return JSONResponse({"claimed": found.id})  # a double click
        who = now.agent if now is not None and now.status == "claimed" else None
        return error(409, f"{who} took it first" if who else "this conversation is closed")
    log.info("console: %s claimed conversation %s", agent.name, ref(found.key))
    await _notify(request, "claimed", found.id)
    return JSONResponse({"claimed": found.id})


@api
async def message(request: Request, agent: Agent) -> Response:
    held = await _held(request, agent)
    if isinstance(held, Response):
        return held
    found, data = held
    text = data.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return error(400, f"text must be 1 to {MAX_TEXT} characters")
    try:
        await app_state(request).runtime.engine.agent_says(found.key, text.strip())
    except ChannelError as exc:
        log.warning("console: a message to conversation %s was refused", ref(found.key))
        return error(502, f"the messenger did not take the message: {exc}")
    except ValueError:
        return error(404, "the conversation no longer exists: the customer asked to be erased")
    return JSONResponse({"sent": True})


async def _client_of(request: Request, code: str) -> tuple[str, bool]:
    """The OZmap client id holding ``code`` and whether it is implanted (False when unknown)."""
    for prop in await app_state(request).runtime.ozmap.properties_by_client_code(code):
        if prop.client_id:
            doc = prop.client_obj
            return prop.client_id, bool(doc is not None and doc.implanted)
    raise OzmapNotFound(
        f"OZmap has no client with code {code}: the reservation may have been cancelled"
    )


@api
async def ozmap_action(request: Request, agent: Agent) -> Response:
    held = await _held(request, agent)
    if isinstance(held, Response):
        return held
    found, data = held
    action, code = data.get("action"), data.get("code")
    if action not in ACTIONS:
        return error(400, "action must be one of: " + ", ".join(ACTIONS))
    store = console_store(request)
    conversation = await store.load(found.key)
    own = {r["code"] for r in reservation_codes(conversation.context if conversation else {})}
    if not isinstance(code, str) or code not in own:
        return error(403, "that client code is not one of this conversation's reservations")
    ozmap = app_state(request).runtime.ozmap
    try:
        client_id, implanted = await _client_of(request, code)
        if action == "activate":
            if not implanted:
                await ozmap.update_client(client_id, implanted=True)
        else:
            status = ClientStatus.OK if action == "status_ok" else ClientStatus.ERROR
            await ozmap.update_client(client_id, status=status)
    except OzmapNotFound as exc:
        return error(404, str(exc))
    except OzmapError as exc:
        log.warning("console: OZmap %s failed for conversation %s", action, ref(found.key))
        return error(502, f"OZmap did not do it: {exc}")
    said = ACTIONS[action].format(code=code)
    if action == "activate" and implanted:
        said = f"reserva {code} já estava implantada no OZmap"
    line = await _record(request, store, found.key, f"[{agent.name}] {said}")
    await _notify(request, "transcript", found.id)
    return JSONResponse({"done": True, "line": entry_json(line) if line else None})


async def _record(request: Request, store: Store, key: str, text: str) -> TranscriptEntry | None:
    """Append a system line to the transcript (the conversation saved as it is, under its
    lock, so it lands between turns, not inside one)."""
    entry = TranscriptEntry("system", text, utcnow())
    try:
        async with store.lock(key):
            conversation = await store.load(key)
            if conversation is None:
                return None
            await store.commit_turn(conversation, [entry])
    except StorageError:
        log.exception("console: could not record an OZmap action for %s", ref(key))
        return None
    return entry


@api
async def release(request: Request, agent: Agent) -> Response:
    held = await _held(request, agent)
    if isinstance(held, Response):
        return held
    found, data = held
    outcome = data.get("outcome")
    if outcome not in ("released", "resolved"):
        return error(400, "outcome must be released (back to the bot) or resolved (closed)")
    done = await app_state(request).runtime.engine.release_handoff(found.key, outcome=outcome)
    if not done:
        return error(409, "this conversation was already closed")
    log.info("console: %s %s conversation %s", agent.name, outcome, ref(found.key))
    return JSONResponse({"closed": found.id, "outcome": outcome})


async def _next(
    queue: asyncio.Queue[dict[str, Any]], stopping: asyncio.Future[Any], wait: float
) -> dict[str, Any] | None:
    getter = asyncio.ensure_future(queue.get())
    await asyncio.wait({getter, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    return None


@api
async def events(request: Request, agent: Agent) -> Response:
    state = app_state(request)
    store = console_store(request)
    changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    def heard(change: dict[str, Any]) -> None:
        if changes.full():
            return  # a stalled page: it refetches everything when it reconnects
        changes.put_nowait(change)

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + state.sse_seconds
        # every process's changes: the engine's (bot/ops/news.py) and the agents' (_notify)
        unsubscribe = await store.subscribe(NEWS, heard)
        stopping = asyncio.ensure_future(state.stopping.wait())
        try:
            yield "retry: 1000\n\n"
            while (left := deadline - loop.time()) > 0 and not state.stopping.is_set():
                change = await _next(changes, stopping, min(left, KEEPALIVE))
                if change is None:
                    if not state.stopping.is_set():
                        yield ": keep-alive\n\n"
                    continue
                shown = {"kind": change.get("kind"), "ticket": change.get("ticket")}
                yield f"event: change\ndata: {json.dumps(shown)}\n\n"
        finally:
            unsubscribe()
            stopping.cancel()

    response = StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )
    return secured(response)
