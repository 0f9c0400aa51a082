"""The provider's plans, prices and short answers to common questions.

The provider writes them in one YAML file (``OZBOT_PLANS_FILE``; the demo and ``serve --sandbox``
use :data:`SAMPLE`, shipped in this package) with texts per language; :mod:`bot.plans.book`
reads and checks it, and :meth:`PlanBook.answer` turns a message's
:class:`~bot.nlu.base.Understanding` into the reply ("quanto custa o de 300 mega?" → that
plan's price), or None when the book has nothing to say. :class:`PlanAnswers` is the engine's
:class:`~bot.engine.services.Answerer` over a book (built in :mod:`bot.compose`).
"""

from bot.plans.answers import PlanAnswers
from bot.plans.book import FAQ_TOPICS, SAMPLE, Plan, PlanBook, load_plan_book

__all__ = ["FAQ_TOPICS", "SAMPLE", "Plan", "PlanAnswers", "PlanBook", "load_plan_book"]
