"""Cancellation: a customer cancels a port reservation made in this conversation. Cancelling
deletes the OZmap property and its client, which frees the port (OZmap tutorial 004).

Only the reservations this contact made (``context["reservations"]``, recorded by the sales
flow) are offered, and only their codes are ever looked up or deleted: a code typed by the
customer counts only when it is one of them. Any other code, and a contact with no
reservations, gets no deletion and the offer of a person, so nobody can cancel someone else's
reservation by guessing or copying a code. A code whose client is already implanted is an
active customer, not a reservation: a person handles that too. After a confirmation the
property is deleted; one already gone counts as cancelled (a retried "yes" is harmless).
"""

from __future__ import annotations

import contextlib
from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Services, Turn, back_to_menu
from bot.errors import OzmapNotFound
from bot.messages import Button
from flows.common import WORD, looks_like_code
from flows.sales import answer


class State(StrEnum):
    START = "start"
    CHOOSE = "choose"
    CONFIRM = "confirm"
    CANCELLED = "cancelled"
    REFUSED = "refused"


S = State

TRANSITIONS: list[list[Any]] = [
    # trigger      source               dest
    ["start",      S.START,             S.CHOOSE],
    ["found",      S.CHOOSE,            S.CONFIRM],
    ["refused",    S.CHOOSE,            S.REFUSED],
    ["gone",       S.CHOOSE,            S.CANCELLED],
    ["cancelled",  S.CONFIRM,           S.CANCELLED],
    ["unclear",    [S.CHOOSE, S.CONFIRM], None],
]  # fmt: skip

CODE_PREFIX = "code:"


def own_reservations(turn: Turn) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = turn.context.get("reservations", [])
    return found


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


def human_or_menu(turn: Turn) -> tuple[Button, Button]:
    t = turn.t
    return Button("intent:handoff", t("menu.option.human")), Button(
        "intent:menu", t("menu.option.menu")
    )


def short(address: str) -> str:
    return address.split(" - ")[0]


# -- prompts (pure) -----------------------------------------------------------------------------


def begin(turn: Turn) -> None:
    turn.context.pop("cancellation", None)


def choose(turn: Turn) -> None:
    t = turn.t
    reservations = own_reservations(turn)
    if not reservations:
        turn.say(t("cancel.none"), *human_or_menu(turn))
        return
    buttons = [
        Button(CODE_PREFIX + r["code"], f"{r['code']} · {short(r['address'])}")
        for r in reservations
    ]
    turn.say(t("cancel.choose"), *buttons, Button("intent:menu", t("menu.option.menu")))


def confirm(turn: Turn) -> None:
    t = turn.t
    pending = turn.context["cancellation"]
    turn.say(
        t("cancel.confirm", code=pending["code"], address=pending["address"]),
        Button("yes", t("cancel.button.confirm")),
        Button("no", t("cancel.button.keep")),
    )


# -- steps --------------------------------------------------------------------------------------


def _forget_reservation(turn: Turn, code: str) -> None:
    turn.context["reservations"] = [r for r in own_reservations(turn) if r["code"] != code]


async def pick(turn: Turn) -> str:
    code, own = chosen_code(turn)
    if code is None:
        turn.say(turn.t("cancel.unclear"))
        choose(turn)
        return "unclear"
    if not own:
        # not even looked up: whether such a code exists is nobody else's business
        turn.say(turn.t("cancel.not_yours"), *human_or_menu(turn))
        return "refused"
    svc: Services = turn.services
    properties = await svc.ozmap.properties_by_client_code(code)
    record = next(r for r in own_reservations(turn) if r["code"] == code)
    if not properties:
        # one whose answer was lost (bot.ozmap.sales) may never have been made at all
        gone = "cancel.never_made" if record.get("unconfirmed") else "cancel.already_gone"
        _forget_reservation(turn, code)
        turn.say(turn.t(gone, code=code))
        return "gone"
    client = properties[0].client_obj or await svc.ozmap.client_by_code(code)
    if client.implanted:
        turn.say(turn.t("cancel.active_customer", code=code), *human_or_menu(turn))
        return "refused"
    turn.context["cancellation"] = {
        "code": code,
        "property_ids": [p.id for p in properties],
        "address": record["address"],
    }
    return "found"


async def cancel(turn: Turn) -> str | Jump:
    said = answer(turn)
    pending = turn.context["cancellation"]
    code = pending["code"]
    if said == "no":
        turn.say(turn.t("cancel.kept", code=code))
        return Jump("menu")
    if said != "yes":
        turn.say(turn.t("common.yes_or_no"))
        return "unclear"
    svc: Services = turn.services
    for property_id in pending["property_ids"]:
        # deleted meanwhile (an earlier try, or the provider's staff): already done
        with contextlib.suppress(OzmapNotFound):
            await svc.ozmap.delete_property(property_id)
    _forget_reservation(turn, code)
    turn.context.pop("cancellation", None)
    turn.say(turn.t("cancel.done", code=code))
    return "cancelled"


FLOW = FlowSpec(
    name="cancellation",
    summary="cancel a port reservation this contact made, after a confirmation",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={
        S.CHOOSE: pick,
        S.CONFIRM: cancel,
        S.CANCELLED: back_to_menu,
        S.REFUSED: back_to_menu,
    },
    prompts={S.CHOOSE: choose, S.CONFIRM: confirm},
    on_begin=begin,
    resting=frozenset({S.CANCELLED, S.REFUSED}),
)
