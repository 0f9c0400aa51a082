"""The pure routing function, as tables: what a customer types → which flow, from where."""

from __future__ import annotations

import pytest

from bot.conversation import Conversation
from bot.engine import normalize, route
from bot.engine.repair import Situation, carries_answer, decide, looks_like_question
from bot.engine.routing import BUTTONS_KEY, Move
from bot.messages import Inbound, Location
from bot.nlu.base import Entity, EntityKind, Expect, Understanding
from flows import INTENTS


def conversation(
    flow: str = "menu", state: str = "start", buttons: list[list[str]] | None = None
) -> Conversation:
    c = Conversation.new("test", "5548999990000")
    c.flow, c.state = flow, state
    if buttons is not None:
        c.context[BUTTONS_KEY] = buttons
    return c


def says(text: str) -> Inbound:
    return Inbound(channel="test", contact="5548999990000", text=text)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Olá, MENU!", "ola menu"),
        ("  Quero   CONTRATAR  ", "quero contratar"),
        ("Não tenho conexão…", "nao tenho conexao"),
        ("/start", "/start"),
        ("Sem-Internet", "sem internet"),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


@pytest.mark.parametrize(
    ("text", "flow", "intent"),
    [
        ("quero contratar", "sales", "sales"),
        ("Quero CONTRATAR internet", "sales", "sales"),
        ("quiero contratar", "sales", "sales"),
        ("I want to sign up", "sales", "sales"),
        ("tem cobertura na minha rua?", "sales", "sales"),
        ("atendente", "handoff", "handoff"),
        ("quero falar com um HUMANO", "handoff", "handoff"),
        ("talk to an agent please", "handoff", "handoff"),
        ("cancelar", "cancellation", "cancel"),
        ("estou sem internet", "outage", "outage"),
        ("Sem conexão desde ontem", "outage", "outage"),
        ("Quero apagar meus dados, por favor", "privacy", "privacy"),
        ("menu", "menu", "menu"),
        ("Oi!", "menu", "menu"),
        ("olá", "menu", "menu"),
        ("/start", "menu", "menu"),
        ("Hola", "menu", "menu"),
    ],
)
def test_global_intents_jump_from_anywhere(text: str, flow: str, intent: str) -> None:
    for where in [("menu", "choosing"), ("sales", "ask_name"), ("sales", "confirm")]:
        routed = route(conversation(*where), says(text), INTENTS)
        assert (routed.flow, routed.restart, routed.intent) == (flow, True, intent), where


@pytest.mark.parametrize(
    "text",
    [
        "Rua Delminda Silveira, 900",
        "cobertura",  # a penthouse, when asked for the unit
        "oi, meu nome é Ana",  # greetings count only as the whole message
        "Humberto Cancellara",
        "88025-500",
    ],
)
def test_ordinary_answers_stay_in_the_flow(text: str) -> None:
    routed = route(conversation("sales", "ask_address"), says(text), INTENTS)
    assert (routed.flow, routed.restart, routed.intent) == ("sales", False, None)
    assert routed.message.text == text


OFFERED = [
    ["yes", "Sim, é esse"],
    ["no", "Não, corrigir"],
    ["intent:handoff", "Falar com atendente"],
]


@pytest.mark.parametrize(
    ("typed", "button"),
    [
        ("1", "yes"),
        (" 2 ", "no"),
        ("2.", "no"),
        ("sim, é esse", "yes"),  # the label typed out
        ("4", None),  # beyond the options: stays text (could be a house number)
        ("0", None),
        ("900", None),
    ],
)
def test_typed_number_or_label_picks_the_offered_option(typed: str, button: str | None) -> None:
    routed = route(conversation("sales", "confirm_address", OFFERED), says(typed), INTENTS)
    assert routed.message.button == button
    assert routed.message.text == typed


def test_typed_number_of_an_intent_option_follows_the_intent() -> None:
    routed = route(conversation("sales", "confirm_address", OFFERED), says("3"), INTENTS)
    assert (routed.flow, routed.restart, routed.intent) == ("handoff", True, "handoff")


def test_numbers_mean_nothing_when_no_options_were_offered() -> None:
    routed = route(conversation("sales", "ask_number"), says("2"), INTENTS)
    assert routed.message.button is None
    assert (routed.flow, routed.restart) == ("sales", False)


@pytest.mark.parametrize(
    ("payload", "flow", "restart"),
    [("intent:sales", "sales", True), ("intent:handoff", "handoff", True), ("yes", "sales", False)],
)
def test_tapped_buttons(payload: str, flow: str, restart: bool) -> None:
    tapped = Inbound(channel="test", contact="1", button=payload)
    routed = route(conversation("sales", "confirm_address"), tapped, INTENTS)
    assert (routed.flow, routed.restart) == (flow, restart)


def test_unknown_intent_payload_is_not_an_intent() -> None:
    tapped = Inbound(channel="test", contact="1", button="intent:nonexistent")
    assert route(conversation("sales", "confirm"), tapped, INTENTS).restart is False


@pytest.mark.parametrize(
    ("message", "flow", "restart"),
    [
        (says("quero contratar"), "handoff", False),  # a person is on it: the bot keeps quiet
        (says("atendente"), "handoff", False),
        (says("1"), "handoff", False),
        (Inbound(channel="test", contact="1", location=Location(-27.5, -48.5)), "handoff", False),
        (says("menu"), "menu", True),  # the one way back
        (says("Oi"), "menu", True),
    ],
)
def test_in_handoff_only_the_menu_is_heard(message: Inbound, flow: str, restart: bool) -> None:
    routed = route(conversation("handoff", "waiting", OFFERED), message, INTENTS)
    assert (routed.flow, routed.restart) == (flow, restart)


def test_locations_and_contacts_go_to_the_current_flow() -> None:
    pin = Inbound(channel="test", contact="1", location=Location(-27.57, -48.52))
    card = Inbound(channel="test", contact="1", phone="+5548999990000")
    for message in (pin, card):
        routed = route(conversation("sales", "ask_address"), message, INTENTS)
        assert (routed.flow, routed.restart, routed.message) == ("sales", False, message)


# -- the repair's decisions (bot.engine.repair.decide), on what the understander made of a message


def understood(
    intent: str | None,
    confidence: float = 0.95,
    *entities: tuple[EntityKind, str, int],
    ranking: tuple[tuple[str, float], ...] = (),
) -> Understanding:
    return Understanding(
        intent,
        confidence,
        tuple(Entity(kind, value, start, start + len(value)) for kind, value, start in entities),
        ranking=ranking,
    )


def where(
    expects: Expect, *, flow: str = "sales", at_rest: bool = False, reserved: bool = False
) -> Situation:
    return Situation(
        flow=flow,
        expects=expects,
        at_rest=at_rest,
        busy=not at_rest,
        default="menu",
        handoff="handoff",
        reserved=reserved,
    )


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("e qd vai chegar ai?", True),
        ("e qd vai chegar ai", True),  # no question mark: the question word says it
        ("pq precisa do meu nome", True),
        ("por que precisa?", True),
        ("mas quanto custa a mensalidade", True),
        ("when will it reach my street", True),
        ("cuando llega la fibra", True),
        ("vcs instalam no sabado?", True),
        ("tem na rua x 100?", False),  # digits: data asked about, not a question
        ("hã?", False),  # one word asks to hear the question again
        ("q?", False),
        ("maria souza", False),
        ("por favor, maria souza", False),
        ("sei la mano", False),
    ],
)
def test_a_question_is_told_by_its_mark_or_its_first_word(text: str, question: bool) -> None:
    assert looks_like_question(text) is question


@pytest.mark.parametrize(
    "text",
    [
        "sera q chega na beira mar norte 3000?",  # the street unknown to the understander
        "moro na trindade, perto da ufsc?",
    ],
)
def test_an_address_typed_as_a_question_goes_to_the_address_step(text: str) -> None:
    routed = decide(where(Expect.ADDRESS), says(text), understood("inform", 0.37), INTENTS)
    assert routed.move is Move.STEP  # the geocoder may know it


def test_a_question_nobody_answers_at_the_name_prompt_is_still_a_question() -> None:
    routed = decide(where(Expect.NAME), says("e qd vai chegar ai?"), understood(None, 0.3), INTENTS)
    assert routed.move is Move.ANSWER  # the honest "can't answer that", then the name again


def test_a_name_with_a_question_mark_but_a_name_found_is_the_name() -> None:
    u = understood("inform", 0.6, (EntityKind.PERSON_NAME, "Karina Souza", 9))
    routed = decide(where(Expect.NAME), says("me chamo karina souza?"), u, INTENTS)
    assert routed.move is Move.STEP


@pytest.mark.parametrize(
    ("text", "entities", "answers"),
    [
        ("sim, mas posso cancelar se nao gostar?", [(EntityKind.YES_NO, "yes", 0)], True),
        ("ah sim, e tem fidelidade?", [(EntityKind.YES_NO, "yes", 3)], True),
        # the "nao" inside the question answers nothing
        ("posso cancelar se eu nao gostar?", [(EntityKind.YES_NO, "no", 20)], False),
        ("tem fidelidade?", [], False),
    ],
)
def test_a_yes_before_a_question_answers_the_yes_or_no_asked(
    text: str, entities: list[tuple[EntityKind, str, int]], answers: bool
) -> None:
    u = understood("faq_contract", 0.99, *entities)
    assert decide(where(Expect.YES_NO), says(text), u, INTENTS).move is Move.ANSWER
    assert carries_answer(u, Expect.YES_NO, text) is answers


def test_desisti_right_after_a_reservation_offers_to_cancel_it() -> None:
    rested = where(Expect.NOTHING, at_rest=True, reserved=True)
    routed = decide(rested, says("desisti"), understood("stop", 0.99), INTENTS)
    assert (routed.move, routed.flow, routed.intent) == (Move.BEGIN, "cancellation", "cancel")


def test_desisti_with_nothing_reserved_ends_politely() -> None:
    rested = where(Expect.NOTHING, flow="menu", at_rest=True)
    assert decide(rested, says("desisti"), understood("stop", 0.99), INTENTS).move is Move.CLOSE
    mid_sale = where(Expect.NAME)
    assert decide(mid_sale, says("desisti"), understood("stop", 0.99), INTENTS).move is Move.CLOSE


def test_a_doubtful_request_carrying_an_address_at_rest_starts_the_sale() -> None:
    u = understood("buy", 0.44, (EntityKind.ADDRESS, "av trompowsky 200", 40))
    text = "vi o anuncio no insta, sera q chega na av trompowsky 200?"
    menu = where(Expect.NOTHING, flow="menu", at_rest=True)
    routed = decide(menu, says(text), u, INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "sales")


def test_sair_right_after_a_reservation_leaves_and_cancels_nothing() -> None:
    rested = where(Expect.NOTHING, at_rest=True, reserved=True)
    for text in ("sair", "quero parar", "encerrar"):
        assert decide(rested, says(text), understood("stop", 0.99), INTENTS).move is Move.CLOSE


def test_a_yes_and_a_question_naming_a_request_is_a_question() -> None:
    u = understood("cancel", 0.9, (EntityKind.YES_NO, "yes", 0))
    text = "sim, mas isso cancela minha reserva?"
    assert decide(where(Expect.YES_NO), says(text), u, INTENTS).move is Move.ANSWER
    # without the yes it is the request, asked about first mid-flow
    request = understood("cancel", 0.9)
    asked = decide(where(Expect.YES_NO), says("quero cancelar minha reserva"), request, INTENTS)
    assert asked.move is Move.ASK_SWITCH


def test_a_no_at_rest_ends_politely() -> None:
    menu = where(Expect.NOTHING, flow="menu", at_rest=True)
    routed = decide(menu, says("nao, era so isso"), understood("deny", 0.9), INTENTS)
    assert routed.move is Move.CLOSE


def test_a_question_with_a_request_at_rest_is_answered_then_the_request_begins() -> None:
    menu = where(Expect.NOTHING, flow="menu", at_rest=True)
    both = understood("ask_price", 0.71, ranking=(("ask_price", 0.71), ("buy", 0.27)))
    routed = decide(menu, says("quanto custa o de 500? quero contratar"), both, INTENTS)
    assert (routed.move, routed.flow, routed.intent) == (Move.ANSWER, "sales", "sales")
    alone = understood("ask_price", 0.99, ranking=(("ask_price", 0.99), ("buy", 0.01)))
    routed = decide(menu, says("quanto custa o de 500?"), alone, INTENTS)
    assert (routed.move, routed.intent) == (Move.ANSWER, None)
    # an erasure is never started as an afterthought
    erase = understood("faq_contract", 0.7, ranking=(("faq_contract", 0.7), ("erase_data", 0.3)))
    routed = decide(menu, says("tem fidelidade? e meus dados?"), erase, INTENTS)
    assert (routed.move, routed.intent) == (Move.ANSWER, None)
    # mid-flow the question is a digression only
    routed = decide(where(Expect.ADDRESS), says("quanto custa? quero contratar"), both, INTENTS)
    assert (routed.move, routed.intent) == (Move.ANSWER, None)


def test_the_data_asked_for_told_with_a_doubtful_other_request_is_the_answer() -> None:
    # the sale's first question (nothing to lose yet, so no "do you want to stop?" either)
    asking = Situation(
        flow="sales", expects=Expect.ADDRESS, at_rest=False, busy=False, default="menu",
        handoff="handoff",
    )  # fmt: skip
    text = "rua bocaiuva 1000, a internet da outra empresa caiu de novo por isso quero trocar"
    address = (EntityKind.ADDRESS, "rua bocaiuva 1000", 0)
    routed = decide(asking, says(text), understood("outage", 0.6, address), INTENTS)
    assert (routed.move, routed.flow) == (Move.STEP, "sales")
    # clearly meant, and said with the address first, the address is still the answer, the
    # rest why ("rua x 900, a internet q eu tenho hj ta horrivel": blind5)
    routed = decide(asking, says(text), understood("outage", 0.9, address), INTENTS)
    assert (routed.move, routed.flow) == (Move.STEP, "sales")
    # clearly meant, and said first, the other request still begins
    first = "minha net caiu de novo, to na rua bocaiuva 1000"
    late = (EntityKind.ADDRESS, "rua bocaiuva 1000", first.index("rua"))
    routed = decide(asking, says(first), understood("outage", 0.9, late), INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "outage")
    # without the data asked for, a doubtful request is not held back by this
    routed = decide(asking, says("a net caiu"), understood("outage", 0.6), INTENTS)
    assert routed.flow == "outage"


def test_a_no_with_a_farewell_where_data_is_asked_ends_politely() -> None:
    both = understood("deny", 0.56, ranking=(("deny", 0.56), ("goodbye", 0.40)))
    routed = decide(where(Expect.ADDRESS), says("mejor no, chau"), both, INTENTS)
    assert routed.move is Move.CLOSE
    # a bare no where a name is asked is for the step to read (it asks again)
    alone = understood("deny", 0.9, ranking=(("deny", 0.9), ("goodbye", 0.02)))
    assert decide(where(Expect.NAME), says("nao"), alone, INTENTS).move is Move.STEP
    # and where a yes or no is asked, the no is the answer
    assert decide(where(Expect.YES_NO), says("nao, tchau"), both, INTENTS).move is not Move.CLOSE


def test_a_question_read_as_the_menu_is_a_question() -> None:
    rested = where(Expect.NOTHING, flow="outage", at_rest=True)
    routed = decide(rested, says("e qnd volta?"), understood("menu", 0.85), INTENTS)
    assert routed.move is Move.ANSWER  # "when is it back?", not "voltar" (the menu)
    routed = decide(rested, says("voltar pro menu?"), understood("menu", 0.9), INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "menu")
    # a question that names the menu asks for it, at rest and mid-sale alike
    routed = decide(rested, says("como volto pro menu?"), understood("menu", 0.99), INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "menu")
    selling = where(Expect.NAME, flow="sales")
    asked = says("como faço pra voltar pro menu?")
    routed = decide(selling, asked, understood("menu", 0.99), INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "menu")
