"""The plan book: the provider's plans and answers, read from YAML, and how a question is answered.

Pure: :func:`load_plan_book` reads a file once at start-up (the composition root calls it);
everything else works on the frozen :class:`PlanBook`. The framing sentences ("O plano {name}
custa {price} por mês.") come from the gettext catalogs, through the translator the caller
passes; the plans' names, notes and the answers are the provider's own texts, per language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import yaml
from babel.numbers import format_decimal
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError
from bot.messages import Button
from bot.nlu.base import EntityKind, Understanding
from bot.resources import package_path

__all__ = ["FAQ_TOPICS", "PLAN_PREFIX", "SAMPLE", "Plan", "PlanBook", "load_plan_book"]

#: the kinds of common question the understanding layer tells apart (its ``faq_<topic>``)
FAQ_TOPICS = ("hours", "contract", "install", "payment", "equipment")
#: the payload of a plan's button: ``plan:<id>``
PLAN_PREFIX = "plan:"
#: the sample the demo and ``ozbot serve --sandbox`` use
SAMPLE = package_path("bot.plans", "sample.yml")
#: the language whose text stands in for a language the provider did not write
FALLBACK = "pt_BR"
#: the intents that ask for a price or the plans (one since ``ask_plans`` merged into it)
_PRICE_INTENTS = frozenset({"ask_price"})
_TOPIC_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: how many ways of asking a topic of the provider's own needs, per language written
MIN_QUESTIONS = 3


class Translate(Protocol):
    """A catalog translator: :meth:`bot.i18n.Catalogs.translator`'s result, or ``turn.t``."""

    def __call__(self, key: str, /, **params: Any) -> str: ...


Texts = Mapping[str, str]


def _texts(value: object) -> dict[str, str]:
    """One text for every language (a string) or one per language (a mapping)."""
    if value is None:
        return {}
    if isinstance(value, str | int | float):
        return {FALLBACK: str(value).strip()}
    if isinstance(value, Mapping):
        return {str(k): str(v).strip() for k, v in value.items() if v is not None}
    raise ValueError("write a text, or one text per language (pt_BR, en, es)")


def pick(texts: Texts, language: str) -> str:
    """The text for ``language``: its own, else pt_BR's, else the first written."""
    return texts.get(language) or texts.get(FALLBACK) or next(iter(texts.values()), "")


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan. ``speed`` in Mbit/s; ``price`` a month, in reais; ``id`` what a reservation
    records (default: the speed)."""

    id: str
    speed: int
    price: Decimal
    names: Texts = field(default_factory=dict)
    notes: Texts = field(default_factory=dict)

    def name(self, language: str, t: Translate) -> str:
        return pick(self.names, language) or t("plans.default_name", speed=self.speed)

    def note(self, language: str) -> str:
        return pick(self.notes, language)


class _PlanRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    speed: int = Field(gt=0)
    price: Decimal = Field(ge=0, max_digits=9, decimal_places=2)
    name: dict[str, str] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)

    @field_validator("name", "notes", mode="before")
    @classmethod
    def _per_language(cls, value: object) -> dict[str, str]:
        return _texts(value)

    @field_validator("price", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        # YAML reads 89.90 as a float; str() gives back what the provider wrote
        return str(value) if isinstance(value, float) else value


class _Topic(BaseModel):
    """A topic written out: its answer and how customers ask about it (examples the
    understanding layer learns the topic from; a topic of the provider's own needs them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: dict[str, str]
    questions: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("answer", mode="before")
    @classmethod
    def _per_language(cls, value: object) -> dict[str, str]:
        return _texts(value)

    @field_validator("questions", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        if isinstance(value, list):
            return {FALLBACK: value}
        return value


class _BookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plans: list[_PlanRow] = Field(default_factory=list)
    faq: dict[str, _Topic] = Field(default_factory=dict)

    @field_validator("faq", mode="before")
    @classmethod
    def _topics(cls, value: object) -> dict[str, object]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"faq: one answer per topic ({', '.join(FAQ_TOPICS)}, or yours)")
        topics: dict[str, object] = {}
        for name, entry in value.items():
            topic = str(name)
            if not _TOPIC_NAME.fullmatch(topic):
                raise ValueError(f"topic {topic!r}: name topics with lower_case words")
            written = isinstance(entry, Mapping) and "answer" in entry
            if topic not in FAQ_TOPICS and not (written and entry.get("questions")):
                raise ValueError(
                    f"topic {topic} is your own: write it as answer: and questions: (at least "
                    f"{MIN_QUESTIONS} ways customers ask it), or use {', '.join(FAQ_TOPICS)}"
                )
            topics[topic] = entry if written else {"answer": entry}
        return topics


@dataclass(frozen=True)
class PlanBook:
    """The provider's plans (cheapest first, then slowest: "o mais barato" is the first) and
    answers (``faq``: topic → texts). An empty book answers nothing."""

    plans: tuple[Plan, ...] = ()
    faq: Mapping[str, Texts] = field(default_factory=dict)
    #: topic → language → how customers ask it (what the understanding layer learns)
    questions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: object) -> PlanBook:
        """A book from the file's parsed YAML; ValueError saying what is wrong."""
        try:
            parsed = _BookFile.model_validate(data if data is not None else {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(problems) from None
        plans = [
            Plan(row.id or str(row.speed), row.speed, row.price, row.name, row.notes)
            for row in parsed.plans
        ]
        for attr in ("speed", "id"):
            seen = [getattr(p, attr) for p in plans]
            twice = sorted({str(v) for v in seen if seen.count(v) > 1})
            if twice:
                raise ValueError(f"plans: the {attr} {', '.join(twice)} is used twice")
        faq = {t: e.answer for t, e in parsed.faq.items() if any(e.answer.values())}
        questions: dict[str, dict[str, tuple[str, ...]]] = {}
        for topic, entry in parsed.faq.items():
            asked = {
                lang: tuple(q.strip() for q in qs if q.strip())
                for lang, qs in entry.questions.items()
            }
            few = sorted(lang for lang, qs in asked.items() if len(qs) < MIN_QUESTIONS)
            if topic not in FAQ_TOPICS and few:
                raise ValueError(
                    f"faq.{topic}.questions: at least {MIN_QUESTIONS} ways of asking in "
                    f"{', '.join(few)}"
                )
            if asked:
                questions[topic] = asked
        return cls(tuple(sorted(plans, key=lambda p: (p.price, p.speed))), faq, questions)

    def extra_examples(self) -> dict[str, dict[str, Sequence[str]]]:
        """The questions as the understanding layer's extra examples (``faq_<topic>``): give
        them to :class:`bot.nlu.embedded.EmbeddedUnderstander`'s ``extra_examples``."""
        return {
            f"faq_{topic}": {lang: list(qs) for lang, qs in per_language.items()}
            for topic, per_language in self.questions.items()
        }

    # -- reading ---------------------------------------------------------------------------

    def by_speed(self, speed: str | int) -> Plan | None:
        """The plan of this speed (an entity's value, "300"), or None."""
        try:
            wanted = int(speed)
        except ValueError:
            return None
        return next((p for p in self.plans if p.speed == wanted), None)

    def by_id(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def chosen(self, payload: str | None) -> Plan | None:
        """The plan whose button (:meth:`options`) was chosen, or None."""
        if payload is None or not payload.startswith(PLAN_PREFIX):
            return None
        return self.by_id(payload.removeprefix(PLAN_PREFIX))

    # -- saying ----------------------------------------------------------------------------

    def price(self, plan: Plan, language: str, t: Translate) -> str:
        """``R$ 89,90``, written as ``language`` writes money."""
        amount = format_decimal(plan.price, format="#,##0.00", locale=language)
        return t("plans.money", amount=amount)

    def _said(self, plan: Plan, language: str, t: Translate) -> tuple[str, str, str]:
        """What the texts about a plan fill in: its name, its price, its note (may be empty)."""
        return plan.name(language, t), self.price(plan, language, t), plan.note(language)

    def line(self, plan: Plan, language: str, t: Translate) -> str:
        """One plan as a line of the list: name, price, notes."""
        name, price, note = self._said(plan, language, t)
        if note:
            return t("plans.line.notes", name=name, price=price, notes=note)
        return t("plans.line", name=name, price=price)

    def listing(self, language: str, t: Translate) -> str | None:
        """Every plan with its price, or None when the book has none."""
        if not self.plans:
            return None
        lines = "\n".join(self.line(p, language, t) for p in self.plans)
        return t("plans.list", plans=lines)

    def options(self, language: str, t: Translate) -> list[Button]:
        """The plans as buttons (``plan:<id>``), to choose one."""
        return [
            Button(
                PLAN_PREFIX + p.id,
                t("plans.button", name=p.name(language, t), price=self.price(p, language, t)),
            )
            for p in self.plans
        ]

    def answer(self, understanding: Understanding, language: str, t: Translate) -> str | None:
        """The reply to a price, plans or common question; None when the message asks none of
        them or the book has nothing on it (the caller then does what it would have done)."""
        intent = understanding.intent
        if intent in _PRICE_INTENTS:
            return self._price_answer(understanding.value(EntityKind.PLAN), language, t)
        if intent is not None and intent.startswith("faq_"):
            texts = self.faq.get(intent.removeprefix("faq_"), {})
            return pick(texts, language) or None
        return None

    def _price_answer(self, speed: str | None, language: str, t: Translate) -> str | None:
        listing = self.listing(language, t)
        if listing is None:
            return None
        if speed is None:
            return listing
        plan = self.by_speed(speed)
        if plan is None:
            return t("plans.no_such_speed", speed=speed) + "\n" + listing
        name, price, note = self._said(plan, language, t)
        if note:
            return t("plans.price.notes", name=name, price=price, notes=note)
        return t("plans.price", name=name, price=price)


def load_plan_book(path: Path | str | None) -> PlanBook:
    """The book in the YAML file at ``path``; an empty book when ``path`` is empty or None.

    Raises :class:`ConfigError` naming the file and what is wrong in it."""
    if not path:
        return PlanBook()
    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"OZBOT_PLANS_FILE={where}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"OZBOT_PLANS_FILE={where}: not YAML ({exc})") from None
    try:
        return PlanBook.from_data(data)
    except ValueError as exc:
        raise ConfigError(f"OZBOT_PLANS_FILE={where}: {exc}") from None
