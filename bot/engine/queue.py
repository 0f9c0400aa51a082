"""The agents' queue, kept in step with where a conversation is.

A customer turn that enters the handoff flow queues the conversation for a person (the store's
ticket) and the console hears of it (:mod:`bot.engine.events`); each message the customer sends
while queued is news too; leaving the handoff flow closes the ticket. A conversation the bot
takes back (an agent released it, nobody claimed it in time) goes to the start of the default
flow with the two ways out offered.
"""

from __future__ import annotations

from datetime import datetime

from bot.conversation import Conversation
from bot.engine.flow import Translate
from bot.engine.routing import BUTTONS_KEY, Route
from bot.engine.shared import Shared
from bot.messages import Reply

__all__ = ["AgentQueue"]


class AgentQueue:
    """Queues, keeps queued and takes out of the queue. Every method may raise
    :class:`bot.errors.StorageError`."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared

    async def after_turn(
        self,
        before: Conversation | None,
        after: Conversation,
        routed: Route,
        said: str,
        now: datetime,
    ) -> bool:
        """Bring the queue in line with a committed customer turn; returns whether the
        conversation was queued just now (its timers then change: :mod:`bot.engine.timers`)."""
        store, handoff = self._shared.store, self._shared.flows.handoff
        key = after.key
        was_handed = before is not None and before.flow == handoff
        if after.flow == handoff:
            if was_handed and await store.open_handoff(key) is not None:
                self._shared.publish("customer_message", key, now, said)
                return False
            reason = self._reason(before, routed) if not was_handed else "asked"
            await store.enqueue_handoff(key, reason, now)
            self._shared.publish("queued", key, now, reason)
            return True
        if was_handed:
            closed = await store.close_handoff(key, "customer_left", now)
            if closed is not None:
                self._shared.publish("closed", key, now, "customer_left")
        return False

    async def reconcile(self, saved: Conversation, now: datetime) -> bool:
        """The queue in line with a conversation as saved, after a turn found committed whose
        after-commit work may not have run (its process died, or lost its lock, in between):
        in the handoff flow with no open ticket, queued (returns True: its release timer is
        then due); outside it with one, closed. Idempotent."""
        store, key = self._shared.store, saved.key
        ticket = await store.open_handoff(key)
        if saved.flow == self._shared.flows.handoff:
            if ticket is not None:
                return False
            await store.enqueue_handoff(key, "asked", now)
            self._shared.publish("queued", key, now, "asked")
            return True
        if ticket is not None and await store.close_handoff(key, "customer_left", now):
            self._shared.publish("closed", key, now, "customer_left")
        return False

    def _reason(self, before: Conversation | None, routed: Route) -> str:
        if routed.intent is not None and routed.flow == self._shared.flows.handoff:
            return "failures" if before is not None and before.failures else "asked"
        return routed.flow  # a flow handed the customer over (e.g. a known outage)

    def back_to_bot(
        self, conversation: Conversation, t: Translate, now: datetime, text: str
    ) -> tuple[Conversation, list[Reply]]:
        """The conversation at the start of the default flow, told ``text`` with the menu and a
        person offered (the offer saved, so a typed number refers to it)."""
        human, menu = self._shared.flows.human_and_menu(t)
        reply = Reply(text, buttons=(menu, human))
        updated = self._shared.flows.to_default(conversation, now)
        updated.context[BUTTONS_KEY] = [[b.payload, b.label] for b in reply.buttons]
        return updated, [reply]
