"""The :class:`Engine`: one object the composition root builds and every channel uses.

It wires the engine's parts, each in its own module:

* :mod:`bot.engine.turns`: a customer's turn (lock → de-duplicate → load → route → step → save →
  send);
* :mod:`bot.engine.queue`: the agents' queue kept in step with the conversation;
* :mod:`bot.engine.timer_turns`: timers fired as turns, and planned after each turn
  (:mod:`bot.engine.timers` holds their policy and the runner that claims them);
* :mod:`bot.engine.erasure`: a conversation erased at the customer's request;
* :mod:`bot.engine.outbox`: replies kept with their turn until sent, and sent by whoever
  recovers;
* :mod:`bot.engine.console`: what the agent console does to a conversation.

All of them run under the same per-conversation lock, so a customer's message, a timer and an
agent's action on one conversation never interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.channels.base import Channel
from bot.conversation import utcnow
from bot.engine.console import ConsoleActions
from bot.engine.erasure import Erasure
from bot.engine.events import HandoffEvents
from bot.engine.flow import FlowSpec
from bot.engine.flowset import FlowSet
from bot.engine.outbox import Outbox
from bot.engine.queue import AgentQueue
from bot.engine.routing import Intent
from bot.engine.services import Services
from bot.engine.shared import Shared
from bot.engine.timer_turns import TimerTurns
from bot.engine.timers import TimerPolicy
from bot.engine.turns import CustomerTurns
from bot.i18n import Catalogs
from bot.messages import Inbound
from bot.storage.base import Store, Timer
from bot.storage.locks import Held

__all__ = ["Engine"]


class Engine:
    """Runs turns. ``flows`` are built into machines here, once; ``intents`` is the routing table;
    ``services`` is handed to every step (its geocoder also forgets what an erasure asks it
    to); ``channels`` maps ``Inbound.channel`` to its adapter.

    ``default_flow`` receives new conversations and messages in unknown flows; ``handoff_flow`` is
    the one where a person answers (the bot stays quiet there) and that the engine offers after
    ``max_failures`` consecutive failed turns. ``default_language`` speaks to a new customer
    whose channel gives no language hint we know.

    A conversation entering ``handoff_flow`` is queued for the agents (the store's queue) and
    ``events`` hears of it, and of each message the customer sends while there. ``timers``
    (None: no timers) says when to nudge, expire and give back unclaimed handoffs; ``clock``
    is the time timers are computed from. ``outbox_lease`` and ``outbox_sweep`` are the
    outbox's ``lease`` and ``sweep_every`` (:class:`bot.engine.outbox.Outbox`).
    """

    def __init__(
        self,
        *,
        store: Store,
        flows: Sequence[FlowSpec],
        intents: Sequence[Intent],
        services: Services,
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
        outbox_lease: float = 30.0,
        outbox_sweep: float = 5.0,
    ) -> None:
        flowset = FlowSet(
            flows, default=default_flow, handoff=handoff_flow, routed=(i.flow for i in intents)
        )
        self._events = events or HandoffEvents()
        shared = Shared(
            store=store,
            flows=flowset,
            catalogs=catalogs,
            channels=channels,
            events=self._events,
            clock=clock,
            lock_timeout=lock_timeout,
        )
        self._flows = flowset
        queue = AgentQueue(shared)
        self.outbox = Outbox(shared, lease=outbox_lease, sweep_every=outbox_sweep)
        self._timers = TimerTurns(shared, queue, timers, self.outbox)
        self._console = ConsoleActions(shared, queue)
        self.turns = CustomerTurns(
            shared,
            intents=intents,
            services=services,
            queue=queue,
            timers=self._timers,
            erasure=Erasure(shared, [services.geocoder]),
            outbox=self.outbox,
            default_language=default_language,
            max_failures=max_failures,
        )

    @property
    def flows(self) -> FlowSet:
        return self._flows

    @property
    def events(self) -> HandoffEvents:
        """Where the agent console subscribes to queue news (see :mod:`bot.engine.events`)."""
        return self._events

    async def handle(self, inbound: Inbound) -> None:
        """Process one customer message completely, replies included (see
        :meth:`bot.engine.turns.CustomerTurns.handle`: raises only for a message of a channel
        the engine was not given)."""
        await self.turns.handle(inbound)

    async def handle_leaving_sent(self, inbound: Inbound) -> str | None:
        """:meth:`handle`, the outbox row of the replies it sent left in place; returns its
        token (None: no row) for the caller to clear with the message's inbox entry, as the
        dispatcher does (``InboxStore.inbox_done(..., sent=token)``: on PostgreSQL one round
        trip for both)."""
        return await self.turns.handle(inbound, leave_sent=True)

    async def handle_held(self, inbound: Inbound, held: Held) -> str | None:
        """:meth:`handle_leaving_sent` for a message whose conversation lock was taken with
        its inbox entry (``InboxStore.inbox_accept(..., lock=True)``): the turn runs under it
        and leaves it held, for the caller to give back with the entry
        (``inbox_done(..., held=held)``: on PostgreSQL one statement for the entry, the sent
        replies and the lock)."""
        return await self.turns.handle(inbound, leave_sent=True, held=held)

    async def fire_timer(self, timer: Timer) -> bool:
        """Run a claimed timer as a turn; what a :class:`~bot.engine.timers.TimerRunner` is
        given to fire (see :meth:`bot.engine.timer_turns.TimerTurns.fire`)."""
        return await self._timers.fire(timer)

    async def agent_says(self, key: str, text: str) -> None:
        """See :meth:`bot.engine.console.ConsoleActions.agent_says`."""
        await self._console.agent_says(key, text)

    async def release_handoff(self, key: str, *, outcome: str = "released") -> bool:
        """See :meth:`bot.engine.console.ConsoleActions.release_handoff`."""
        return await self._console.release_handoff(key, outcome=outcome)
