"""The turn: lock → de-duplicate → load → route → step → save → send.

One :class:`Engine` serves every channel. Turns of one customer run one at a time and in order
(the store's per-conversation lock is taken *before* the conversation is loaded, and held until
the replies are sent); turns of different customers run concurrently.

Besides customer messages, the same locked turn runs a timer firing (:meth:`Engine.fire_timer`)
and what the agent console does to a conversation (:meth:`Engine.agent_says`,
:meth:`Engine.release_handoff`). After each committed customer turn the engine keeps the
conversation's timers and its place in the agents' queue in step with where it now is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.channels.base import Channel
from bot.conversation import Conversation, TranscriptEntry, utcnow
from bot.engine.erasure import attributable_lookups
from bot.engine.events import HandoffEvent, HandoffEvents
from bot.engine.flow import FlowSpec, Jump, Translate, Turn
from bot.engine.machine import CompiledFlow
from bot.engine.routing import (
    BUTTONS_KEY,
    INTENT_PREFIX,
    PROFILE_NAME_KEY,
    Intent,
    Route,
    offered_buttons,
    route,
)
from bot.engine.timers import EXPIRE, NUDGE, TimerPolicy
from bot.errors import (
    ChannelError,
    GeocoderUnavailable,
    OzmapUnavailable,
    StorageError,
)
from bot.i18n import Catalogs, negotiate
from bot.messages import Button, Inbound, Reply
from bot.storage.base import HANDOFF_RELEASE, Store, Timer

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

    A conversation entering ``handoff_flow`` is queued for the agents (the store's queue) and
    ``events`` hears of it, and of each message the customer sends while there. ``timers``
    (None: no timers) says when to nudge, expire and give back unclaimed handoffs; ``clock``
    is the time timers are computed from.
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
        timers: TimerPolicy | None = None,
        events: HandoffEvents | None = None,
        clock: Callable[[], datetime] = utcnow,
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
        self._timers = timers
        self._events = events or HandoffEvents()
        self._clock = clock

    @property
    def flows(self) -> Mapping[str, CompiledFlow]:
        return self._flows

    @property
    def events(self) -> HandoffEvents:
        """Where the agent console subscribes to queue news (see :mod:`bot.engine.events`)."""
        return self._events

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
        erase = False
        try:
            turn = await self._step(conversation, routed, t)
            updated = self._succeeded(conversation, turn)
            replies = turn.replies
            erase = turn.erase
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
            updated = self._failed(conversation, replies)
            entries = [customer, *(TranscriptEntry("bot", render(r)) for r in replies)]
            try:
                committed = await self._store.commit_turn(updated, entries, inbound.provider_id)
            except StorageError:
                log.exception("could not record the failed turn of conversation %s", ref)
                committed = True  # the customer still deserves the explanation
        if not committed:
            return
        if erase:
            replies = await self._erase(updated, replies, t, ref)
        else:
            await self._after_turn(loaded, updated, routed, customer.text, ref)
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
        profile = (turn.message.name or "").strip()
        if profile:
            # what the customer's messenger already shows: an agent may greet them by it
            context[PROFILE_NAME_KEY] = profile[:80]
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

    # -- after a customer's turn: the queue and the timers ---------------------------------------

    def _resting(self, conversation: Conversation) -> bool:
        """Whether the customer owes no answer: menu, a person's care, or a finished flow."""
        if conversation.flow in (self._default_flow, self._handoff_flow):
            return True
        flow = self._flows.get(conversation.flow)
        if flow is None:
            return True
        state = flow.spec.state_of(conversation.state)
        return state is None or state in flow.spec.resting

    def _handoff_reason(self, before: Conversation | None, routed: Route) -> str:
        if routed.intent is not None and routed.flow == self._handoff_flow:
            return "failures" if before is not None and before.failures else "asked"
        return routed.flow  # a flow handed the customer over (e.g. a known outage)

    async def _after_turn(
        self,
        before: Conversation | None,
        after: Conversation,
        routed: Route,
        said: str,
        ref: str,
    ) -> None:
        """Queue, keep queued or take out of the queue; move or cancel the timers. The turn is
        already committed: a failure here is logged (the next turn repairs the queue entry)."""
        key, now = after.key, self._clock()
        was_handed = before is not None and before.flow == self._handoff_flow
        try:
            if after.flow == self._handoff_flow:
                fresh = not was_handed or await self._store.open_handoff(key) is None
                if fresh:
                    reason = self._handoff_reason(before, routed) if not was_handed else "asked"
                    await self._store.enqueue_handoff(key, reason, now)
                    if self._timers is not None:
                        plan = self._timers.after_turn(resting=True, now=now)
                        plan[HANDOFF_RELEASE] = self._timers.release_at(now)
                        await self._store.set_timers(key, plan)
                    self._publish("queued", key, now, reason)
                else:
                    self._publish("customer_message", key, now, said)
                return
            if was_handed:
                closed = await self._store.close_handoff(key, "customer_left", now)
                if closed is not None:
                    self._publish("closed", key, now, "customer_left")
            if self._timers is not None:
                resting = self._resting(after)
                if not (resting and before is not None and self._resting(before)):
                    await self._store.set_timers(
                        key, self._timers.after_turn(resting=resting, now=now)
                    )
        except StorageError:
            log.exception("could not update the queue or timers of conversation %s", ref)

    def _publish(self, kind: Any, key: str, at: datetime, text: str | None) -> None:
        self._events.publish(HandoffEvent(kind=kind, key=key, at=at, text=text))

    async def _erase(
        self, conversation: Conversation, replies: list[Reply], t: Translate, ref: str
    ) -> list[Reply]:
        """Delete what is stored about the conversation (after its turn was committed, so the
        message id stays a duplicate); the replies, or an honest failure when it did not work."""
        key = conversation.key
        try:
            lines = await self._store.transcript(key)
            for namespace, suffixes in attributable_lookups(lines, conversation.context).items():
                await self._store.cache_forget(namespace, suffixes)
            await self._store.forget(key)
        except StorageError:
            log.exception("could not erase conversation %s", ref)
            return [Reply(t("privacy.failed"))]
        log.info("erased conversation %s at the customer's request", ref)
        self._publish("erased", key, self._clock(), None)
        return replies

    # -- timers ------------------------------------------------------------------------------------

    async def fire_timer(self, timer: Timer) -> bool:
        """Run ``timer`` as a turn of its conversation (under its lock); returns whether it did
        anything. A timer moved or cancelled since it was claimed, or one that no longer applies
        (the customer finished the flow, an agent took the handoff), is dropped. Raises
        :class:`StorageError` (the timer stays claimed and fires again after its lease)."""
        ref = conversation_ref(timer.key)
        async with self._store.lock(timer.key, timeout=self._lock_timeout):
            if not await self._store.timer_pending(timer):
                return False
            conversation = await self._store.load(timer.key)
            channel = self._channels.get(conversation.channel) if conversation else None
            if conversation is None or channel is None:
                await self._store.finish_timer(timer)
                return False
            now = self._clock()
            t = self._catalogs.translator(conversation.language)
            outcome = await self._timer_turn(timer, conversation, t, now)
            if outcome is None:
                await self._store.finish_timer(timer)
                return False
            updated, replies = outcome
            freeform = await self._may_send(channel, conversation.contact, now, ref)
            if freeform:
                entries = [TranscriptEntry("bot", render(r), now) for r in replies]
            else:
                entries = [
                    TranscriptEntry(
                        "system", f"[{timer.kind}: outside the messenger's window]", now
                    )
                ]
            await self._store.commit_turn(updated, entries)
            if timer.kind == EXPIRE:
                await self._store.set_timers(timer.key, {NUDGE: None})
            await self._store.finish_timer(timer)
            if freeform:
                await self._send(channel, conversation.contact, replies, ref)
            elif self._timers is not None and self._timers.template:
                await self._send_template(channel, conversation.contact, replies, ref)
        return True

    async def _timer_turn(
        self, timer: Timer, conversation: Conversation, t: Translate, now: datetime
    ) -> tuple[Conversation, list[Reply]] | None:
        if timer.kind == NUDGE:
            if self._resting(conversation):
                return None
            # the offered options stay: the customer may still answer the question with a number
            return conversation, [Reply(t("timers.nudge"))]
        if timer.kind == EXPIRE:
            if self._resting(conversation):
                return None
            return self._to_default(conversation, now), [Reply(t("timers.expired"))]
        if timer.kind == HANDOFF_RELEASE:
            if conversation.flow != self._handoff_flow:
                return None
            closed = await self._store.close_handoff(
                conversation.key, "expired", now, waiting_only=True
            )
            if closed is None:
                return None  # an agent took it just now
            self._publish("closed", conversation.key, now, "expired")
            return self._back_to_bot(conversation, t, now, t("timers.handoff_released"))
        log.warning("unknown timer kind %r dropped", timer.kind)
        return None

    def _to_default(self, conversation: Conversation, now: datetime) -> Conversation:
        """Back to the start of the default flow, the data learned so far kept."""
        context = dict(conversation.context)
        context.pop(BUTTONS_KEY, None)
        return dataclasses.replace(
            conversation,
            flow=self._default_flow,
            state=str(self._flows[self._default_flow].spec.initial.value),
            context=context,
            failures=0,
            updated_at=now,
        )

    def _back_to_bot(
        self, conversation: Conversation, t: Translate, now: datetime, text: str
    ) -> tuple[Conversation, list[Reply]]:
        human = Button(INTENT_PREFIX + self._handoff_flow, t("menu.option.human"))
        menu = Button(INTENT_PREFIX + self._default_flow, t("menu.option.menu"))
        reply = Reply(text, buttons=(menu, human))
        updated = self._to_default(conversation, now)
        updated.context[BUTTONS_KEY] = [[b.payload, b.label] for b in reply.buttons]
        return updated, [reply]

    async def _may_send(self, channel: Channel, contact: str, now: datetime, ref: str) -> bool:
        try:
            return await channel.can_send_freeform(contact, now)
        except StorageError:
            log.warning("could not read the messenger window of %s; not sending", ref)
            return False

    async def _send_template(
        self, channel: Channel, contact: str, replies: Sequence[Reply], ref: str
    ) -> None:
        assert self._timers is not None and self._timers.template
        try:
            text = "\n".join(r.text for r in replies)
            await channel.send_template(contact, self._timers.template, {"1": text})
        except ChannelError:
            log.exception("could not send the template to conversation %s", ref)

    # -- what the agent console does --------------------------------------------------------------

    async def agent_says(self, key: str, text: str) -> None:
        """An agent's message: kept in the transcript (role ``agent``) and sent to the customer.
        Raises :class:`ChannelError` when the messenger refuses it (e.g. WhatsApp's window is
        closed), :class:`StorageError`, or ValueError for a conversation that does not exist."""
        async with self._store.lock(key, timeout=self._lock_timeout):
            conversation = await self._store.load(key)
            if conversation is None:
                raise ValueError("no such conversation: it may have been erased")
            channel = self._channels.get(conversation.channel)
            if channel is None:
                raise ChannelError(f"no channel adapter for {conversation.channel!r}")
            now = self._clock()
            await self._store.record_agent_message(key, text, now)
            await channel.send(conversation.contact, [Reply(text)])
            self._publish("agent_message", key, now, text)

    async def release_handoff(self, key: str, *, outcome: str = "released") -> bool:
        """Close the conversation's ticket with ``outcome`` (``released``: given back to the
        bot; ``resolved``: the agent finished) and give the conversation back to the bot,
        telling the customer. Returns False when it had no open ticket. Raises StorageError."""
        now = self._clock()
        ref = conversation_ref(key)
        async with self._store.lock(key, timeout=self._lock_timeout):
            closed = await self._store.close_handoff(key, outcome, now)
            conversation = await self._store.load(key)
            if conversation is not None and conversation.flow == self._handoff_flow:
                t = self._catalogs.translator(conversation.language)
                said = t("handoff.resolved") if outcome == "resolved" else t("handoff.released")
                updated, replies = self._back_to_bot(conversation, t, now, said)
                channel = self._channels.get(conversation.channel)
                freeform = channel is not None and await self._may_send(
                    channel, conversation.contact, now, ref
                )
                entries = [TranscriptEntry("system", f"[handoff {outcome}]", now)]
                if freeform:
                    entries += [TranscriptEntry("bot", render(r), now) for r in replies]
                await self._store.commit_turn(updated, entries)
                if freeform and channel is not None:
                    await self._send(channel, conversation.contact, replies, ref)
        if closed is not None:
            self._publish("closed", key, now, outcome)
        return closed is not None

    async def _send(
        self, channel: Channel, contact: str, replies: Sequence[Reply], ref: str
    ) -> None:
        if not replies:
            return
        try:
            await channel.send(contact, replies)
        except ChannelError:
            log.exception("could not deliver replies to conversation %s", ref)
