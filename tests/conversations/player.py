"""Play the corpus on the bot as the channels run it, and judge each conversation.

:func:`corpus_bot` composes the product (``bot.compose.compose``: the real flows, intents,
understanding, catalogs and a real SQLite store) against an OZmap sandbox served on loopback, with
the offline gazetteer and CEP table, a fixed clock (a Monday, 11:30 in São Paulo) and one
recording channel named ``whatsapp`` that gives no language hint, as WhatsApp does. Each customer
message goes in through the dispatcher (``Dispatcher.submit``, as the webhook routes hand them
over) and the player waits for the turn to finish (``join``).

:meth:`Player.play` resets the sandbox to its seed, plays one script with its own contact number,
and returns a :class:`Result`: the transcript, what went wrong (empty when it passed) and how many
customer messages the outcome took.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.compose import Runtime, compose
from bot.engine.events import HandoffEvent
from bot.geo.gazetteer import Gazetteer, GazetteerGeocoder, OfflineCepLookup
from bot.i18n import Catalogs
from bot.messages import Inbound, Location, Reply
from bot.ozmap.sandbox import RunningSandbox
from bot.storage.sqlite import SqliteStore
from tests.conversations.checks import CHECKS, language_of, normal, not_understood
from tests.conversations.corpus import Script, Step
from tests.engine.support import RecordingChannel
from tests.support.settings import offline_settings

__all__ = ["FIXED_NOW", "Player", "Result", "corpus_bot"]

FIXED_NOW = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)  # a Monday, 11:30 in São Paulo
OUTAGE_TAGS = ("MASSIVA", "ROMPIMENTO", "MANUTENCAO")
CHANNEL = "whatsapp"
_ERROR = re.compile(r"algo deu errado|something went wrong|algo salio mal|traceback")
_ids = itertools.count(1)


@dataclass
class Result:
    script: Script
    transcript: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    took: int | None = None  # customer messages until the outcome was reached

    @property
    def passed(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """The failure as a reader wants it: what went wrong, then the conversation."""
        head = f"{self.script.id} ({', '.join(self.script.classes)}): {self.script.title}"
        lines = [head, *(f"  ✗ {p}" for p in self.problems), "  transcript:"]
        lines += [f"    {line}" for line in self.transcript]
        return "\n".join(lines)


def _shown(reply: Reply) -> str:
    text = reply.text.replace("\n", " ⏎ ")
    if reply.buttons:
        text += " " + " ".join(f"[{i}. {b.label}]" for i, b in enumerate(reply.buttons, 1))
    return text


def _seen(reply: Reply) -> str:
    return "\n".join([reply.text, *(b.label for b in reply.buttons)])


def _plan_fields(*docs: dict[str, Any]) -> str:
    """Where OZmap records can carry the plan: their free texts and any field named for it (not
    the address, whose house number may be the plan's digits)."""
    fields = [
        {k: v for k, v in doc.items() if "observation" in k or "plan" in k.lower()} for doc in docs
    ]
    return normal(json.dumps(fields, ensure_ascii=False))


def _norm_name(text: str) -> str:
    return " ".join(text.split())


class Player:
    """Plays scripts, one after another, on one composed bot."""

    def __init__(
        self,
        runtime: Runtime,
        channel: RecordingChannel,
        sandbox: RunningSandbox,
        events: list[HandoffEvent],
    ) -> None:
        self.runtime = runtime
        self.channel = channel
        self.sandbox = sandbox
        self.events = events

    # -- talking ---------------------------------------------------------------------------------

    async def _send(self, contact: str, step: Step, profile: str | None) -> list[Reply]:
        before = len(self.channel.replies_to(contact))
        message = Inbound(
            channel=CHANNEL,
            contact=contact,
            text=step.say,
            button=step.tap,
            location=Location(*step.pin) if step.pin is not None else None,
            phone=contact,
            name=profile,
            provider_id=f"corpus-{next(_ids)}",
            language=None,  # WhatsApp says nothing about the customer's language
        )
        accepted = await self.runtime.dispatcher.submit(message)
        assert accepted, "the dispatcher refused a new message"
        await self.runtime.dispatcher.join()
        return self.channel.replies_to(contact)[before:]

    # -- what OZmap holds ------------------------------------------------------------------------

    def _clients(self) -> dict[str, dict[str, Any]]:
        return {c["_id"]: c for c in self.sandbox.network.docs("ftth-clients")}

    def _prospects(self) -> dict[str, dict[str, Any]]:
        return {p["_id"]: p for p in self.sandbox.network.docs("prospects")}

    async def _reserve_first(self, contact: str, transcript: list[str]) -> str | None:
        """Set up ``given: [reservation]``: a plain sale by buttons, answering what is asked.
        Returns the new client's code (None when the sale did not go through)."""
        before = set(self._clients())
        step: Step | None = Step(tap="intent:sales")
        for _ in range(12):
            assert step is not None
            replies = await self._send(contact, step, None)
            transcript += [f"  (given) customer: {step.shown}"]
            transcript += [f"  (given) bot: {_shown(r)}" for r in replies]
            new = [c for i, c in self._clients().items() if i not in before]
            if new:
                return str(new[0]["code"])
            last = replies[-1] if replies else None
            text = normal(" ".join(r.text for r in replies))
            payloads = [b.payload for b in last.buttons] if last is not None else []
            if "yes" in payloads:
                step = Step(tap="yes")
            elif CHECKS["asks_name"](text):
                step = Step(say="Maria Teste")
            elif CHECKS["asks_address"](text):
                step = Step(say="Rua Delminda Silveira, 900")
            elif payloads:
                step = Step(tap=payloads[0])  # a plan, say: the first will do
            else:
                return None
        return None

    # -- playing and judging ---------------------------------------------------------------------

    async def play(self, script: Script) -> Result:
        self.sandbox.reset()
        contact = "55489" + str(int(hashlib.sha256(script.id.encode()).hexdigest(), 16))[:8]
        key = f"{CHANNEL}:{contact}"
        result = Result(script)
        given_code = None
        if "reservation" in script.given:
            given_code = await self._reserve_first(contact, result.transcript)
            if given_code is None:
                result.problems.append("setup: the given reservation could not be made")
                return result
        clients_before, prospects_before = set(self._clients()), set(self._prospects())
        events_before = len(self.events)
        replies_by_turn: list[list[Reply]] = []
        for number, step in enumerate(script.turns, 1):
            replies = await self._send(contact, step, script.profile)
            replies_by_turn.append(replies)
            result.transcript.append(f"customer: {step.shown}")
            result.transcript += [f"bot: {_shown(r)}" for r in replies] or ["bot: (silence)"]
            self._judge_turn(script, number, step, replies, result)
            if result.took is None and self._reached(script, key, clients_before, events_before):
                result.took = number
        await self._judge_outcome(
            script, key, replies_by_turn, clients_before, prospects_before, events_before,
            given_code, result,
        )  # fmt: skip
        return result

    def _reached(self, script: Script, key: str, clients: set[str], events: int) -> bool:
        if script.outcome == "reserved":
            return any(i not in clients for i in self._clients())
        if script.outcome == "prospect":
            return False  # counted at the end: prospects are few and messages few
        if script.outcome == "handoff":
            return any(e.key == key and e.kind == "queued" for e in self.events[events:])
        return False

    def _judge_turn(
        self, script: Script, number: int, step: Step, replies: list[Reply], result: Result
    ) -> None:
        # what the customer sees: the texts and the options offered with them
        said = "\n".join(_seen(r) for r in replies)
        texts = "\n".join(r.text for r in replies)
        options = [b.label for r in replies for b in r.buttons]
        where = f"turn {number} ({step.shown!r})"
        for name in step.expect:
            if not CHECKS[name](texts, options):
                result.problems.append(f"{where}: missing: {CHECKS[name].meaning}")
        for name in step.reject:
            if CHECKS[name](texts, options):
                result.problems.append(f"{where}: unwanted: {CHECKS[name].meaning}")
        for pattern in step.has:
            if not re.search(pattern, normal(said)):
                result.problems.append(f"{where}: the reply should match /{pattern}/")
        for pattern in step.lacks:
            if re.search(pattern, normal(said)):
                result.problems.append(f"{where}: the reply should not match /{pattern}/")
        if not script.tolerate_unclear and any(not_understood(r.text) for r in replies):
            result.problems.append(f"{where}: the bot said it did not understand")
        if _ERROR.search(normal(said)):
            result.problems.append(f"{where}: the bot reported an error")
        wanted = script.lang if number >= script.lang_from else "pt_BR"
        for reply in replies:
            lang = language_of(reply.text)
            if lang is not None and lang != wanted:
                result.problems.append(
                    f"{where}: a reply is in {lang}, the customer writes {wanted}"
                )
                break

    async def _judge_outcome(
        self,
        script: Script,
        key: str,
        replies_by_turn: list[list[Reply]],
        clients_before: set[str],
        prospects_before: set[str],
        events_before: int,
        given_code: str | None,
        result: Result,
    ) -> None:
        problems = result.problems
        outcome = script.outcome
        new_clients = [c for i, c in self._clients().items() if i not in clients_before]
        new_prospects = [p for i, p in self._prospects().items() if i not in prospects_before]
        queued = [e for e in self.events[events_before:] if e.key == key and e.kind == "queued"]
        every = [(r.text, [b.label for b in r.buttons]) for turn in replies_by_turn for r in turn]
        last = "\n".join(r.text for r in replies_by_turn[-1]) if replies_by_turn else ""

        if outcome == "reserved":
            if len(new_clients) != 1:
                problems.append(f"expected one reservation in OZmap, found {len(new_clients)}")
            else:
                self._judge_stored(script, new_clients[0], problems)
        elif new_clients:
            problems.append(f"nothing should be reserved, but {len(new_clients)} client(s) were")
        if outcome == "prospect":
            if len(new_prospects) != 1:
                problems.append(f"expected one prospect in OZmap, found {len(new_prospects)}")
            else:
                self._judge_prospect(script, new_prospects[0], problems)
                result.took = len(script.turns)
        elif new_prospects:
            problems.append(f"no prospect should be recorded, but {len(new_prospects)} were")
        if outcome == "handoff" and not queued:
            problems.append("the conversation should be in the agents' queue")
        if outcome not in ("handoff", "offered_human") and queued:
            problems.append("the conversation went to the agents' queue, unasked")
        if outcome == "offered_human" and not (
            queued or any(CHECKS["offers_human"](*t) for t in every[-3:])
        ):
            problems.append("a person should have been offered")
        if outcome == "cancelled":
            if given_code is None or self.sandbox.network.client_by_code(given_code) is not None:
                problems.append(f"the reservation {given_code} should be cancelled in OZmap")
        elif given_code is not None and self.sandbox.network.client_by_code(given_code) is None:
            problems.append(f"the reservation {given_code} was cancelled, unasked")
        if outcome == "outage" and not any(CHECKS["outage"](*t) for t in every):
            problems.append("the customer should be told of the outage where they are")
        if outcome == "no_outage" and not any(CHECKS["no_outage"](*t) for t in every):
            problems.append("the customer should be told there is no known outage there")
        if outcome == "ended" and not CHECKS["goodbye"](last):
            problems.append("the last reply should end the conversation politely")
        if outcome == "erased":
            await self._judge_erased(script, key, every, problems)
        if (
            script.max_messages is not None
            and result.took is not None
            and result.took > script.max_messages
        ):
            problems.append(
                f"the outcome took {result.took} messages, at most {script.max_messages} wanted"
            )

    def _judge_stored(self, script: Script, client: dict[str, Any], problems: list[str]) -> None:
        properties = self.sandbox.network.properties_of_client(client["_id"])
        address = " ".join(str(p.get("address", "")) for p in properties)
        blob = _plan_fields(client, *properties)
        want = script.stored
        if "name" in want and _norm_name(str(client.get("name", ""))) != want["name"]:
            problems.append(f"OZmap's client is named {client.get('name')!r}, not {want['name']!r}")
        if "unit" in want and normal(want["unit"]) not in normal(address):
            problems.append(f"the property's address {address!r} lacks the unit {want['unit']!r}")
        if "address" in want and normal(want["address"]) not in normal(address):
            problems.append(f"the property's address {address!r} is not at {want['address']!r}")
        if "plan" in want and normal(want["plan"]) not in blob:
            problems.append(f"the plan {want['plan']!r} is not recorded with the reservation")

    def _judge_prospect(
        self, script: Script, prospect: dict[str, Any], problems: list[str]
    ) -> None:
        want = script.stored
        if "name" in want and _norm_name(str(prospect.get("name", ""))) != want["name"]:
            problems.append(f"the prospect is named {prospect.get('name')!r}, not {want['name']!r}")
        if "address" in want and normal(want["address"]) not in normal(
            str(prospect.get("address", ""))
        ):
            problems.append(
                f"the prospect's address {prospect.get('address')!r} is not {want['address']!r}"
            )
        if "plan" in want and normal(want["plan"]) not in _plan_fields(prospect):
            problems.append(f"the plan {want['plan']!r} is not recorded with the prospect")

    async def _judge_erased(
        self,
        script: Script,
        key: str,
        every: list[tuple[str, list[str]]],
        problems: list[str],
    ) -> None:
        if not any(CHECKS["erased"](*t) for t in every):
            problems.append("the customer should be told their data were erased")
        kept = await self.runtime.store.transcript(key)
        first = next((s.say for s in script.turns if s.say), None)
        if first and any(e.role == "customer" and e.text == first for e in kept):
            problems.append("the customer's messages are still stored after the erasure")


@asynccontextmanager
async def corpus_bot(
    data_dir: Path,
    sandbox: RunningSandbox,
    *,
    catalogs: Catalogs | None = None,
    gazetteer: Gazetteer | None = None,
) -> AsyncIterator[Player]:
    """The composed bot the corpus talks to, over ``sandbox``, keeping its data in ``data_dir``."""
    streets = gazetteer or Gazetteer.from_file()
    store = SqliteStore(data_dir / "corpus.db")
    await store.open()
    channel = RecordingChannel(CHANNEL)
    events: list[HandoffEvent] = []
    settings = offline_settings(
        data_dir,
        sandbox,
        outage_tags=OUTAGE_TAGS,
        business_hours="",  # always open: a person is always there to hand off to
        nudge_minutes=0,
        expire_minutes=0,
        handoff_timeout_minutes=0,
    )
    try:
        async with compose(
            settings,
            channels={CHANNEL: channel},
            store=store,
            catalogs=catalogs or Catalogs.load(strict=True),
            geocoder=GazetteerGeocoder(streets),
            ceps=OfflineCepLookup(streets),
            ozmap_options={"backoff": 0.01},
            clock=lambda: FIXED_NOW,
            background=False,
        ) as runtime:
            runtime.engine.events.subscribe(events.append)
            yield Player(runtime, channel, sandbox, events)
    finally:
        await store.close()
