"""Conversation repair: what the engine does with a message it understood. Pure.

The patterns are the ones dialogue systems name (Rasa CALM's conversation repair):

* an **answer** to what the state expects goes to its step (which also reads a *correction*:
  "nao, na verdade é 1500");
* a **digression** (a question: the price, "posso cancelar depois?", opening hours) is answered
  and the pending question asked again; the flow is not left. A message that answers the
  pending question *and* asks one ("sim, mas posso cancelar se nao gostar?") gets both: the
  answer, then its step (see :func:`carries_answer`). Where data is asked, a question the
  provider's answers do not cover ("e qd vai chegar ai?" at the name prompt) is still a
  question, not the data: the honest "I can't answer that here", then the question again;
* an **interruption** (another request, clearly meant) that would throw the flow's work away is
  confirmed first ("Quer parar a contratação?"); asking for a person never waits;
* **small talk** ("oi", "tudo bem?", "obrigado") gets a short reply, then the question again;
* "sair", "parar", "tchau" (and thanks once a flow is done) **close** politely; but "desisti"
  right after a flow made a reservation means that reservation: its cancellation is offered
  (the cancellation flow asks to confirm);
* a request at rest (the menu, a finished flow) starts its flow, carrying the facts the message
  holds ("tem fibra na rua delminda silveira 900?" goes straight to the address check).

Anything else goes to the step, which says what it needs (the engine counts those: after a few
in a row it offers a person).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine import wording
from bot.engine.routing import INTENT_PREFIX, Intent, Move, Route, normalize
from bot.engine.wording import asks_options, looks_like_question
from bot.messages import Inbound
from bot.nlu.answers import names_erasure, refused_person, takes_leave
from bot.nlu.base import EntityKind, Expect, Understanding
from bot.nlu.entities import changes_plan
from bot.nlu.text import fold

__all__ = [
    "CLEAR",
    "DATA",
    "EXPECTED_FACTS",
    "SPENT",
    "Situation",
    "asks_options",
    "carries_answer",
    "decide",
    "is_question",
    "looks_like_question",
]

#: the understander's score above which an intent was clearly meant
CLEAR = 0.5
#: above which another request is taken as meant mid-flow (and the switch asked about): a
#: doubtful one goes to the step, which asks its question again
MEANT = 0.75
#: above which the leading request of a question that carries no data, where data is asked,
#: is taken as meant (the question itself says it is no data misread)
ASKED = 0.4
#: the intents that answer what a state expects
ANSWERS = frozenset({"inform", "affirm", "deny", "correct"})
CLOSING = frozenset({"stop", "goodbye"})
SMALL_TALK = frozenset({"greet", "chitchat", "thank"})
#: the plans and their prices are one intent (asking either got the same answer everywhere)
QUESTIONS = frozenset({"ask_price"})
K = EntityKind
#: the facts that answer what each state expects (a state expecting one of them that is
#: already known does not ask: its step reads it)
EXPECTED_FACTS: dict[Expect, tuple[EntityKind, ...]] = {
    # where a place is asked, a client code is an answer too (the outage flow asks "where are
    # you, or your code?"; a sale's address step finds no address in a code and says so)
    Expect.ADDRESS: (K.ADDRESS, K.CEP, K.CODE),
    Expect.NUMBER: (K.HOUSE_NUMBER,),
    Expect.UNIT: (K.UNIT,),
    Expect.NAME: (K.PERSON_NAME,),
    Expect.CPF: (K.CPF,),
    Expect.CODE: (K.CODE,),
}
_DATA = frozenset(EXPECTED_FACTS)
#: where the data itself comes as a question often ("tem na rua x 100?", "é o 302?")
_PLACES = frozenset({Expect.ADDRESS, Expect.NUMBER, Expect.UNIT})
#: where a step reads a plan named with its answer (the summary, the name, the unit)
_PLAN_READERS = frozenset({Expect.YES_NO, Expect.OPTION, Expect.NAME, Expect.UNIT})
#: the facts a state's step spends, used or not (an address's number goes with it)
SPENT: dict[Expect, tuple[EntityKind, ...]] = {
    **EXPECTED_FACTS,
    Expect.ADDRESS: (K.ADDRESS, K.CEP, K.CODE, K.HOUSE_NUMBER),
}
#: the kinds of fact the engine keeps for later states (yes/no and options are answers only)
DATA = frozenset(
    {K.CEP, K.HOUSE_NUMBER, K.UNIT, K.ADDRESS, K.PERSON_NAME, K.CPF, K.CNPJ, K.CODE, K.PLAN}
)


def is_question(intent: str | None) -> bool:
    """Whether the understander's ``intent`` is a question the provider's answers cover."""
    return intent is not None and (intent in QUESTIONS or intent.startswith("faq_"))


@dataclass(frozen=True, slots=True)
class Situation:
    """Where the conversation is. ``expects``: what its state asks for; ``at_rest``: it asks
    nothing (the menu, a finished flow, a flow not begun); ``busy``: leaving now would throw
    work away (past a flow's first question); ``pending``: the intent row whose flow the
    customer was asked about switching to; ``offered``: see the field."""

    flow: str
    expects: Expect
    at_rest: bool
    busy: bool
    default: str
    handoff: str
    pending: str | None = None
    #: the flow listed options (the plans) and none is chosen yet: "o mais barato" chooses
    choosing: bool = False
    #: the intent rows the bot's last message offered as buttons (``intent:<name>``): asking
    #: for one of them needs no "do you want to stop?"
    offered: frozenset[str] = frozenset()
    #: at rest right after a flow that left this contact a reservation: "desisti" means it
    reserved: bool = False
    #: the kinds of fact the customer gave that no step used yet (a plan asked about at rest)
    known: frozenset[EntityKind] = frozenset()


def _row(intents: Sequence[Intent], understood: str | None) -> Intent | None:
    if understood is None:
        return None
    return next((i for i in intents if understood in i.understood), None)


def _answers_expectation(u: Understanding, expects: Expect) -> bool:
    if expects in (Expect.YES_NO, Expect.OPTION):  # a yes to a list of one is its choice
        return u.first(K.YES_NO) is not None or u.first(K.OPTION) is not None
    kinds = EXPECTED_FACTS.get(expects, ())
    return any(u.first(kind) is not None for kind in kinds)


#: how many words may come before a yes or no for it to be the message's answer ("ah sim, ...")
_BEFORE_ANSWER = 1


def carries_answer(u: Understanding | None, expects: Expect, text: str | None) -> bool:
    """Whether a message that asks a question also answers what the state ``expects``: the data
    asked for is in it ("me chamo karina souza, tem taxa?"), or, where a yes or no is asked, it
    starts with one ("sim, mas posso cancelar se nao gostar?"; a "nao" inside the question,
    "posso cancelar se nao gostar?", answers nothing)."""
    if u is None:
        return False
    if expects in (Expect.YES_NO, Expect.OPTION):
        said = u.first(K.YES_NO)
        if said is None:
            return u.first(K.OPTION) is not None
        return len((text or "")[: said.start].split()) <= _BEFORE_ANSWER
    return _answers_expectation(u, expects)


#: the score the runner-up intent needs for a question to carry a request too
ALSO = 0.15


def _also_asked(
    where: Situation, u: Understanding, intents: Sequence[Intent], beside: str | None
) -> Intent | None:
    """The request a question comes with: ``beside`` (what a clause of its own asks, read
    alone: "oi quero contratar mas antes me diz se tem multa"), or the one the understander
    ranks right behind the question ("quanto custa o de 500? quero contratar": ask_price, then
    buy). Only the requests that start work (a sale, a cancellation, an outage check:
    ``asks_first``); a person, the menu and an erasure are asked for in their own words, never
    as an afterthought."""
    if beside is not None:
        second, score = beside, 1.0
    elif len(u.ranking) > _RUNNER_UP:
        second, score = u.ranking[_RUNNER_UP]
    else:
        return None
    row = _row(intents, second)
    if score < ALSO or row is None or not row.asks_first or row.flow == where.handoff:
        return None
    return row


_RUNNER_UP = 1
#: how many words a question must have to be taken as a request where data is asked
_ASKED_WORDS = 6


#: the understander's floor: below it no intent was recognised
_FLOOR = 0.3


def _without_person(
    u: Understanding, text: str, where: Situation, intents: Sequence[Intent]
) -> Understanding:
    """``u`` without the request for a person the message says it does not need ("nao precisa
    falar com atendente, pode reservar"): what the rest means, if it was recognised; nothing
    when there is no rest (the no in "nao precisa de atendente" is said of the person)."""
    span = refused_person(text)
    if span is None:
        return u
    if not text[span[1] :].strip(" \t\n.,!;:"):
        return dataclasses.replace(u, intent=None, confidence=0.0, ranking=())
    ranking = tuple(
        (name, score)
        for name, score in u.ranking
        if (row := _row(intents, name)) is None or row.flow != where.handoff
    )
    best, score = ranking[0] if ranking else (None, 0.0)
    if u.intent == best:
        return dataclasses.replace(u, ranking=ranking)
    intent = best if score >= _FLOOR else None
    return dataclasses.replace(u, intent=intent, confidence=score, ranking=ranking)


#: the understander's intent for a request to erase the customer's data, and the one it is
#: read as where the message names nothing to erase
ERASE = "erase_data"
_LET_GO = "stop"


def _without_unnamed_erasure(u: Understanding, text: str) -> Understanding:
    """``u`` with an erasure the message does not name ("pode esquecer", "esquece", "forget
    it": see :func:`bot.nlu.answers.names_erasure`) read as what it is, letting something go:
    a stop, scored with both readings (whichever the classifier leant to, they are one)."""
    scores = dict(u.ranking)
    if ERASE not in scores or names_erasure(text):
        return u
    scores[_LET_GO] = scores.get(_LET_GO, 0.0) + scores.pop(ERASE)
    ranking = tuple(sorted(scores.items(), key=lambda item: -item[1]))
    if u.intent not in (ERASE, None) and u.intent == ranking[0][0]:
        return dataclasses.replace(u, ranking=ranking)
    best, score = ranking[0]
    intent = best if score >= _FLOOR else None
    return dataclasses.replace(u, intent=intent, confidence=score, ranking=ranking)


#: what names a plan by its rank ("o mais barato", "the fastest", "el mas rapido"), folded
_RANKED = re.compile(
    r"\bmais (?:barat[oa]|em conta|rapid[oa]|veloz)\b|\bmenor preco\b|\bmaior velocidade\b|"
    r"\b(?:cheapest|fastest)\b|\bmas (?:barat[oa]|rapid[oa])\b"
)


#: how many words a message with a question mark must have to be a question read as the menu
#: ("e tem previsao pra voltar?"), not a short "voltar?" or "menu?"
_MENU_QUESTION_WORDS = 3


def _asks_at_length(text: str | None) -> bool:
    return looks_like_question(text) and len(normalize(text or "").split()) >= _MENU_QUESTION_WORDS


def _without_plans(u: Understanding, text: str | None) -> str:
    """``text`` without the plans it names: "cuanto sale el de 500? y la instalacion se paga?"
    is written as a question (its digits are a plan asked about, not an address or a number
    typed as one)."""
    chars = list(text or "")
    for plan in u.all(K.PLAN):
        chars[plan.start : plan.end] = " " * (plan.end - plan.start)
    return "".join(chars)


def _names_a_choice(u: Understanding, message: Inbound) -> bool:
    """Whether the message names something to choose by: a plan, an option, a number, a rank
    ("o mais barato"); "so quero saber o preco" where the plans are listed names none (it asks
    the price)."""
    text = message.text or ""
    if u.first(K.PLAN) is not None or u.first(K.OPTION) is not None:
        return True
    return any(ch.isdigit() for ch in text) or bool(_RANKED.search(fold(text)))


def _gives_a_place(u: Understanding, expects: Expect, text: str | None) -> bool:
    """Whether the message starts with the place asked for, a street or a CEP (a code is no
    place): what follows it is why ("rua x 900, a internet q eu tenho hj ta horrivel"); a
    request before it is the message's point ("na vdd minha net caiu, to na lauro linhares")."""
    if expects is not Expect.ADDRESS:
        return False
    place = u.first(K.ADDRESS) or u.first(K.CEP)
    return place is not None and len((text or "")[: place.start].split()) <= _BEFORE_PLACE


def _swaps_plans(u: Understanding) -> bool:
    """Whether the message names two plans (one given up for the other)."""
    return len({e.value for e in u.all(K.PLAN)}) >= _TWO


_TWO = 2
#: how many words may come before the place for it to lead the message ("moro na rua x 900")
_BEFORE_PLACE = 2


def _person_beside(where: Situation, u: Understanding, intents: Sequence[Intent]) -> Intent | None:
    """The handoff row, when the understander ranks a request for a person among the message's
    meanings (``ALSO`` at least) beside another."""
    for name, score in u.ranking[_RUNNER_UP:]:
        row = _row(intents, name)
        if row is not None and row.flow == where.handoff and score >= ALSO:
            return row
    return None


def _closing_score(u: Understanding) -> float:
    """How much the understander read a farewell or a stop into the message, beside its intent."""
    return sum(score for name, score in u.ranking if name in CLOSING)


def _yes_no(message: Inbound, u: Understanding | None) -> str | None:
    if message.button in ("yes", "no"):
        return message.button
    if u is None:
        return None
    said = u.value(K.YES_NO)
    if said is not None:
        return said
    return {"affirm": "yes", "deny": "no"}.get(u.intent or "")


def decide(
    where: Situation,
    message: Inbound,
    u: Understanding | None,
    intents: Sequence[Intent],
    *,
    beside: str | None = None,
) -> Route:
    """What to do with ``message`` (``u``: what the understander made of its text, None for a
    pin, a contact card or a tapped button; ``beside``: the request a clause of a question
    makes, read alone)."""

    def go(move: Move, flow: str | None = None, intent: str | None = None) -> Route:
        return Route(
            flow=flow or where.flow,
            restart=move is Move.BEGIN,
            message=message,
            intent=intent,
            understanding=u,
            move=move,
        )

    button = message.button
    if button is not None and button.startswith(INTENT_PREFIX):
        name = button.removeprefix(INTENT_PREFIX)
        row = next((i for i in intents if i.name == name), None)
        if row is not None:  # a tapped choice is clearly meant: no question first
            return go(Move.BEGIN, row.flow, row.name)
    if where.pending is not None:
        target = next((i for i in intents if i.name == where.pending), None)
        # the answer to the yes-or-no question asked, read as one (its buttons' words first),
        # before what else the message may mean: "continua" is no request to stop talking
        said = (None if button is not None else wording.switch_answer(message.text)) or _yes_no(
            message, u
        )
        if said is None and target is not None and u is not None and u.intent in target.understood:
            said = "yes"  # the other request again: that, then
        if target is not None and said == "yes":
            return go(Move.BEGIN, target.flow, target.name)
        if said == "no":
            return go(Move.RESUME)
    if button is not None or u is None:
        if where.at_rest and message.location is not None:
            carrier = next((i for i in intents if K.ADDRESS in i.carries), None)
            if carrier is not None:  # a pin at the menu: where they want the fibre
                return go(Move.BEGIN, carrier.flow, carrier.name)
        return go(Move.STEP)

    u = _without_person(u, message.text or "", where, intents)  # "sem atendente, pode reservar"
    u = _without_unnamed_erasure(u, message.text or "")  # "pode esquecer": let go, not erase
    intent = u.intent
    clear = u.confidence >= CLEAR
    asked = _row(intents, intent)
    if asks_options(message.text) and (asked is None or asked.flow == where.default):
        # "quais as opcoes?" (read as the menu, or as nothing clear): what is offered here, the
        # pending question after it; not the honest "I can't answer that"
        return go(Move.ANSWER)
    if (
        where.expects in _PLAN_READERS
        and u.first(K.PLAN) is not None
        and changes_plan(message.text or "")
    ):
        # "posso trocar pro de 500?", "volta pro de 300", "go back to the 300" mid-flow: a change
        # of plan, not a question about the contract nor the menu; the step reads the plan
        return go(Move.STEP)
    # where data is asked ("Carla Dias", "123.456.789-00"), a doubtful question or greeting is
    # more likely the data misread: the step reads it
    meant = u.confidence >= (MEANT if where.expects in _DATA else CLEAR)
    row = _row(intents, intent)
    # where data is asked, a question that carries none ("pera, na vdd a net da minha mae caiu
    # agr, vcs conseguem ver isso?") is no data misread: a clear request in it is meant
    asking = (
        where.expects in _DATA
        and u.confidence >= ASKED
        and len(normalize(message.text or "").split()) >= _ASKED_WORDS
        and looks_like_question(_without_plans(u, message.text))
        and not _answers_expectation(u, where.expects)
    )
    meant = meant or asking
    if (
        row is not None
        and row.flow == where.default
        and (
            looks_like_question(message.text, worded=True)
            or (where.at_rest and _asks_at_length(message.text))
        )
        and not row.matches(normalize(message.text or ""))
    ):
        # "e qnd volta?" (when is it back?) reads as "voltar", the menu: a question asked (its
        # first word says so; "voltar pro menu?" is the menu), which the honest "can't answer
        # that here" serves better than the greeting; one that names the menu ("como volto pro
        # menu?") asks for it
        return go(Move.ANSWER)
    if where.at_rest and (row is None or row.flow == where.flow or not clear):
        # "vcs atendem na rui barbosa 1200?": a question or a remark that carries an address;
        # a doubtful request too ("sera q chega na av trompowsky 200?" read as buy at 0.44)
        for carrier in intents:
            if any(u.first(kind) is not None for kind in carrier.carries):
                if is_question(intent) and (clear or wording.opens_with_question(message.text)):
                    # "quanto ta a fibra? moro na rua frei caneca 300": the price, then the sale
                    return go(Move.ANSWER, carrier.flow, carrier.name)
                return go(Move.BEGIN, carrier.flow, carrier.name)
    if row is not None and row.flow == where.handoff:
        return go(Move.BEGIN, row.flow, row.name)  # a person is never kept waiting
    person = _person_beside(where, u, intents)
    if (
        person is not None
        and (intent is None or intent in SMALL_TALK)
        and wording.names_a_person(message.text)
    ):
        # "aff vc é robo?? quero falar com uma pessoa de vdd": the remark around it is no
        # reason to keep them waiting
        return go(Move.BEGIN, person.flow, person.name)
    if (
        where.at_rest
        and K.PLAN in where.known
        and _yes_no(message, u) == "yes"
        and wording.takes(message.text)
    ):
        # "blz, quero esse entao" right after the price of the 300: that plan, sold (the
        # flow a place starts is the one that sells)
        seller = next((i for i in intents if K.ADDRESS in i.carries), None)
        if seller is not None:
            return go(Move.BEGIN, seller.flow, seller.name)
    # where options are offered, talk of prices and plans ("o mais barato") is a choice among
    # them, and so is a plan named where a yes is asked ("quero o de 300" at the summary): the
    # step reads it (and asks again if it reads none)
    choosing = intent in QUESTIONS and (
        where.expects is Expect.OPTION
        or (
            # asked ("quanto custa o de 1 giga?" where the address is confirmed), a plan is a
            # question to answer, not an answer: its "1" once became the house number
            where.expects is Expect.YES_NO
            and u.first(K.PLAN) is not None
            and "?" not in (message.text or "")
        )
        or (where.choosing and "?" not in (message.text or "") and _names_a_choice(u, message))
    )
    if is_question(intent) and meant and not choosing:
        also = _also_asked(where, u, intents, beside) if where.at_rest else None
        if also is not None:  # "quanto custa o de 500? quero contratar": answered, then sold
            return go(Move.ANSWER, also.flow, also.name)
        return go(Move.ANSWER)
    if (
        intent == "stop"
        and clear
        and where.at_rest
        and where.reserved
        and not wording.leaving(message.text)
        and not wording.keeps(message.text)
        and not wording.thanks(message.text or "")
    ):
        # "desisti" just after the reservation: that reservation (confirmed before cancelling)
        undo = next((i for i in intents if "cancel" in i.understood), None)
        if undo is not None:
            return go(Move.BEGIN, undo.flow, undo.name)
    if intent in CLOSING and clear and not _answers_expectation(u, where.expects):
        if where.expects in (Expect.YES_NO, Expect.OPTION) and wording.leading_no(message.text):
            return go(Move.STEP)  # "nao, deixa" to "cancel it?": the no it starts with
        return go(Move.CLOSE)  # but a "não" where a yes or no is asked is that answer
    if (
        intent == "deny"
        and where.expects in _DATA
        and not _answers_expectation(u, where.expects)
        and _closing_score(u) >= ALSO
    ):
        return go(Move.CLOSE)  # "mejor no, chau" where the address is asked: no, and goodbye
    if (
        where.expects in _DATA
        and not _answers_expectation(u, where.expects)
        and takes_leave(message.text or "")
        and (wording.thanks(message.text or "") or _closing_score(u) >= ALSO)
        and "?" not in (message.text or "")
    ):
        # "blz vou ver com meu marido e te falo, valeu", "poxa q pena, valeu mesmo assim" where
        # the address or a name is asked: they leave for now (thanks alone, "aaa que bom,
        # obrigado!", is no leaving)
        return go(Move.CLOSE)
    if (
        row is not None
        and where.expects in (Expect.YES_NO, Expect.OPTION)
        and looks_like_question(message.text)
        and carries_answer(u, where.expects, message.text)
    ):
        # "sim, mas isso cancela minha reserva?" to "Confirma?": the yes, and a question about
        # cancelling, not a request to cancel
        return go(Move.ANSWER)
    if row is not None and (clear or asking) and intent not in SMALL_TALK:
        if not where.at_rest and row.flow != where.flow and _swaps_plans(u):
            # "cancela o de 300, quero o de 1 giga" mid-sale: it is the plan that changes, not
            # a request to cancel; the step reads the plan wanted
            return go(Move.STEP)
        if where.expects in _DATA and wording.one_code(message.text):
            return go(Move.STEP)  # "cliente-erro" where a code or an address is asked: data
        if row.flow == where.flow and not where.at_rest:
            return go(Move.STEP)  # "quero contratar na rua x" while the sale asks the address
        if (
            where.expects in _DATA
            and (u.confidence < MEANT or _gives_a_place(u, where.expects, message.text))
            and _answers_expectation(u, where.expects)
        ):
            # "rua bocaiuva 1000, a net da outra empresa caiu, quero trocar" where the sale asks
            # the address: the answer asked for, told with why; a doubtful other request in it
            # is the story around the answer, not a new one; and so is a clear one beside a
            # street or a CEP ("rua x 900, a internet q eu tenho hj ta horrivel"): the place is
            # confirmed first, and another request there is asked about
            return go(Move.STEP)
        if where.busy and row.asks_first and row.name not in where.offered:
            if u.confidence < MEANT and not asking:
                return go(Move.STEP)
            return go(Move.ASK_SWITCH, intent=row.name)
        return go(Move.BEGIN, row.flow, row.name)
    if where.at_rest and (
        intent == "thank"
        or (
            intent in ("chitchat", "affirm")
            and wording.thanks(message.text or "")
            and not looks_like_question(message.text)
        )
    ):
        return go(Move.CLOSE)  # "ah entendi, obrigado" after the answer: thanks, not a remark
    if intent == "deny" and clear and where.at_rest and not u.entities:
        return go(Move.CLOSE)  # "nao, era so isso" to "Posso ajudar em mais alguma coisa?"
    acknowledged = intent == "affirm" and clear and where.at_rest
    if acknowledged and not any(e.kind in DATA for e in u.entities):
        # "ok", "blz", "ok obg" to "Posso ajudar em mais alguma coisa?" or after the reservation:
        # an acknowledgement, closed politely; a plain "sim" there wants more: the menu
        if normalize(message.text or "") in wording.MORE:
            return go(Move.BEGIN, where.default)
        return go(Move.CLOSE)
    if intent in SMALL_TALK and meant and not _answers_expectation(u, where.expects):
        if intent == "greet" and not where.busy:
            return go(Move.BEGIN, where.default)  # "oi" where nothing is lost: the start
        return go(Move.SMALL_TALK)
    if (
        where.expects in _DATA
        and looks_like_question(message.text, worded=where.expects in _PLACES)
        and not _answers_expectation(u, where.expects)
    ):
        # "e qd vai chegar ai?" at the name prompt: a question nobody answers here, not a name
        return go(Move.ANSWER)
    return go(Move.STEP)
