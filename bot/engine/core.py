"""The turn: lock → de-duplicate → load → route → step → save → send.

One :class:`Engine` serves every channel. Turns of one customer run one at a time and in order
(the store's per-conversation lock is taken *before* the conversation is loaded, and held until
the replies are sent); turns of different customers run concurrently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.channels.base import Channel
from bot.conversation import Conversation, TranscriptEntry, utcnow
from bot.engine.flow import FlowSpec, Jump, Translate, Turn
from bot.engine.machine import CompiledFlow
from bot.engine.routing import (
    BUTTONS_KEY,
    INTENT_PREFIX,
    Intent,
    Route,
    offered_buttons,
    route,
)
from bot.errors import (
    ChannelError,
    GeocoderUnavailable,
    OzmapUnavailable,
    StorageError,
)
from bot.i18n import Catalogs, negotiate
from bot.messages import Button, Inbound, Reply
from bot.storage.base import Store

__all__ = ["Engine"]

log = logging.getLogger(__name__)


def conversation_ref(key: str) -> str:
    """A stable, non-reversible name for a conversation in logs (keys hold phone numbers)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def describe(message: Inbound, offered: Sequence[Button]) -> str:
    """The customer's transcript line for a message."""
    if message.button is not None:
        label = next((b.label for b in offered if b.payload == message.button), None)
        return message.text or label or f"[{message.button}]"
    if message.location is not None:
        return f"📍 {message.location.lat:.6f}, {message.location.lng:.6f}"
    if message.phone is not None and not message.text:
        return "📇 [contact card]"
    return message.text or ""


def render(reply: Reply) -> str:
    """The bot's transcript line for a reply, options numbered as a button-less channel shows
    them."""
    if not reply.buttons:
        return reply.text
    options = "\n".join(f"{i}. {b.label}" for i, b in enumerate(reply.buttons, 1))
    return f"{reply.text}\n{options}"


class Engine:
    """Runs turns. ``flows`` are built into machines here, once; ``intents`` is the routing table;
    ``services`` is handed to every step; ``channels`` maps ``Inbound.channel`` to its adapter.

    ``default_flow`` receives new conversations and messages in unknown flows; ``handoff_flow`` is
    the one where a person answers (the bot stays quiet there) and that the engine offers after
    ``max_failures`` consecutive failed turns. ``default_language`` speaks to a new customer
    whose channel gives no language hint we know.
    """

    def __init__(
        self,
        *,
        store: Store,
        flows: Sequence[FlowSpec],
        intents: Sequence[Intent],
        services: Any,
        catalogs: Catalogs,
        channels: Mapping[str, Channel],
        default_flow: str = "menu",
        handoff_flow: str = "handoff",
        default_language: str = "pt_BR",
        lock_timeout: float = 30.0,
        max_failures: int = 3,
    ) -> None:
        self._store = store
        self._flows = {spec.name: CompiledFlow(spec) for spec in flows}
        for name in (default_flow, handoff_flow, *(i.flow for i in intents)):
            if name not in self._flows:
                raise ValueError(f"flow {name!r} is routed to but not given to the engine")
        self._intents = tuple(intents)
        self._services = services
        self._catalogs = catalogs
        self._channels = channels
        self._default_flow = default_flow
        self._handoff_flow = handoff_flow
        self._default_language = default_language
        self._lock_timeout = lock_timeout
        self._max_failures = max_failures

    @property
    def flows(self) -> Mapping[str, CompiledFlow]:
        return self._flows

    async def handle(self, inbound: Inbound) -> None:
        """Process one customer message completely, replies included.

        Never raises for a customer-facing failure: OZmap, geocoder or database trouble and bugs
        in a step become an honest reply. Raises :class:`bot.errors.ChannelError` only when
        ``inbound.channel`` has no adapter (a wiring mistake).
        """
        channel = self._channels.get(inbound.channel)
        if channel is None:
            raise ChannelError(
                f"no channel adapter for {inbound.channel!r}: add it to the channels given to "
                "build_runtime"
            )
        ref = conversation_ref(inbound.key)
        try:
            async with self._store.lock(inbound.key, timeout=self._lock_timeout):
                await self._turn(inbound, channel, ref)
        except StorageError:
            # the lock, the de-duplication check or the load failed: nothing was processed
            log.exception("storage failed before turn of conversation %s", ref)
            t = self._catalogs.translator(negotiate(inbound.language, self._default_language))
            await self._send(channel, inbound.contact, [Reply(t("common.error_generic"))], ref)

    async def _turn(self, inbound: Inbound, channel: Channel, ref: str) -> None:
        if inbound.provider_id is not None and await self._store.seen(inbound.provider_id):
            log.info("skipping re-delivered message for conversation %s", ref)
            return
        loaded: Conversation | None = await self._store.load(inbound.key)
        conversation = loaded or Conversation.new(
            inbound.channel,
            inbound.contact,
            language=negotiate(inbound.language, self._default_language),
        )
        t = self._catalogs.translator(conversation.language)
        routed = route(conversation, inbound, self._intents, handoff_flow=self._handoff_flow)
        customer = TranscriptEntry(
            "customer", describe(routed.message, offered_buttons(conversation.context))
        )
        try:
            turn = await self._step(conversation, routed, t)
            updated = self._succeeded(conversation, turn)
            replies = turn.replies
            entries = [customer, *(TranscriptEntry("bot", render(r)) for r in replies)]
            committed = await self._store.commit_turn(updated, entries, inbound.provider_id)
        except Exception as exc:  # every failure must reach the customer as an honest reply
            log.exception(
                "turn failed in %s/%s for conversation %s",
                conversation.flow,
                conversation.state,
                ref,
            )
            replies = self._failure_replies(exc, conversation.failures + 1, t)
            failed = self._failed(conversation, replies)
            entries = [customer, *(TranscriptEntry("bot", render(r)) for r in replies)]
            try:
                committed = await self._store.commit_turn(failed, entries, inbound.provider_id)
            except StorageError:
                log.exception("could not record the failed turn of conversation %s", ref)
                committed = True  # the customer still deserves the explanation
        if committed:
            await self._send(channel, inbound.contact, replies, ref)

    async def _step(self, conversation: Conversation, routed: Route, t: Translate) -> Turn:
        flow = self._flows.get(routed.flow)
        restart = routed.restart
        if flow is None:
            flow, restart = self._flows[self._default_flow], True
        state = (
            flow.spec.state_of(conversation.state) if flow.spec.name == conversation.flow else None
        )
        turn = Turn(
            flow=flow.spec.name,
            state=state if state is not None else flow.spec.initial,
            context=conversation.context,
            message=routed.message,
            services=self._services,
            t=t,
            language=conversation.language,
        )
        if restart or state is None or not flow.has_step(state):
            await flow.begin(turn)
            return turn
        outcome = await flow.spec.steps[state](turn)
        if isinstance(outcome, Jump):
            # only steps jump, and a flow's beginning runs no step: a jump cannot loop
            flow = self._flows[outcome.flow]
            turn.flow = flow.spec.name
            await flow.begin(turn)
        else:
            await flow.fire(turn, outcome)
        return turn

    def _succeeded(self, conversation: Conversation, turn: Turn) -> Conversation:
        context = turn.context
        offered = next((r.buttons for r in reversed(turn.replies) if r.buttons), ())
        if offered:
            context[BUTTONS_KEY] = [[b.payload, b.label] for b in offered]
        else:
            context.pop(BUTTONS_KEY, None)
        return dataclasses.replace(
            conversation,
            flow=turn.flow,
            state=str(turn.state.value),
            context=context,
            failures=0,
            updated_at=utcnow(),
        )

    def _failed(self, conversation: Conversation, replies: Sequence[Reply]) -> Conversation:
        """The conversation as loaded (flow, state, data untouched), one more failure counted;
        the failure's options become the ones a typed number refers to."""
        context = dict(conversation.context)
        offered = next((r.buttons for r in reversed(replies) if r.buttons), ())
        if offered:
            context[BUTTONS_KEY] = [[b.payload, b.label] for b in offered]
        return dataclasses.replace(
            conversation,
            context=context,
            failures=conversation.failures + 1,
            updated_at=utcnow(),
        )

    def _failure_replies(self, exc: Exception, failures: int, t: Translate) -> list[Reply]:
        human = Button(INTENT_PREFIX + self._handoff_flow, t("menu.option.human"))
        menu = Button(INTENT_PREFIX + self._default_flow, t("menu.option.menu"))
        # outages are named (and a person offered at once: waiting may not help); anything else,
        # a bug or a refusal, is a generic apology until it repeats
        if isinstance(exc, OzmapUnavailable):
            first = Reply(t("common.ozmap_down"))
        elif isinstance(exc, GeocoderUnavailable):
            first = Reply(t("common.geocoder_down"), ask_location=True)
        elif failures < self._max_failures:
            return [Reply(t("common.error_generic"))]
        else:
            first = Reply(t("common.error_generic"))
        return [first, Reply(t("common.offer_human"), buttons=(human, menu))]

    async def _send(
        self, channel: Channel, contact: str, replies: Sequence[Reply], ref: str
    ) -> None:
        if not replies:
            return
        try:
            await channel.send(contact, replies)
        except ChannelError:
            log.exception("could not deliver replies to conversation %s", ref)
