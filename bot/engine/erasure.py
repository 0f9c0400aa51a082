"""Erasing a conversation at the customer's request (LGPD), after the turn that asked for it.

Each owner says what it erases. The store deletes the conversation: record, transcript, timers,
queue entries (:meth:`bot.storage.base.Store.forget`). The geocoder forgets the answers it keeps
for what this customer asked (:meth:`bot.geo.base.Geocoder.forget`): the texts they typed and
the points they pinned, read here from the transcript (the engine writes it), and whatever each
flow declares it asked the geocoder on their behalf (:attr:`bot.engine.flow.FlowSpec.lookups`,
e.g. the sales flow's query built from a CEP). Neither the context's layout nor the cache's key
format is known here; ``tests/flows/test_privacy.py`` erases through the real cached geocoder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.conversation import Conversation, TranscriptEntry, ref
from bot.engine.flow import FlowSpec, Translate
from bot.engine.shared import Shared
from bot.errors import StorageError
from bot.geo.base import Geocoder, Lookups
from bot.messages import Reply
from bot.validation import parse_coordinates

__all__ = ["Erasure", "customer_lookups", "declared_lookups"]

log = logging.getLogger(__name__)

_PIN = re.compile(r"^📍\s*")


def customer_lookups(transcript: Iterable[TranscriptEntry]) -> Lookups:
    """What the customer typed (every line may have been an address) and pinned. Pure."""
    texts: list[str] = []
    points: list[tuple[float, float]] = []
    for entry in transcript:
        if entry.role != "customer" or not entry.text.strip():
            continue
        texts.append(entry.text)
        point = parse_coordinates(_PIN.sub("", entry.text))
        if point is not None:
            points.append(point)
    return Lookups(tuple(texts), tuple(points))


def declared_lookups(flows: Iterable[FlowSpec], context: Mapping[str, Any]) -> Lookups:
    """What the flows say they asked the geocoder, read from ``context``. Pure."""
    found = Lookups()
    for spec in flows:
        if spec.lookups is not None:
            found += spec.lookups(context)
    return found


class Erasure:
    """Erases a conversation; ``keepers`` are the geocoders whose answers are forgotten too."""

    def __init__(self, shared: Shared, keepers: Sequence[Geocoder]) -> None:
        self._shared = shared
        self._keepers = tuple(keepers)

    async def erase(
        self, conversation: Conversation, replies: list[Reply], t: Translate
    ) -> list[Reply]:
        """Delete what is stored about ``conversation`` (run after its turn was committed, so
        the message id stays a duplicate); returns ``replies``, or an honest failure when a
        deletion was refused. The cached answers go first, then the conversation in one
        transaction of the store: a refusal never leaves it half-erased."""
        store, key = self._shared.store, conversation.key
        try:
            lookups = customer_lookups(await store.transcript(key))
            lookups += declared_lookups(self._shared.flows.specs(), conversation.context)
            for keeper in self._keepers:
                await keeper.forget(lookups)
            await store.forget(key)
        except StorageError:
            log.exception("could not erase conversation %s", ref(key))
            return [Reply(t("privacy.failed"))]
        log.info("erased conversation %s at the customer's request", ref(key))
        self._shared.publish("erased", key, self._shared.clock())
        return replies
