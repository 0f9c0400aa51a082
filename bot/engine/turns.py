"""A customer's turn: lock → de-duplicate → load → route → step → save → send.

Turns of one customer run one at a time and in order (the store's per-conversation lock is taken
*before* the conversation is loaded, and held until the replies are sent); turns of different
customers run concurrently. Only a turn that succeeded saves its new state; a failure saves the
conversation as it was, one more failure counted, and tells the customer honestly. The replies
are committed with the turn, in the store's outbox (:mod:`bot.engine.outbox`), and sent after
it: a message found already committed (its process died before the end of its turn, and the
inbox gave it back) sends what its turn left unsent instead of running again. After a
committed turn the agents' queue and the timers are brought in line with where it now is, or,
when the step asked for it, the conversation is erased (that turn's replies are sent without
the outbox: the erasure deletes it, and may change them).

What a committed turn does after its commit (the erasure it asked for, the agents' queue) is
done again from what it saved when its message comes back found committed (its process died,
or was stopped past its lease, in between): a conversation saved as erasing is erased and
told so, one in the handoff flow without a ticket is queued (:meth:`CustomerTurns._reconcile`).

A turn whose commit is refused because its lock was lost (the process was stopped for longer
than the lease, and another one took the conversation over: :class:`LeaseLost`) sends nothing:
its message runs again under a new lock, from the conversation as saved now (found answered
when the new holder ran it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime

from bot.channels.base import Channel
from bot.conversation import Conversation, TranscriptEntry, ref, utcnow
from bot.engine.dialogue import Dialogue
from bot.engine.erasure import Erasure
from bot.engine.flow import Translate, Turn
from bot.engine.outbox import Outbox
from bot.engine.queue import AgentQueue
from bot.engine.routing import BUTTONS_KEY, PROFILE_NAME_KEY, Intent, Route, offered_buttons
from bot.engine.services import Services
from bot.engine.shared import Shared, bot_lines, describe
from bot.engine.timer_turns import TimerTurns
from bot.errors import ChannelError, GeocoderUnavailable, OzmapUnavailable, StorageError
from bot.i18n import negotiate
from bot.messages import Inbound, Reply
from bot.storage.locks import Held, LeaseLost
from bot.storage.outbox import Outgoing

__all__ = ["CustomerTurns", "failed", "succeeded"]

log = logging.getLogger(__name__)

#: in the context a turn that asked for the erasure commits: the texts of its replies (the
#: erasure runs after the commit; a message found committed with it runs it, and says them)
ERASING_KEY = "_erasing"

#: how many times a message whose turn lost its lock runs again before it is given up (as a
#: storage failure: the customer is told)
_REPLAYS = 2


def succeeded(conversation: Conversation, turn: Turn) -> Conversation:
    """The conversation after a successful step: where the machine left it, its context as the
    step changed it, the options of the last offer remembered, no failures."""
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


def failed(conversation: Conversation, replies: Sequence[Reply]) -> Conversation:
    """The conversation as loaded (flow, state, data untouched), one more failure counted; the
    failure's options become the ones a typed number refers to."""
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


class CustomerTurns:
    """Runs customers' turns. ``intents`` is the routing table; ``services`` is handed to every
    step; ``default_language`` speaks to a new customer whose channel gives no language hint we
    know; ``max_failures`` consecutive failed turns offer a person."""

    def __init__(
        self,
        shared: Shared,
        *,
        intents: Sequence[Intent],
        services: Services,
        queue: AgentQueue,
        timers: TimerTurns,
        erasure: Erasure,
        outbox: Outbox,
        default_language: str = "pt_BR",
        max_failures: int = 3,
    ) -> None:
        self._shared = shared
        self._intents = tuple(intents)
        self._services = services
        self._queue = queue
        self._timers = timers
        self._erasure = erasure
        self._outbox = outbox
        self._default_language = default_language
        self._max_failures = max_failures
        # understanding, repair and the flows' machines: bot.engine.dialogue
        self._dialogue = Dialogue(shared.flows, self._intents, services)

    async def handle(
        self, inbound: Inbound, *, leave_sent: bool = False, held: Held | None = None
    ) -> str | None:
        """Process one customer message completely, replies included.

        Never raises for a customer-facing failure: OZmap, geocoder or database trouble and bugs
        in a step become an honest reply. Raises :class:`bot.errors.ChannelError` only when
        ``inbound.channel`` has no adapter (a wiring mistake).

        ``leave_sent``: the outbox row of the replies sent is not removed here; its token is
        returned for the caller to remove (the dispatcher does it with the inbox entry, in one
        statement). None when there is nothing to remove.

        ``held``: the conversation's lock, taken with the message's inbox entry (see
        :class:`bot.storage.locks.Held`): the turn runs under it, from the conversation it
        read when it could, and leaves it held, for the caller to give back with the entry.
        """
        shared = self._shared
        channel = shared.channels.get(inbound.channel)
        if channel is None:
            raise ChannelError(
                f"no channel adapter for {inbound.channel!r}: add it to the channels given to "
                "the engine (bot.compose)"
            )
        name = ref(inbound.key)
        replays = 0
        try:
            while True:
                try:
                    if held is not None:
                        return await self._turn(inbound, channel, name, leave_sent, held)
                    async with shared.locked(inbound.key):
                        return await self._turn(inbound, channel, name, leave_sent)
                except LeaseLost:
                    replays += 1
                    if replays > _REPLAYS:
                        raise
                    log.warning("conversation %s was taken over mid-turn: running it again", name)
                    if held is not None:
                        # not ours any more: this only lets the key go in this process
                        await shared.store.release(held)
                        held = None
        except StorageError:
            # the lock, the de-duplication check or the load failed: nothing was processed
            log.exception("storage failed before turn of conversation %s", name)
            t = shared.catalogs.translator(negotiate(inbound.language, self._default_language))
            await shared.send(channel, inbound.contact, [Reply(t("common.error_generic"))], name)
            return None

    async def _turn(
        self,
        inbound: Inbound,
        channel: Channel,
        name: str,
        leave_sent: bool,
        held: Held | None = None,
    ) -> str | None:
        store = self._shared.store
        if held is not None and not held.stale:
            # read by the statement that stored the message and took the lock: a message
            # stored just now was not committed by a turn yet
            seen, loaded = False, held.loaded
        else:
            # one statement: on PostgreSQL one round trip fewer than asking each
            seen, loaded = await store.seen_and_load(inbound.key, inbound.provider_id)
        if seen:
            log.info("skipping re-delivered message for conversation %s", name)
            await self._outbox.flush(inbound.key)  # what its turn may have left unsent
            if loaded is not None:
                await self._reconcile(loaded, channel, inbound.contact, name)
            return None
        conversation = loaded or Conversation.new(
            inbound.channel,
            inbound.contact,
            language=negotiate(inbound.language, self._default_language),
        )
        conversation, routed = await self._dialogue.read(
            conversation, inbound, fresh=loaded is None
        )
        t = self._shared.catalogs.translator(conversation.language)
        customer = TranscriptEntry(
            "customer", describe(routed.message, offered_buttons(conversation.context))
        )
        erase = False
        outgoing = None
        try:
            turn = await self.step(conversation, routed, t)
            updated = succeeded(conversation, turn)
            replies = turn.replies
            erase = turn.erase
            if erase:
                updated.context[ERASING_KEY] = [reply.text for reply in replies]
            else:
                outgoing = self._keep(inbound, replies)
            folded, timers = self._timers_of(loaded, updated)
            committed = await store.commit_turn(
                updated, [customer, *bot_lines(replies)], inbound.provider_id, outgoing, timers
            )
            if held is not None and committed and folded and not erase:
                # nothing after the commit changes it: a next turn handed this lock starts
                # from it instead of loading it again (Held.hand_on)
                held.committed = updated
        except LeaseLost:
            raise  # nothing committed, nothing to send: the message runs again (handle)
        except Exception as exc:  # every failure must reach the customer as an honest reply
            log.exception(
                "turn failed in %s/%s for conversation %s",
                conversation.flow,
                conversation.state,
                name,
            )
            replies = self._failure_replies(exc, conversation.failures + 1, t)
            updated = failed(conversation, replies)
            outgoing = None if erase else self._keep(inbound, replies)
            folded, timers = self._timers_of(loaded, updated)
            try:
                committed = await store.commit_turn(
                    updated, [customer, *bot_lines(replies)], inbound.provider_id, outgoing, timers
                )
            except LeaseLost:
                raise
            except StorageError:
                log.exception("could not record the failed turn of conversation %s", name)
                committed, outgoing = True, None  # the customer still deserves the explanation
                folded = False
        if not committed:
            return None
        if erase:
            if not await self._shared.store.still_holds(inbound.key):
                # taken over: the new holder found it committed and erases it (_reconcile)
                return None
            replies = await self._erasure.erase(updated, replies, t)
        elif not folded:
            await self._after_turn(loaded, updated, routed, customer.text, name)
        return await self._outbox.deliver(
            channel, outgoing, inbound.contact, replies, name, clear=not leave_sent
        )

    async def _reconcile(
        self, saved: Conversation, channel: Channel, contact: str, name: str
    ) -> None:
        """A message found committed: what its turn does after the commit, done again from what
        it saved (idempotent). Saved as erasing: the erasure never ran (the conversation would
        be gone), so run it and say what the turn said. Else the agents' queue brought in line
        with the saved flow (a handoff turn whose ticket was never made is queued, with its
        release timer). Failures are logged: the next message tries again."""
        shared = self._shared
        try:
            said = saved.context.get(ERASING_KEY)
            if isinstance(said, list):
                t = shared.catalogs.translator(saved.language)
                replies = await self._erasure.erase(saved, [Reply(str(text)) for text in said], t)
                await shared.send(channel, contact, replies, name)
                return
            now = shared.clock()
            if await self._queue.reconcile(saved, now):
                await self._timers.after_turn(None, saved, now, queued=True)
        except StorageError:
            log.exception("could not redo the work after the turn of conversation %s", name)

    def _timers_of(
        self, before: Conversation | None, after: Conversation
    ) -> tuple[bool, dict[str, datetime | None] | None]:
        """Whether the turn's after-commit work is only its timers (neither side of it is in
        the handoff flow, so the agents' queue has nothing to do), and then their plan, to
        commit with the turn: on PostgreSQL one round trip fewer."""
        handoff = self._shared.flows.handoff
        if after.flow == handoff or (before is not None and before.flow == handoff):
            return False, None
        return True, self._timers.plan(before, after, self._shared.clock(), queued=False)

    def _keep(self, inbound: Inbound, replies: Sequence[Reply]) -> Outgoing | None:
        return self._outbox.keep(inbound.key, inbound.channel, inbound.contact, replies)

    async def step(self, conversation: Conversation, routed: Route, t: Translate) -> Turn:
        """Run the routed flow's step on a fresh :class:`Turn` (nothing saved). Raises whatever
        the step raises, and :class:`transitions.MachineError` for an outcome its table lacks."""
        return await self._dialogue.step(conversation, routed, t)

    def _failure_replies(self, exc: Exception, failures: int, t: Translate) -> list[Reply]:
        human, menu = self._shared.flows.human_and_menu(t)
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

    async def _after_turn(
        self,
        before: Conversation | None,
        after: Conversation,
        routed: Route,
        said: str,
        name: str,
    ) -> None:
        """The queue and the timers. The turn is already committed: a failure here is logged
        (the next turn repairs the queue entry). A lost lease is raised: the message then runs
        again (:meth:`handle`), is found committed, and its new run redoes this from what was
        saved (:meth:`_reconcile`); swallowed, a handoff whose holder was taken over by another
        process's outbox sweep was never queued (nobody ran its message again)."""
        now = self._shared.clock()
        try:
            queued = await self._queue.after_turn(before, after, routed, said, now)
            await self._timers.after_turn(before, after, now, queued=queued)
        except LeaseLost:
            raise
        except StorageError:
            log.exception("could not update the queue or timers of conversation %s", name)
