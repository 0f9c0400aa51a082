"""Outage: "estou sem internet", "tem queda de internet aqui na minha rua?". Is there a known
mass outage where the customer is?

Few customers know an OZmap client code, so the bot asks where they are: an address (typed, or a
CEP and the number), a location pin, or a code. This contact's own codes (its reservations,
which become installations) are offered as buttons.

* **A place** (:mod:`flows.outage_place` finds it): OZmap is asked about the point, not about a
  client (:meth:`bot.ozmap.outage.OutageReader.area`): an outage tag on a region around it, on the
  gated community it is in, on a building standing at it or on the nearest box that can serve it
  is a known outage; one on another box in reach may be theirs;
  no box in reach means the provider's network is not there (the address may be wrong).
* **The contact's own code**: the client's property and its tags (client, property, box,
  splitter port, region: :meth:`~bot.ozmap.outage.OutageReader.status`): a known outage; else a
  client in ERROR is a problem on the connection; a reservation is not installed yet; else
  troubleshooting.
* **A typed code that is not this contact's** could be anybody's, so the answer tells nothing
  about it: a mass outage where it is (what anyone asking by address learns), or else one and
  the same reply whether the code is unknown, a pending reservation, in error or fine (issue 10
  item 8).

A known outage: the team is on it (and, when the provider wants it, a person is called). Every
other answer offers a person. The bot never repeats a name or an address from OZmap; OZmap down:
the engine's honest message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Row, Services, Turn, back_to_menu
from bot.errors import OzmapUnavailable
from bot.nlu.base import Expect
from bot.ozmap.outage import OutageReader
from bot.ozmap.sales import reservations
from flows.common import code_buttons, human_and_menu, menu_button, offer_places
from flows.outage_place import (
    PlaceFound,
    choose_place,
    code_in,
    geocoded,
    outage_data,
    read_number,
    read_place,
    talks_of_a_code,
)


class State(StrEnum):
    START = "start"
    ASK_WHERE = "ask_where"
    ASK_NUMBER = "ask_number"
    CHOOSE_PLACE = "choose_place"
    NO_NETWORK = "no_network"  # said so; another place (or a code) may follow
    OUTAGE = "outage"
    MAYBE_OUTAGE = "maybe_outage"
    PROBLEM = "problem"
    NOT_INSTALLED = "not_installed"
    TROUBLESHOOT = "troubleshoot"


class Outcome(StrEnum):
    START = "start"
    OUTAGE = "outage"
    MAYBE_OUTAGE = "maybe_outage"
    PROBLEM = "problem"
    NOT_INSTALLED = "not_installed"
    NO_OUTAGE = "no_outage"
    NEEDS_NUMBER = "needs_number"
    AMBIGUOUS = "ambiguous"
    NO_NETWORK = "no_network"
    RETRY = "retry"  # none of the places offered, or the contact's code is gone: where, again
    UNCLEAR = "unclear"


S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names
#: states where the customer may say where they are (or type a code)
ASKING = [S.ASK_WHERE, S.ASK_NUMBER, S.CHOOSE_PLACE, S.NO_NETWORK]
#: states with the answer given; the next message goes back to the menu
ANSWERED = [S.OUTAGE, S.MAYBE_OUTAGE, S.PROBLEM, S.NOT_INSTALLED, S.TROUBLESHOOT]

TRANSITIONS: list[list[Any]] = [
    # outcome           source          dest
    [O.START,           S.START,        S.ASK_WHERE],
    [O.OUTAGE,          ASKING,         S.OUTAGE],
    [O.MAYBE_OUTAGE,    ASKING,         S.MAYBE_OUTAGE],
    [O.PROBLEM,         ASKING,         S.PROBLEM],
    [O.NOT_INSTALLED,   ASKING,         S.NOT_INSTALLED],
    [O.NO_OUTAGE,       ASKING,         S.TROUBLESHOOT],
    [O.NEEDS_NUMBER,    ASKING,         S.ASK_NUMBER],
    [O.AMBIGUOUS,       ASKING,         S.CHOOSE_PLACE],
    [O.NO_NETWORK,      ASKING,         S.NO_NETWORK],
    # the step said why; from the first question it is not asked twice
    [O.RETRY,           S.ASK_WHERE,    None],
    [O.RETRY,           [S.ASK_NUMBER, S.CHOOSE_PLACE, S.NO_NETWORK],
                                        S.ASK_WHERE],
    [O.UNCLEAR,         ASKING,         None],
]  # fmt: skip

#: how many of this contact's codes are offered as buttons (the latest)
SHOWN_CODES = 3


def own_codes(turn: Turn) -> list[str]:
    """The client codes of this contact: its reservations, latest first."""
    codes = [r["code"] for r in reservations(turn.context)]
    return list(dict.fromkeys(reversed(codes)))


def reader(turn: Turn) -> OutageReader:
    svc: Services = turn.services
    if svc.outages is None:
        raise OzmapUnavailable("no outage reader was configured in Services")
    return svc.outages


# -- what the bot says on entering a state (pure) ------------------------------------------------


def begin(turn: Turn) -> None:
    turn.context["outage"] = {}  # a new question: no place from an earlier one


def ask_where(turn: Turn) -> None:
    outage_data(turn).pop("candidates", None)
    codes = own_codes(turn)[:SHOWN_CODES]
    if codes:
        turn.say(turn.t("outage.ask_where.known"), *code_buttons(codes), ask_location=True)
    else:
        turn.say(turn.t("outage.ask_where"), ask_location=True)


def ask_number(turn: Turn) -> None:
    turn.say(turn.t("geo.ask_number", street=outage_data(turn)["cep"]["street"]))


def offer_candidates(turn: Turn) -> None:
    candidates = outage_data(turn)["candidates"]
    offer_places(turn, candidates, turn.t("outage.button.none_of_these"))


# -- answers -------------------------------------------------------------------------------------


def _known_outage(turn: Turn, lead: str | None = None) -> Outcome | Jump:
    text = turn.t("outage.known") if lead is None else f"{lead}\n{turn.t('outage.known')}"
    if turn.services.outage_handoff:
        turn.say(text)
        return Jump("handoff")
    turn.say(text, menu_button(turn))
    return O.OUTAGE


async def check_place(turn: Turn, place: dict[str, Any]) -> Outcome | Jump:
    """The answer for a point: a region or the nearest box tagged, another box in reach tagged,
    no network in reach, or nothing known."""
    svc: Services = turn.services
    status = await reader(turn).area(place["lat"], place["lng"], svc.radius)
    lead = turn.t("outage.place_checked", address=place["address"])
    if status.outage:
        return _known_outage(turn, lead)
    if status.boxes == 0:
        turn.say(turn.t("outage.no_network", address=place["address"]), *human_and_menu(turn))
        return O.NO_NETWORK
    if status.tagged_nearby:
        turn.say(f"{lead}\n{turn.t('outage.nearby')}", *human_and_menu(turn))
        return O.MAYBE_OUTAGE
    turn.say(f"{lead}\n{turn.t('outage.troubleshoot')}", *human_and_menu(turn))
    return O.NO_OUTAGE


def _own_spelling(turn: Turn, code: str) -> str | None:
    """The saved spelling of ``code`` when it is one of this contact's ("ozb-7kq2mx" typed)."""
    folded = code.strip().casefold()
    return next((c for c in own_codes(turn) if c.casefold() == folded), None)


async def check_code(turn: Turn, typed: str) -> Outcome | Jump:
    own = _own_spelling(turn, typed)
    code = own or typed
    if own is None:
        status = await reader(turn).status(code)
    else:
        # the property this contact's reservation made, not any other holding the code
        made = next(r for r in reservations(turn.context) if r["code"] == own)
        status = await reader(turn).status(
            code, property_id=made.get("property_id"), address=made.get("address")
        )
    if own is None:
        if status is not None and status.outage:
            return _known_outage(turn)
        # somebody else's code, or none at all: the same words either way
        turn.say(turn.t("outage.code_checked", code=code), *human_and_menu(turn))
        return O.NO_OUTAGE
    if status is None:  # one of this contact's reservations, since removed from OZmap
        turn.say(turn.t("outage.unknown_code", code=code), *human_and_menu(turn))
        return O.RETRY
    if status.outage:
        return _known_outage(turn)
    if not status.implanted:
        turn.say(turn.t("outage.not_installed", code=code), *human_and_menu(turn))
        return O.NOT_INSTALLED
    if status.error:
        turn.say(turn.t("outage.problem"), *human_and_menu(turn))
        return O.PROBLEM
    turn.say(turn.t("outage.troubleshoot"), *human_and_menu(turn))
    return O.NO_OUTAGE


async def _answer(turn: Turn, found: PlaceFound) -> Outcome | Jump:
    if isinstance(found, dict):
        return await check_place(turn, found)
    return O(found)


# -- steps ---------------------------------------------------------------------------------------


async def where(turn: Turn) -> Outcome | Jump:
    """A code (a button, or typed), else a place: a pin, coordinates, a CEP, an address."""
    code = code_in(turn)
    if code is not None:
        return await check_code(turn, code)
    if turn.message.location is None and talks_of_a_code(turn):
        # "n sei meu codigo": few customers know one, and it is not needed
        turn.say(turn.t("outage.no_code"), ask_location=True)
        return O.RETRY
    return await _answer(turn, await read_place(turn))


async def number(turn: Turn) -> Outcome | Jump:
    return await _answer(turn, await read_number(turn))


async def choose(turn: Turn) -> Outcome | Jump:
    return await _answer(turn, await choose_place(turn))


ROWS = [
    #   state            says           expects           step
    Row(S.ASK_WHERE,     ask_where,     Expect.ADDRESS,   where),
    Row(S.ASK_NUMBER,    ask_number,    Expect.NUMBER,    number),
    Row(S.CHOOSE_PLACE,  offer_candidates, Expect.OPTION, choose),
    Row(S.NO_NETWORK,    None,          Expect.ADDRESS,   where),
    *(Row(state, rests=True, step=back_to_menu) for state in ANSWERED),
]  # fmt: skip

FLOW = FlowSpec(
    name="outage",
    summary="a known mass outage where the customer is (by address, pin or code), a problem "
    "on the connection, or troubleshooting",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
    on_begin=begin,
    lookups=geocoded,
)
