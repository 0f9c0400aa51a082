"""The sales flow's last steps: the summary's answer (the reservation, or what the customer
changes there) and the prospect's name where the fibre does not reach yet.

At the summary a yes reserves; a plan named chooses it (and reserves, unless another was chosen
or the message asks to change it: then the summary again); a correction changes what it names;
"nao, o nome ta errado" goes back to the name (the address, the plans likewise).
"""

from __future__ import annotations

import re

from bot.engine import Jump, Turn
from bot.errors import ReservationUnconfirmed
from bot.messages import Button
from bot.nlu.answers import confused, doubts, reassurances
from bot.nlu.base import EntityKind
from bot.nlu.entities import changes_plan
from bot.ozmap.sales import Booking, remember_reservation
from bot.validation import fold
from flows.address import sales
from flows.common import answer
from flows.plan_choice import offered_plans, read_plan
from flows.sales_states import Outcome
from flows.sales_steps import (
    chose,
    correction,
    keep_known,
    known_plan,
    services,
    take_plan,
    typed_name,
    unit_text,
)

__all__ = ["read_prospect_name", "reserve", "wrong_part"]

O = Outcome  # noqa: E741  # as in the flow's table
K = EntityKind
OBSERVATION = "Reserva de porta pelo chatbot ozbot ({channel})"


async def _record_prospect(turn: Turn) -> None:
    take_plan(turn)  # "quero o de 500" where there is no fibre yet: the provider knows it
    data = sales(turn)
    place = data["place"]
    unit = data.get("unit") or (unit_text(u) if (u := turn.take(K.UNIT)) else None)
    await services(turn).sales.record_prospect(
        name=data["name"],
        phone=turn.message.phone or "",
        # "av madre benvenuta 1500 apto 12": the provider knows the flat when the fibre comes
        address=place["address"] + (f" ({unit})" if unit else ""),
        lat=place["lat"],
        lng=place["lng"],
        code=data.get("code"),
        observation=f"plano {data['plan']}" if data.get("plan") else "",
    )


async def reserve(turn: Turn) -> Outcome | Jump:
    said = answer(turn)
    if said == "retry":
        keep_known(turn)  # the name, unit and CPF are not asked again for the new address
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    plans = offered_plans(turn)
    before = known_plan(turn)
    chosen = read_plan(turn, plans)
    if chosen is not None and turn.fact(K.HOUSE_NUMBER) == str(chosen.speed):
        turn.take(K.HOUSE_NUMBER)  # "300" where the plans are offered: the plan, no new number
    corrected = await correction(turn)
    if corrected is not None:
        return corrected  # the summary again, or the new address to confirm
    changing = changes_plan(turn.text)
    if chosen is not None and (
        changing or (chosen != before and (said == "no" or (said is None and before is not None)))
    ):
        # "nao pera, quero o de 1 giga", "quero o de 500" where another plan was chosen, "volta
        # pro de 300", "posso trocar pro de 500?": the plan changed, the summary again (its
        # price is news); "sim, o de 500" reserves it
        chose(turn, chosen)
        turn.say(turn.t("sales.noted", what=chosen.label))
        return O.CHANGED
    wrong = wrong_part(turn.text) if chosen is None and (said == "no" or said is None) else None
    if wrong is not None:
        return _fix(turn, wrong)
    if chosen is not None and said != "no":
        # its button, "o de 500", "o mais barato" among the plans listed: chosen and confirmed
        chose(turn, chosen)
        said = "yes"
    if said == "no":
        turn.say(turn.t("sales.not_reserved"))
        return Jump("menu")
    if said is None and ("?" in turn.text or confused(turn.text) or doubts(turn.text)):
        # "se eu falar sim ja reserva?", "sim o que? nao entendi": what the yes does, the
        # summary again; only a yes said reserves
        turn.say(turn.t("sales.reserve_explained"))
        return O.CHANGED
    if said != "yes":
        turn.say(turn.t("sales.yes_or_no"))
        return O.UNCLEAR
    return await _book(turn)


#: the parts of the summary, as customers name them (folded)
_PARTS = {
    "name": re.compile(r"\b(?:nome|name|nombre)\b"),
    "address": re.compile(r"\b(?:endereco|address|direccion|rua|street|calle|numero|number)\b"),
    "plan": re.compile(r"\b(?:plano|plan|velocidade|speed|velocidad|pacote)\b"),
}
#: what says a part is wrong, beside the no that may lead the message: "o nome ta errado",
#: "the address is wrong", "el nombre esta mal", "quero corrigir o nome"
_WRONG = re.compile(
    r"\b(?:errad[oa]s?|erad[oa]|incorret[oa]|wrong|mal|equivocad[oa]|incorrect[oa]?|"
    r"corrig\w*|corregir|corrija|arrum\w*|fix|correct)\b|\bnao\s+(?:e|eh|ta|esta)\b|"
    r"\bnot\s+(?:right|correct|mine)\b|\bno\s+es\b"
)


def wrong_part(text: str) -> str | None:
    """The one part of the summary the message says is wrong ("nao, o nome ta errado": the
    name; "o endereço está errado": the address; "the plan is wrong": the plan), or None."""
    calm = list(text)
    for at, to in reassurances(text):  # "endereco nao ta errado, pode seguir": nothing wrong
        calm[at:to] = " " * (to - at)
    folded = fold("".join(calm))
    if not _WRONG.search(folded) and not folded.startswith(("nao", "no ", "no,", "nope")):
        return None
    named = [part for part, pattern in _PARTS.items() if pattern.search(folded)]
    return named[0] if len(named) == 1 else None


def _fix(turn: Turn, part: str) -> Outcome:
    """Back to the question whose answer the customer says is wrong, what else is known kept."""
    data = sales(turn)
    turn.say(turn.t("sales.retry"))
    if part == "name":
        data.pop("name", None)
        return O.FIX_NAME
    if part == "address":
        keep_known(turn)
        return O.RETRY
    data.pop("plan", None)  # the summary again, listing the plans to choose from
    return O.CHANGED


async def _book(turn: Turn) -> Outcome:
    svc = services(turn)
    data = sales(turn)
    code: str = data["code"]
    place = data["place"]
    address = place["address"] + (f" ({data['unit']})" if data.get("unit") else "")
    booking = Booking(
        code=code,
        name=data["name"],
        lat=place["lat"],
        lng=place["lng"],
        address=address,
        observation=OBSERVATION.format(channel=turn.message.channel)
        + (f" · plano {data['plan']}" if data.get("plan") else ""),
        cpf=data.get("cpf"),  # into OZmap only where the provider opted in
    )
    try:
        # an earlier attempt that got through (its answer lost) is found by the code, not redone
        created = await svc.sales.reserve(booking, data["feasibility"]["boxes"])
    except ReservationUnconfirmed:
        # OZmap may hold it: kept as this contact's, so "sim" checks again and "cancelar" finds it
        remember_reservation(turn.context, code=code, address=address, at=svc.clock())
        turn.say(
            turn.t("sales.reservation_unconfirmed", code=code),
            Button("yes", turn.t("sales.button.check_again")),
            Button("intent:cancel", turn.t("menu.option.cancel")),
        )
        return O.UNCLEAR
    if created is None:
        await _record_prospect(turn)
        return O.PORTS_GONE
    remember_reservation(
        turn.context, code=code, address=address, at=svc.clock(), property_id=created.id
    )
    return O.RESERVED


async def read_prospect_name(turn: Turn) -> Outcome | Jump:
    said = answer(turn)
    if said == "no":
        turn.say(turn.t("sales.prospect_declined"))
        return Jump("menu")
    name = typed_name(turn)
    if name is None:
        # "pode sim, me avisa": the yes to recording it; the name is what is missing
        turn.say(turn.t("sales.ask_name" if said == "yes" else "sales.name_unclear"))
        return O.UNCLEAR
    sales(turn)["name"] = name
    await _record_prospect(turn)
    return O.RECORDED
