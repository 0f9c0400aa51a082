"""What the agent console does to a conversation, each under the conversation's lock like a
customer's turn: an agent's message to the customer, and a handoff given back to the bot."""

from __future__ import annotations

from bot.conversation import TranscriptEntry, ref
from bot.engine.queue import AgentQueue
from bot.engine.shared import Shared, bot_lines
from bot.errors import ChannelError
from bot.messages import Reply

__all__ = ["ConsoleActions"]


class ConsoleActions:
    def __init__(self, shared: Shared, queue: AgentQueue) -> None:
        self._shared = shared
        self._queue = queue

    async def agent_says(self, key: str, text: str) -> None:
        """An agent's message: kept in the transcript (role ``agent``) and sent to the customer.
        Raises :class:`ChannelError` when the messenger refuses it (e.g. WhatsApp's window is
        closed), :class:`bot.errors.StorageError`, or ValueError for a conversation that does
        not exist."""
        shared, store = self._shared, self._shared.store
        async with shared.locked(key):
            conversation = await store.load(key)
            if conversation is None:
                raise ValueError("no such conversation: it may have been erased")
            channel = shared.channels.get(conversation.channel)
            if channel is None:
                raise ChannelError(f"no channel adapter for {conversation.channel!r}")
            now = shared.clock()
            await store.record_agent_message(key, text, now)
            await channel.send(conversation.contact, [Reply(text)])
            shared.publish("agent_message", key, now, text)

    async def release_handoff(self, key: str, *, outcome: str = "released") -> bool:
        """Close the conversation's ticket with ``outcome`` (``released``: given back to the
        bot; ``resolved``: the agent finished) and give the conversation back to the bot,
        telling the customer. Returns False when it had no open ticket. Raises
        :class:`bot.errors.StorageError`."""
        shared, store = self._shared, self._shared.store
        now = shared.clock()
        name = ref(key)
        async with shared.locked(key):
            closed = await store.close_handoff(key, outcome, now)
            conversation = await store.load(key)
            if conversation is not None and conversation.flow == shared.flows.handoff:
                t = shared.catalogs.translator(conversation.language)
                said = t("handoff.resolved") if outcome == "resolved" else t("handoff.released")
                updated, replies = self._queue.back_to_bot(conversation, t, now, said)
                channel = shared.channels.get(conversation.channel)
                freeform = channel is not None and await shared.may_send_freeform(
                    channel, conversation.contact, now, name
                )
                entries = [TranscriptEntry("system", f"[handoff {outcome}]", now)]
                if freeform:
                    entries += bot_lines(replies, now)
                await store.commit_turn(updated, entries)
                if freeform and channel is not None:
                    await shared.send(channel, conversation.contact, replies, name)
        if closed is not None:
            shared.publish("closed", key, now, outcome)
        return closed is not None
