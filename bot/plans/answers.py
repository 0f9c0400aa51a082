"""The engine's answerer (:class:`bot.engine.services.Answerer`) over the provider's plan book:
the reply to a price, plans or common question, and the plans a covered customer chooses from.
Built once by the composition root with the gettext catalogs the framing sentences come from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.engine.services import PlanOffer
from bot.i18n import Catalogs
from bot.messages import Reply
from bot.nlu.base import Understanding
from bot.plans.book import PlanBook

__all__ = ["PlanAnswers"]

log = logging.getLogger(__name__)


class PlanAnswers:
    """Answers from ``book`` in the customer's language; never raises (a question it cannot
    answer, or a text it cannot build, is None: the engine then does what it would have done)."""

    def __init__(self, book: PlanBook, catalogs: Catalogs) -> None:
        self.book = book
        self._catalogs = catalogs

    def answer(self, understanding: Understanding, language: str) -> Reply | None:
        try:
            text = self.book.answer(understanding, language, self._catalogs.translator(language))
        except (KeyError, ValueError, IndexError):
            # a catalog without the key (strict mode) or a text the provider wrote with braces
            log.exception("could not answer %s from the plan book", understanding.intent)
            return None
        return Reply(text=text) if text else None

    def plans(self, language: str) -> Sequence[PlanOffer]:
        """The plans, cheapest first (then slowest): "o mais barato" is the first."""
        t = self._catalogs.translator(language)
        return [
            PlanOffer(id=button.payload.removeprefix("plan:"), label=button.label, speed=plan.speed)
            for plan, button in zip(self.book.plans, self.book.options(language, t), strict=True)
        ]
