"""Cancellation: a customer cancels a port reservation made in this conversation. Cancelling
deletes the OZmap property and its client, which frees the port (OZmap tutorial 004).

Only the reservations this contact made (:func:`bot.ozmap.sales.reservations`, recorded by
the sales flow) are offered, and only their codes are ever looked up or deleted: a code typed by the
customer counts only when it is one of them. Any other code, and a contact with no
reservations, gets no deletion and the offer of a person, so nobody can cancel someone else's
reservation by guessing or copying a code. A code whose client is already implanted is an
active customer, not a reservation: a person handles that too. After a confirmation the
property is deleted; one already gone counts as cancelled (a retried "yes" is harmless).

The customer chooses one of the reservations listed, then confirms. With only one listed, a yes
to the list is both ("desisti, quero cancelar minha reserva" → the list of one → "sim pode
cancelar" cancels it), and a no keeps it.
"""

from __future__ import annotations

import contextlib
import re
from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Row, Services, Turn, back_to_menu
from bot.errors import OzmapNotFound
from bot.messages import Button
from bot.nlu.answers import yes_no
from bot.nlu.base import Expect
from bot.ozmap.models import Property
from bot.ozmap.sales import forget_reservation, reservations
from bot.validation import fold
from flows.common import CODE_PREFIX, WORD, answer, human_and_menu, looks_like_code, menu_button


class State(StrEnum):
    START = "start"
    CHOOSE = "choose"
    CONFIRM = "confirm"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class Outcome(StrEnum):
    START = "start"
    FOUND = "found"  # one of this contact's reservations, still in OZmap: confirm it
    REFUSED = "refused"  # not this contact's, or already installed: a person's job
    GONE = "gone"  # no longer in OZmap: nothing to do
    CANCELLED = "cancelled"
    UNCLEAR = "unclear"


S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names

TRANSITIONS: list[list[Any]] = [
    # outcome       source                 dest
    [O.START,       S.START,               S.CHOOSE],
    [O.FOUND,       S.CHOOSE,              S.CONFIRM],
    [O.REFUSED,     S.CHOOSE,              S.REFUSED],
    [O.GONE,        S.CHOOSE,              S.CANCELLED],
    [O.CANCELLED,   [S.CHOOSE, S.CONFIRM], S.CANCELLED],
    [O.UNCLEAR,     [S.CHOOSE, S.CONFIRM], None],
]  # fmt: skip


def own_reservations(turn: Turn) -> list[dict[str, Any]]:
    return reservations(turn.context)


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def chosen_code(turn: Turn) -> tuple[str | None, bool]:
    """``(code, own)``: the code the customer chose or typed, and whether it is one of this
    contact's reservations (the saved spelling is returned for those)."""
    mine = [r["code"] for r in own_reservations(turn)]
    if turn.button is not None and turn.button.startswith(CODE_PREFIX):
        candidates = [turn.button.removeprefix(CODE_PREFIX)]
    else:
        candidates = [w for w in WORD.findall(turn.text) if looks_like_code(w)]
    for word in candidates:
        match = next((code for code in mine if _same(code, word)), None)
        if match is not None:
            return match, True
    return (candidates[0], False) if candidates else (None, False)


def short(address: str) -> str:
    return address.split(" - ")[0]


# -- what the bot says on entering a state (pure) ------------------------------------------------


def begin(turn: Turn) -> None:
    turn.context.pop("cancellation", None)


def _ask_to_confirm(turn: Turn, code: str, address: str) -> None:
    t = turn.t
    turn.say(
        t("cancel.confirm", code=code, address=address),
        Button("yes", t("cancel.button.confirm")),
        Button("no", t("cancel.button.keep")),
    )


def choose(turn: Turn) -> None:
    t = turn.t
    reservations = own_reservations(turn)
    if not reservations:
        turn.say(t("cancel.none"), *human_and_menu(turn))
        return
    buttons = [
        Button(CODE_PREFIX + r["code"], f"{r['code']} · {short(r['address'])}")
        for r in reservations
    ]
    turn.say(t("cancel.choose"), *buttons, menu_button(turn))


def confirm(turn: Turn) -> None:
    pending = turn.context["cancellation"]
    _ask_to_confirm(turn, pending["code"], pending["address"])


# -- steps --------------------------------------------------------------------------------------


def _forget_reservation(turn: Turn, code: str) -> None:
    forget_reservation(turn.context, code)


def _kept(turn: Turn, code: str) -> Jump:
    turn.say(turn.t("cancel.kept", code=code))
    return Jump("menu")


def _is_the_reservation(prop: Property, record: dict[str, Any]) -> bool:
    """Whether ``prop`` is the one this contact's reservation ``record`` made: its id, or, for
    one whose answer was lost (no id known), the address the bot sent OZmap."""
    if record.get("property_id"):
        return bool(prop.id == record["property_id"])
    return fold(prop.address) == fold(str(record.get("address", "")))


async def _look_up(turn: Turn, code: str) -> Outcome:
    """FOUND (what to delete kept in the context), GONE or REFUSED, for one of this contact's
    own codes."""
    svc: Services = turn.services
    record = next(r for r in own_reservations(turn) if r["code"] == code)
    # only the property this contact's reservation made: a code handed out twice (a counter
    # started again, a template shared by two systems) also names another client's
    properties = [
        p for p in await svc.ozmap.properties_by_client_code(code) if _is_the_reservation(p, record)
    ]
    if not properties:
        # one whose answer was lost (bot.ozmap.sales) may never have been made at all
        gone = "cancel.never_made" if record.get("unconfirmed") else "cancel.already_gone"
        _forget_reservation(turn, code)
        turn.say(turn.t(gone, code=code))
        return O.GONE
    client = properties[0].client_obj or await svc.ozmap.client_by_code(code)
    if client.implanted:
        turn.say(turn.t("cancel.active_customer", code=code), *human_and_menu(turn))
        return O.REFUSED
    turn.context["cancellation"] = {
        "code": code,
        "property_ids": [p.id for p in properties],
        "address": record["address"],
    }
    return O.FOUND


async def _delete(turn: Turn) -> Outcome:
    svc: Services = turn.services
    pending = turn.context["cancellation"]
    code = pending["code"]
    for property_id in pending["property_ids"]:
        # deleted meanwhile (an earlier try, or the provider's staff): already done
        with contextlib.suppress(OzmapNotFound):
            await svc.ozmap.delete_property(property_id)
    _forget_reservation(turn, code)
    turn.context.pop("cancellation", None)
    turn.say(turn.t("cancel.done", code=code))
    return O.CANCELLED


#: what keeps a reservation, whatever else is said ("vou manter a reserva", "deixa quieto",
#: "i'll keep it", "me quedo con la reserva"), folded
_KEEPS = re.compile(
    r"\b(?:manter|mantenho|mantem|vou ficar com|fico com|deixa quieto|deixa assim|pode deixar|"
    r"keep|keeping|mantener|mantengo|me quedo con|dejala|dejalo)\b"
)


def _keeps(turn: Turn) -> bool:
    return turn.button is None and "?" not in turn.text and bool(_KEEPS.search(fold(turn.text)))


async def pick(turn: Turn) -> Outcome | Jump:
    reservations = own_reservations(turn)
    said = answer(turn)
    if said is None and _keeps(turn):
        said = "no"  # "ah entao nao, deixa quieto, vou manter a reserva": nothing cancelled
    if said == "no" and len(reservations) > 1:
        turn.say(turn.t("cancel.kept_all"))
        return Jump("menu")
    if len(reservations) == 1 and said is None:
        # read as the answer to a yes-or-no question, which a list of one is: "sim pode
        # cancelar" (the understander, reading a choice, sees the cancel intent in it)
        entity = yes_no(turn.text, asked=True)
        said = entity.value if entity is not None else None
    if len(reservations) == 1 and said in ("yes", "no"):
        # one listed: "sim" can only mean that one, and is the confirmation too
        only: str = reservations[0]["code"]
        if said == "no":
            return _kept(turn, only)
        found = await _look_up(turn, only)
        return await _delete(turn) if found is O.FOUND else found
    code, own = chosen_code(turn)
    if code is None:
        turn.say(turn.t("cancel.unclear"))
        choose(turn)
        return O.UNCLEAR
    if not own:
        # not even looked up: whether such a code exists is nobody else's business
        turn.say(turn.t("cancel.not_yours"), *human_and_menu(turn))
        return O.REFUSED
    return await _look_up(turn, code)


async def cancel(turn: Turn) -> Outcome | Jump:
    said = answer(turn)
    if said == "no":
        return _kept(turn, turn.context["cancellation"]["code"])
    if said != "yes":
        turn.say(turn.t("common.yes_or_no"))
        return O.UNCLEAR
    return await _delete(turn)


ROWS = [
    #   state          says     expects          step
    Row(S.CHOOSE,      choose,  Expect.OPTION,   pick),
    Row(S.CONFIRM,     confirm, Expect.YES_NO,   cancel),
    Row(S.CANCELLED,   rests=True, step=back_to_menu),
    Row(S.REFUSED,     rests=True, step=back_to_menu),
]  # fmt: skip

FLOW = FlowSpec(
    name="cancellation",
    summary="cancel a port reservation this contact made, after a confirmation",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
    on_begin=begin,
)
