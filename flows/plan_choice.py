"""Choosing a plan, for a flow that offers the provider's plans (the sales flow, to a covered
customer): the question with one button per plan, and which plan a message chose.

The plans are ``Services.answers.plans(language)`` (:class:`bot.engine.services.PlanOffer`,
cheapest first). A message chooses one by its button (``plan:<id>``, a typed number resolved to
it by the engine), by speed ("300", "o de 300", "500 mega", "1 giga": the understander's PLAN
entity, or a number in the text), by its label typed out, or by "o mais barato" / "o mais
rápido" (and their en/es forms).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.engine import Services, Turn
from bot.engine.services import PlanOffer
from bot.messages import Button
from bot.nlu.base import EntityKind
from bot.nlu.entities import overlaps, put_off
from bot.validation import fold

__all__ = [
    "PLAN_PREFIX",
    "list_plans",
    "offered_plans",
    "plan_buttons",
    "plan_by_rank",
    "plans_listed",
    "read_plan",
]

#: the payload of a plan's button
PLAN_PREFIX = "plan:"

_CHEAPEST = re.compile(r"\b(mais barat[oa]|mais em conta|menor pre[cç]o|cheapest|mas barat[oa])\b")
_FASTEST = re.compile(r"\b(mais rapid[oa]|mais veloz|maior velocidade|fastest|mas rapid[oa])\b")
_SPEED = re.compile(r"\b(\d{2,4})\s*(mega|megas|mb|mbps|m)?\b")
#: what, said right before a plan, means it is not the one wanted: "cancela o de 1 giga", "nao
#: quero o de 300", "instead of the 500", "en vez del de 300"
_UNWANTED = re.compile(
    # (not a bare "no": in Portuguese "no" is "in the", "quero ficar no de 300")
    r"\b(?:cancela\w*|tira\w*|nao|não|sem|menos|not|instead\s+of|rather\s+than|sin|"
    r"no\s+(?:quiero|want|me\s+gusta)|"
    r"em\s+vez\s+d[oae]|ao\s+inv[eé]s\s+d[oae]|en\s+vez\s+de|en\s+lugar\s+de)"
    r"(?:\s+\w+){0,3}\s*$",
    re.IGNORECASE,
)
_BEFORE = 30  # characters looked at before a plan for what unwants it
#: a no right after a plan gives it up: "o de 300 nao, o de 500", "o mais barato não"
_NOT_AFTER = re.compile(r"[\s,]*(?:nao|não|not)\b", re.IGNORECASE)
_GIGA = re.compile(r"\b(\d)\s*(giga|gigas|gig|gigs|gb|gbps|g)\b")


def offered_plans(turn: Turn) -> Sequence[PlanOffer]:
    """The plans to offer in the customer's language; empty when the provider lists none (then
    no plan is asked)."""
    svc: Services = turn.services
    if svc.answers is None:
        return ()
    return svc.answers.plans(turn.language)


def plans_listed(turn: Turn, plans: Sequence[PlanOffer]) -> str:
    """The plans as the bot lists them: a line each, under "these are our plans"."""
    return turn.t("plans.list", plans="\n".join(f"• {p.label}" for p in plans))


def list_plans(turn: Turn) -> None:
    """Say the plans offered (nothing when the provider lists none): what a sale answers to
    "quais as opcoes?"."""
    plans = offered_plans(turn)
    if plans:
        turn.say(plans_listed(turn, plans))


def plan_buttons(plans: Sequence[PlanOffer]) -> list[Button]:
    return [Button(PLAN_PREFIX + p.id, p.label) for p in plans]


def _by_speed(plans: Sequence[PlanOffer], speed: int) -> PlanOffer | None:
    return next((p for p in plans if p.speed == speed), None)


def _unwanted(text: str, start: int, end: int) -> bool:
    """Whether what ``text[start:end]`` names is given up ("nao quero o de 300", "cancela o de
    1 giga", "o mais barato nao") or put off ("talvez eu mude pro mais rapido depois")."""
    return bool(
        _UNWANTED.search(text[max(0, start - _BEFORE) : start])
        or _NOT_AFTER.match(text, end)
        or overlaps(start, end, put_off(text))  # "talvez eu mude pro de 500 depois": not now
    )


def _speeds_in(text: str) -> list[int]:
    """The speeds the text names and does not give up ("nao quero o de 300": none)."""
    folded = fold(text)
    found = [
        (m.start(), int(m.group(1)) * 1000)
        for m in _GIGA.finditer(folded)
        if not _unwanted(folded, m.start(), m.end())
    ]
    found += [
        (m.start(), int(m.group(1)))
        for m in _SPEED.finditer(folded)
        if not _unwanted(folded, m.start(), m.end())
    ]
    return [speed for _, speed in sorted(found)]


def plan_by_rank(turn: Turn, plans: Sequence[PlanOffer]) -> PlanOffer | None:
    """The plan the message names by its rank: "o mais barato" (the first), "o mais rápido"
    (the fastest), the last one named that is not given up ("o mais barato nao, quero o mais
    rapido"); None when it names none so."""
    text = fold(turn.text)
    if not plans or not text:
        return None
    with_speed = [p for p in plans if p.speed is not None]
    named = [
        (m.start(), plans[0])
        for m in _CHEAPEST.finditer(text)
        if not _unwanted(text, m.start(), m.end())
    ]
    if with_speed:
        fastest = max(with_speed, key=lambda p: p.speed or 0)
        named += [
            (m.start(), fastest)
            for m in _FASTEST.finditer(text)
            if not _unwanted(text, m.start(), m.end())
        ]
    return max(named, key=lambda found: found[0])[1] if named else None


def read_plan(turn: Turn, plans: Sequence[PlanOffer]) -> PlanOffer | None:
    """The plan the message chose among ``plans``, or None when it chose none of them."""
    if not plans:
        return None
    button = turn.button
    if button is not None:
        wanted = button.removeprefix(PLAN_PREFIX) if button.startswith(PLAN_PREFIX) else None
        return next((p for p in plans if p.id == wanted), None)
    if turn.understanding is not None:
        said = turn.message.text or ""  # the entities' spans are in the text as sent
        named = [
            plan
            for entity in turn.understanding.all(EntityKind.PLAN)
            if entity.value.isdigit()
            and not _unwanted(said, entity.start, entity.end)
            and (plan := _by_speed(plans, int(entity.value)))
        ]
        if named:
            # "cancela o de 1 giga, prefiro o de 500": the one not unwanted, the last said
            return named[-1]
    text = fold(turn.text)
    if not text:
        return None
    ranked = plan_by_rank(turn, plans)
    if ranked is not None:
        return ranked
    for speed in _speeds_in(turn.text):
        if plan := _by_speed(plans, speed):
            return plan
    return next((p for p in plans if fold(p.label).startswith(text) and len(text) >= 4), None)
