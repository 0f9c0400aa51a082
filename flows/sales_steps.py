"""The sales flow's steps but the address readers (:mod:`flows.address`): the feasibility check,
the confirmations, the unit, the name and CPF, the reservation and the prospect.

Each step reads first what the understander found (:meth:`Turn.take`: a name, a CPF sent with
it, the unit given with the number), then the text. A *correction* ("nao, na verdade é 1500",
"errei, é apto 302", a new address at the summary) changes what it names and confirms again:
an address is found and confirmed anew (what was known after it, name, unit and CPF, is kept
for the states that ask it, so they do not ask again), anything else is noted and the question
asked again (the summary shown again).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.engine import Services, Turn
from bot.engine.dialogue import CHOOSING_KEY
from bot.engine.services import PlanOffer
from bot.messages import Button
from bot.nlu.answers import proper_case
from bot.nlu.base import EntityKind
from bot.nlu.entities import looks_like_unit, unit_kinds
from bot.validation import fold, normalize_cpf
from flows.address import correct_number, read_address, sales
from flows.common import answer
from flows.plan_choice import offered_plans, plans_listed, read_plan
from flows.sales_states import Outcome
from flows.sales_states import State as S

__all__ = [
    "choose_place",
    "chose",
    "confirm_place",
    "correction",
    "keep_known",
    "known_plan",
    "read_cpf",
    "read_name",
    "read_unit",
    "typed_name",
]

O = Outcome  # noqa: E741  # as in the flow's table
K = EntityKind
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_MAX_NAME_WORDS = 6
#: what a message meaning these is not: a name (a greeting's or small talk's low score is
#: often a name misread, "Carla Dias")
_NOT_NAMES = frozenset(
    {"buy", "outage", "cancel", "human", "erase_data", "menu", "stop", "goodbye", "affirm",
     "deny", "ask_price"}
)  # fmt: skip
#: words that point at something said before ("esse entao", "ese mismo", "that one"): no
#: person's name holds one
_POINTING = frozenset(
    {"esse", "essa", "este", "esta", "isso", "isto", "aquele", "aquela", "ese", "esa", "eso",
     "aquel", "this", "that", "those", "these"}
)  # fmt: skip
#: a yes or a no: what starts an answer, never a name
_ANSWER_WORDS = frozenset({"nao", "sim", "no", "yes", "si", "nope", "yep", "ok", "okay"})
#: what a step keeps when the address is corrected after it was confirmed
_KEPT = (("name", K.PERSON_NAME), ("unit", K.UNIT), ("cpf", K.CPF))


def services(turn: Turn) -> Services:
    result: Services = turn.services
    return result


def unit_text(value: str) -> str:
    """A unit as the summary shows it: "apto 302 bloco b" → "Apto 302 Bloco B"."""
    return " ".join(w[:1].upper() + w[1:] for w in value.split())


def unit_said(before: str | None, said: str) -> str:
    """The unit once the customer said ``said`` of it: a part of another kind is added ("ah e é
    bloco c" to "Apto 45" → "Apto 45 Bloco C"), a part of the same kind replaces it ("errei, é
    apto 303" → "Apto 303")."""
    said = unit_text(said)
    if not before or unit_kinds(before) & unit_kinds(said):
        return said
    return f"{before} {said}"


def known_plan(turn: Turn) -> PlanOffer | None:
    """The plan the customer chose (or named on the way), among those offered."""
    chosen = sales(turn).get("plan")
    return next((p for p in offered_plans(turn) if p.id == chosen), None)


def take_plan(turn: Turn) -> None:
    """A plan named on the way ("quanto custa o de 300?", "quero o de 500") fills the slot."""
    speed = turn.fact(K.PLAN)
    plans = offered_plans(turn)
    plan = next((p for p in plans if speed and str(p.speed) == speed), None)
    if plan is not None:
        turn.take(K.PLAN)
        chose(turn, plan)


def chose(turn: Turn, plan: PlanOffer) -> None:
    """The customer chose ``plan``: noted, and the choice among the plans closed."""
    sales(turn)["plan"] = plan.id
    turn.context.pop(CHOOSING_KEY, None)


async def check_feasibility(turn: Turn, place: dict[str, Any]) -> Outcome:
    """OZmap decides (bot.ozmap.sales): the boxes to try, nearest first, or a condominium."""
    data = sales(turn)
    data["place"] = place
    coverage = await services(turn).sales.coverage(
        place["lat"], place["lng"], street=place.get("street"), number=place.get("number")
    )
    data["feasibility"] = coverage.to_context()
    if not coverage.covered:
        if "code" not in data:
            # saved with this turn, before the one that records the prospect: a replay of that
            # one (its lease lost) finds the prospect by this code instead of making another
            data["code"] = await services(turn).sales.new_code(cpf=data.get("cpf"))
        turn.say(turn.t("sales.not_covered"))
        return O.NOT_COVERED
    if coverage.kind == "condominium":
        # its unit first, then the plans: one question at a time, and the unit question's
        # answer ("cobertura", "casa 12") leads on to them (read_unit); a unit already given
        # is read there at once
        turn.say(turn.t("sales.covered"))
        return O.CONDOMINIUM
    unit = turn.take(K.UNIT)
    if unit is not None:  # "n° 900 apto 302 bloco b": a flat in a building on a box
        data["unit"] = unit_text(unit)
    offer_plans(turn, covered=True)
    return O.COVERED


def offer_plans(turn: Turn, *, covered: bool = False) -> None:
    """The plans, said once before the name is asked (the summary's buttons choose one, no
    message more), after "the fibre reaches you" when ``covered``; not when the customer named
    one on the way ("quanto custa o de 300?", "quero o de 500")."""
    take_plan(turn)
    plans = offered_plans(turn)
    lines = [turn.t("sales.covered")] if covered else []
    if plans and known_plan(turn) is None:
        lines.append(plans_listed(turn, plans))
        turn.context[CHOOSING_KEY] = "sales"  # "o mais barato" now chooses among them
    if lines:
        turn.say("\n".join(lines))


def keep_known(turn: Turn) -> None:
    """Keep the name, the unit and the CPF as facts while the address is found anew: the
    states that ask them do not ask again once the new address is confirmed."""
    data = sales(turn)
    for key, kind in _KEPT:
        if data.get(key) and turn.fact(kind) is None:
            turn.keep(kind, data[key])


async def _new_address(turn: Turn, place: Mapping[str, Any] | None) -> Outcome | None:
    """A corrected address in this message: a new one, or another number on the same street."""
    has_address = turn.fact(K.ADDRESS) or turn.fact(K.CEP) or turn.message.location
    number = turn.fact(K.HOUSE_NUMBER)
    if not has_address and number is None:
        return None
    keep_known(turn)
    if has_address or place is None or number is None:
        return await read_address(turn)
    turn.take(K.HOUSE_NUMBER)
    return await correct_number(turn, place, number)


def _noted(turn: Turn, answering: EntityKind | None) -> Outcome | None:
    """A unit, a name or a CPF given where something else is asked: noted, question again."""
    data = sales(turn)
    unit = turn.take(K.UNIT) if answering is not K.UNIT else None
    if unit is not None:
        data["unit"] = unit_said(data.get("unit"), unit)
        turn.say(turn.t("sales.noted", what=data["unit"]))
        return O.CHANGED
    correcting = turn.intent == "correct" or turn.state is S.CONFIRM
    name = turn.take(K.PERSON_NAME) if answering is not K.PERSON_NAME and correcting else None
    if name is not None:
        data["name"] = name
        turn.say(turn.t("sales.noted", what=name))
        return O.CHANGED
    cpf = turn.take(K.CPF) if answering is not K.CPF else None
    if cpf is not None:
        data["cpf"] = cpf
        turn.say(turn.t("sales.noted.cpf"))
        return O.CHANGED
    return None


async def correction(turn: Turn, answering: EntityKind | None = None) -> Outcome | None:
    """What a message correcting an earlier answer changes (None: it corrects nothing)."""
    if turn.understanding is None:
        return None
    moved = await _new_address(turn, sales(turn).get("place"))
    return moved if moved is not None else _noted(turn, answering)


async def confirm_place(turn: Turn) -> Outcome:
    said = answer(turn)
    candidate = sales(turn)["candidates"][0]
    _number_not_plan(turn, said)
    if said not in ("yes", "no") or turn.understanding is not None:
        moved = await _new_address(turn, candidate)
        if moved is not None:
            return moved  # "nao, na verdade é 1500": that one, to confirm
    if said == "yes":
        return await check_feasibility(turn, candidate)
    plan = read_plan(turn, offered_plans(turn)) if said in (None, "no") else None
    if plan is not None and turn.fact(K.PLAN) is not None and turn.fact(K.ADDRESS) is None:
        # "troca pro de 500" before the address is confirmed: the plan kept for later (not
        # listed then), the confirmation again
        turn.say(turn.t("sales.noted", what=plan.label))
        return O.CHANGED
    if said == "no":
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    if turn.message.location is not None or (said is None and _could_be_address(turn)):
        return await read_address(turn)  # a corrected address, sent straight away
    if said is None and turn.text:  # "hã?": the question again, clearly
        t = turn.t
        turn.say(
            t("geo.address_confirm", address=candidate["address"]),
            Button("yes", t("sales.button.right_address")),
            Button("no", t("sales.button.wrong_address")),
        )
        return O.UNCLEAR
    turn.say(turn.t("sales.yes_or_no"))
    return O.UNCLEAR


_PLAN_WORD = re.compile(r"\b(?:plano|plan|pacote|megas?|mb|gigas?|gb)\b|\bde\s+\d", re.IGNORECASE)
_NUMBER_WORD = re.compile(r"\b(?:numero|number|n[uú]mero|n[º°]|casa)\b", re.IGNORECASE)


def _number_not_plan(turn: Turn, said: str | None) -> None:
    """Where the address is confirmed, a number after a change word is the house number, not a
    plan, when it comes with a no ("nao, muda pro 1400"), names the number ("troca pro 500,
    errei o numero") or is no plan offered; "troca pro de 500" alone stays the plan."""
    understood = turn.understanding
    speed = turn.fact(K.PLAN)
    if understood is None or speed is None or turn.fact(K.HOUSE_NUMBER) is not None:
        return
    if understood.value(K.PLAN) != speed:
        return  # a plan asked about before: not this message's
    offered = any(str(p.speed) == speed for p in offered_plans(turn))
    if offered and _PLAN_WORD.search(turn.text) and not _NUMBER_WORD.search(turn.text):
        return  # "nao, muda pro plano de 500": the plan, said so
    if said == "no" or not offered or _NUMBER_WORD.search(turn.text):
        turn.take(K.PLAN)
        turn.keep(K.HOUSE_NUMBER, speed)


def _could_be_address(turn: Turn) -> bool:
    """Whether the message could be an address sent as a correction: a digit, or a street the
    understander found ("hã?", "é ali msm" could not); without an understander, a few letters."""
    text = turn.text
    if not text:
        return False
    if any(ch.isdigit() for ch in text):
        return True
    understood = turn.understanding
    if understood is not None:
        return understood.first(K.ADDRESS) is not None
    return len(_LETTER.findall(text)) >= 3


async def choose_place(turn: Turn) -> Outcome:
    said = answer(turn)
    candidates = sales(turn)["candidates"]
    if said is not None and said.startswith("place:"):
        index = int(said.removeprefix("place:"))
        if 0 <= index < len(candidates):
            return await check_feasibility(turn, candidates[index])
    if said in ("none", "no"):
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    if turn.message.location is not None or turn.text:
        return await read_address(turn)
    turn.say(turn.t("sales.pick_one"))
    return O.UNCLEAR


async def read_unit(turn: Turn) -> Outcome:
    corrected = await correction(turn, K.UNIT)
    if corrected is not None:
        return corrected
    found = turn.take(K.UNIT)
    typed = " ".join(turn.text.split())
    if found is None:
        plan = read_plan(turn, offered_plans(turn))
        if plan is not None:  # "o de 500" where the unit is asked: the plan noted, no unit
            turn.take(K.PLAN)
            chose(turn, plan)
            turn.say(turn.t("sales.noted", what=plan.label))
            return O.CHANGED
    if found is not None and (_bare(typed) != _bare(found) or typed.islower()):
        unit: str | None = unit_text(found)  # "ap. 302 bl b", "casa 12" → "Apto 302 Bloco B"
    elif _free_unit(turn, typed):
        unit = typed  # as written: "Apto 302, Bloco B", "Loja 2"
    else:
        unit = None
    if unit is None:
        turn.say(turn.t("sales.unit_unclear"))
        return O.UNCLEAR
    sales(turn)["unit"] = unit
    offer_plans(turn)
    return O.UNIT_GIVEN


def _free_unit(turn: Turn, typed: str) -> bool:
    """Whether ``typed``, where no unit was found in it, may still be one as written: short,
    with a digit or a unit's word ("Loja 2", "Apto 302, Bloco B"), not a yes or a no ("sim" is
    no flat), not a question, not a name ("paulo henrique costa" is asked again)."""
    understood = turn.understanding
    if not typed or len(typed) > 40 or "?" in typed or not looks_like_unit(typed):
        return False
    return understood is None or understood.first(K.YES_NO) is None


def _bare(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def typed_name(turn: Turn) -> str | None:
    """The name in the message: the one the understander found, else what is left of the text
    once its data (a CPF sent with it) is taken out, when that reads as a name: letters, at
    most six words, no digits, not a question, not a request. In proper case."""
    found = turn.take(K.PERSON_NAME)
    if found is not None:
        return found
    if read_plan(turn, offered_plans(turn)) is not None:
        return None  # "o mais rapido", "o de 300", "fibra 500": a plan, not a name
    understood = turn.understanding
    text = turn.text
    if understood is not None:
        if understood.first(K.YES_NO) is not None or understood.intent in _NOT_NAMES:
            return None  # "sim", "quero contratar", a question: not a name
        if understood.first(K.PLAN) is not None:
            return None  # "o de 300", "the 300 one": a plan, whatever is left of it
        rest = list(text)
        for entity in understood.entities:
            if entity.kind in (K.CPF, K.CNPJ, K.UNIT):  # sent with the name, kept apart
                rest[entity.start : entity.end] = " " * (entity.end - entity.start)
        text = "".join(rest)
    name = " ".join(text.replace(",", " ").split()).strip(" .;:!-")
    if (
        len(_LETTER.findall(name)) < 2
        or fold(name.split()[0]) in _ANSWER_WORDS  # "nao nao, continua o meu primeiro"
        or len(name.split()) > _MAX_NAME_WORDS
        or any(fold(w) in _POINTING for w in name.split())
        or "?" in name
        or (understood is not None and (understood.intent or "").startswith("faq_"))
        or any(ch.isdigit() for ch in name)
    ):
        return None
    if understood is None or (not name.islower() and not name.isupper()):
        return name  # cased by the customer ("Ana McDonald"): as typed
    return proper_case(name)  # "joao pedro alves", "MARIA DA SILVA"


async def _prepare_summary(turn: Turn) -> None:
    # saved with this turn, before the reserve turn: a retried "yes" finds the same code
    take_plan(turn)
    data = sales(turn)
    if "code" not in data:
        data["code"] = await services(turn).sales.new_code(cpf=data.get("cpf"))


async def read_name(turn: Turn) -> Outcome:
    corrected = await correction(turn, K.PERSON_NAME)
    if corrected is not None and corrected is not O.CHANGED:
        return corrected
    data = sales(turn)
    cpf = turn.take(K.CPF)
    if cpf is not None:
        data["cpf"] = cpf  # sent with the name: kept, not asked
    if corrected is not None:
        # "errei, é apto 303", "ah e é bloco c": what is left of a correction ("Errei", "Ah e
        # É") is no name; only a full name the understander found beside it is
        found = turn.take(K.PERSON_NAME)
        name = found if found is not None and len(found.split()) >= 2 else None
    else:
        name = typed_name(turn)
    if name is None:
        if corrected is not None:
            return corrected
        plan = read_plan(turn, offered_plans(turn)) or _pointed_plan(turn)
        if plan is not None:
            # "300", "o de 300", "vou de 500 entao" where the name is asked: the plan chosen (or
            # the one named on the way, said again, or "esse entao" after asking about one),
            # noted; the name again
            turn.take(K.PLAN)
            chose(turn, plan)
            turn.say(turn.t("sales.noted", what=plan.label))
            return O.CHANGED
        turn.say(turn.t("sales.name_unclear"))
        return O.UNCLEAR
    data["name"] = name
    plan = read_plan(turn, offered_plans(turn))
    if plan is not None:  # "meu nome é ana lima e quero o mais barato": both
        chose(turn, plan)
    if services(turn).require_cpf and not data.get("cpf"):
        return O.NEEDS_CPF
    await _prepare_summary(turn)
    return O.NAMED


def _pointed_plan(turn: Turn) -> PlanOffer | None:
    """The plan asked about on the way ("quanto sale el de 500?"), when the message points at
    it ("ese entonces", "esse mesmo") or takes it ("ok I'll take it", "pode ser"); None
    otherwise."""
    pointing = any(fold(w) in _POINTING for w in _WORD.findall(turn.text))
    if not pointing and answer(turn) != "yes":
        return None
    speed = turn.fact(K.PLAN)
    plan = next((p for p in offered_plans(turn) if speed and str(p.speed) == speed), None)
    if plan is not None:
        turn.take(K.PLAN)
    return plan


async def read_cpf(turn: Turn) -> Outcome:
    corrected = await correction(turn, K.CPF)
    if corrected is not None:
        return corrected
    digits = turn.take(K.CPF) or normalize_cpf(turn.text)
    if digits is None:
        turn.say(turn.t("sales.cpf_invalid"))
        return O.UNCLEAR
    sales(turn)["cpf"] = digits
    await _prepare_summary(turn)
    return O.CPF_OK
