"""The repair's decisions (:func:`bot.engine.repair.decide`) that must not hang on how sure the
classifier is: whatever score it gives, a phrase that names nothing to erase never begins an
erasure, and a price question where the plans are listed is answered when it names no plan."""

from __future__ import annotations

import pytest

from bot.engine.repair import Situation, decide
from bot.engine.routing import Move
from bot.nlu.base import EntityKind, Expect
from flows import INTENTS
from tests.engine.test_routing import says, understood, where


@pytest.mark.parametrize("erase", [0.45, 0.5, 0.55, 0.9])
@pytest.mark.parametrize("text", ["pode esquecer", "esquece", "esquece isso", "forget it"])
def test_letting_go_is_never_an_erasure_whatever_its_score(erase: float, text: str) -> None:
    u = understood("erase_data", erase, ranking=(("erase_data", erase), ("stop", 1 - erase)))
    menu = where(Expect.NOTHING, flow="menu", at_rest=True)
    assert decide(menu, says(text), u, INTENTS).move is Move.CLOSE  # a polite close
    summary = where(Expect.YES_NO)
    routed = decide(summary, says(text), u, INTENTS)
    assert routed.flow != "privacy"
    assert routed.move is Move.CLOSE
    # with the no it is read as ("pode esquecer" lets the offer go), the summary's step says so
    answered = understood("erase_data", erase, (EntityKind.YES_NO, "no", 0), ranking=u.ranking)
    assert decide(summary, says(text), answered, INTENTS).move is Move.STEP


@pytest.mark.parametrize(
    "text", ["pode esquecer meu numero", "esquece meus dados", "apaga tudo", "forget me"]
)
def test_an_erasure_that_names_what_it_erases_begins_the_erasure(text: str) -> None:
    u = understood("erase_data", 0.5, ranking=(("erase_data", 0.5), ("stop", 0.4)))
    routed = decide(where(Expect.NOTHING, flow="menu", at_rest=True), says(text), u, INTENTS)
    assert (routed.move, routed.flow) == (Move.BEGIN, "privacy")  # its flow asks to confirm


def test_a_price_question_naming_no_plan_where_plans_are_listed_is_answered() -> None:
    listed = Situation(
        flow="sales",
        expects=Expect.YES_NO,
        at_rest=False,
        busy=True,
        default="menu",
        handoff="handoff",
        choosing=True,
    )
    asked = decide(listed, says("so quero saber o preco"), understood("ask_price", 0.9), INTENTS)
    assert asked.move is Move.ANSWER
    for text, u in (
        ("o mais barato", understood("ask_price", 0.9)),
        ("quero o de 500", understood("ask_price", 0.9, (EntityKind.PLAN, "500", 10))),
    ):
        assert decide(listed, says(text), u, INTENTS).move is Move.STEP, text  # a choice
