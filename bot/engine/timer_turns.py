"""A timer fired as a turn of its conversation, and the timers a customer's turn leaves behind.

A nudge reminds a customer who went quiet mid-flow (the question and its options stay); an
expiry takes them back to the menu, what they told us kept; a handoff nobody claimed in time
goes back to the bot. Outside the messenger's window (WhatsApp's 24 hours) the state still
changes; the message goes as the configured template, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.channels.base import Channel
from bot.conversation import Conversation, TranscriptEntry, ref
from bot.engine.flow import Translate
from bot.engine.outbox import Outbox
from bot.engine.queue import AgentQueue
from bot.engine.shared import Shared, bot_lines
from bot.engine.timers import EXPIRE, NUDGE, TimerPolicy
from bot.errors import ChannelError
from bot.messages import Reply
from bot.storage.base import HANDOFF_RELEASE, Timer

__all__ = ["TimerTurns"]

log = logging.getLogger(__name__)


class TimerTurns:
    """Fires timers and plans them after a customer's turn, by ``policy`` (None: no timers)."""

    def __init__(
        self, shared: Shared, queue: AgentQueue, policy: TimerPolicy | None, outbox: Outbox
    ) -> None:
        self._shared = shared
        self._queue = queue
        self._policy = policy
        self._outbox = outbox

    async def after_turn(
        self,
        before: Conversation | None,
        after: Conversation,
        now: datetime,
        *,
        queued: bool,
    ) -> None:
        """Move or cancel the conversation's timers after a committed customer turn; ``queued``:
        the turn just put it in the agents' queue. Raises :class:`bot.errors.StorageError`."""
        plan = self.plan(before, after, now, queued=queued)
        if plan:
            await self._shared.store.set_timers(after.key, plan)

    def plan(
        self,
        before: Conversation | None,
        after: Conversation,
        now: datetime,
        *,
        queued: bool,
    ) -> dict[str, datetime | None] | None:
        """The timers a customer turn from ``before`` to ``after`` sets (None: it leaves them
        as they are); what :meth:`after_turn` writes, or the turn's commit when the agents'
        queue has no part in the turn."""
        policy, flows = self._policy, self._shared.flows
        if policy is None:
            return None
        if queued:
            plan = policy.after_turn(resting=True, now=now)
            plan[HANDOFF_RELEASE] = policy.release_at(now)
            return plan
        if after.flow == flows.handoff:
            return None  # still waiting for a person: the release timer runs on
        resting = flows.resting(after)
        if resting and before is not None and flows.resting(before):
            return None
        return policy.after_turn(resting=resting, now=now)

    async def fire(self, timer: Timer) -> bool:
        """Run ``timer`` as a turn of its conversation (under its lock); returns whether it did
        anything. A timer moved or cancelled since it was claimed, or one that no longer applies
        (the customer finished the flow, an agent took the handoff), is dropped. Raises
        :class:`bot.errors.StorageError` (the timer stays claimed and fires again after its
        lease)."""
        shared, store = self._shared, self._shared.store
        name = ref(timer.key)
        async with shared.locked(timer.key):
            if not await store.timer_pending(timer):
                return False
            conversation = await store.load(timer.key)
            channel = shared.channels.get(conversation.channel) if conversation else None
            if conversation is None or channel is None:
                await store.finish_timer(timer)
                return False
            now = shared.clock()
            t = shared.catalogs.translator(conversation.language)
            outcome = await self._turn(timer, conversation, t, now)
            if outcome is None:
                await store.finish_timer(timer)
                return False
            updated, replies = outcome
            freeform = await shared.may_send_freeform(channel, conversation.contact, now, name)
            outgoing = None
            if freeform:
                entries = bot_lines(replies, now)
                # kept with the turn: sent by whoever recovers if we die before sending
                contact = conversation.contact
                outgoing = self._outbox.keep(timer.key, conversation.channel, contact, replies)
            else:
                entries = [
                    TranscriptEntry(
                        "system", f"[{timer.kind}: outside the messenger's window]", now
                    )
                ]
            await store.commit_turn(updated, entries, outgoing=outgoing)
            if timer.kind == EXPIRE:
                await store.set_timers(timer.key, {NUDGE: None})
            await store.finish_timer(timer)
            if freeform:
                await self._outbox.deliver(channel, outgoing, conversation.contact, replies, name)
            elif self._policy is not None and self._policy.template:
                await self._send_template(
                    channel, conversation.contact, self._policy.template, replies, name
                )
        return True

    async def _turn(
        self, timer: Timer, conversation: Conversation, t: Translate, now: datetime
    ) -> tuple[Conversation, list[Reply]] | None:
        flows = self._shared.flows
        if timer.kind == NUDGE:
            if flows.resting(conversation):
                return None
            # the offered options stay: the customer may still answer the question with a number
            return conversation, [Reply(t("timers.nudge"))]
        if timer.kind == EXPIRE:
            if flows.resting(conversation):
                return None
            return flows.to_default(conversation, now), [Reply(t("timers.expired"))]
        if timer.kind == HANDOFF_RELEASE:
            if conversation.flow != flows.handoff:
                return None
            store = self._shared.store
            # (this timer stays until the turn is committed: a death in between fires it again)
            closed = await store.close_handoff(
                conversation.key, "expired", now, waiting_only=True, keep_release=True
            )
            if closed is not None:
                self._shared.publish("closed", conversation.key, now, "expired")
            elif await store.open_handoff(conversation.key) is not None:
                return None  # an agent took it just now
            # (no ticket at all: an earlier firing closed it and died before its commit, and
            # the conversation still waits in the handoff flow: given back now)
            return self._queue.back_to_bot(conversation, t, now, t("timers.handoff_released"))
        log.warning("unknown timer kind %r dropped", timer.kind)
        return None

    @staticmethod
    async def _send_template(
        channel: Channel, contact: str, template: str, replies: Sequence[Reply], name: str
    ) -> None:
        try:
            text = "\n".join(r.text for r in replies)
            await channel.send_template(contact, template, {"1": text})
        except ChannelError:
            log.exception("could not send the template to conversation %s", name)
