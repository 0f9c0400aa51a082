"""What the understander keeps between messages to read them faster (a text's scores, folded
pieces) changes nothing it answers."""

from __future__ import annotations

import pytest

from bot.nlu.embedded import EmbeddedUnderstander
from bot.nlu.model import Model
from bot.nlu.text import fold

TEXTS = ("oi", "1", "sim", "quanto custa o plano de 300 mega?", "minha net caiu", "zzzz qqq")


@pytest.fixture(scope="module")
def model() -> Model:
    return EmbeddedUnderstander().model


def test_kept_scores_are_the_computed_ones(model: Model) -> None:
    for text in TEXTS:
        folded = fold(text)
        first = model.scores(folded)
        assert model.scores(folded) == first == model._score(folded)
        assert abs(sum(first[0].values()) - 1) < 1e-9 and abs(sum(first[1].values()) - 1) < 1e-9


def test_scores_are_the_callers_to_change(model: Model) -> None:
    """The understander scales the scores it is given (the state's expectation): that must not
    reach the next message with the same text."""
    folded = fold("sim")
    intents, languages = model.scores(folded)
    expected = dict(intents)
    intents["affirm"] *= 2.0
    languages.clear()
    again, languages_again = model.scores(folded)
    assert again == expected and languages_again


def test_folding_keeps_digits_apart() -> None:
    assert fold("Plano 300 Mega") == "plano 000 mega"
    assert fold("Plano 300 Mega", digits=True) == "plano 300 mega"
    assert fold("Plano 300 Mega") == "plano 000 mega"  # the kept form of the first call


def test_reading_the_same_message_twice_answers_the_same() -> None:
    nlu = EmbeddedUnderstander()
    for text in TEXTS:
        assert nlu.read(text) == nlu.read(text)
