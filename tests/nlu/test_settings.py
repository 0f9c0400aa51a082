"""The model's settings: read from ``name=value`` items, told back when they differ from the
shipped ones, and used in training (another C, another sharpness, other feature blocks)."""

from __future__ import annotations

import pytest

from bot.nlu.data import Example
from bot.nlu.model import ANALYZERS, SHARPNESS, Settings, train
from bot.nlu.text import fold

EXAMPLES = [
    Example(text, intent, "pt_BR")
    for intent, texts in {
        "greet": ["oi", "ola", "bom dia", "boa tarde", "boa noite", "oii td bem", "e ai", "opa"],
        "outage": ["net caiu", "sem internet", "internet lenta", "caiu a net", "ta sem sinal"],
        "thank": ["obrigado", "valeu", "brigada", "obg", "muito obrigado", "vlw", "agradeco"],
    }.items()
    for text in texts
] + [Example("hello", "greet", "en"), Example("thanks", "thank", "en")]


def test_the_shipped_settings_by_default() -> None:
    settings = Settings.parse([])
    assert settings == Settings()
    assert (settings.analyzers, settings.c, settings.sharpness) == (ANALYZERS, 1.0, SHARPNESS)
    assert settings.class_weight is None and settings.describe() == ""


def test_settings_are_read_from_name_value_items() -> None:
    settings = Settings.parse(
        ["c=2", "sharpness=6", "class-weight=balanced", "analyzers=char_wb:1:4,word:1:3"]
    )
    assert settings == Settings(
        analyzers=(("char_wb", 1, 4), ("word", 1, 3)),
        c=2.0,
        class_weight="balanced",
        sharpness=6.0,
    )
    assert settings.describe() == (
        "analyzers=char_wb:1:4,word:1:3 c=2.0 class_weight=balanced sharpness=6.0"
    )
    assert Settings.parse(["c=1", "class_weight=none"]).describe() == ""


@pytest.mark.parametrize(
    "item",
    [
        "c",
        "gamma=2",
        "c=two",
        "c=0",
        "sharpness=-1",
        "class_weight=heavy",
        "analyzers=char:5:3",
        "analyzers=chars:1:2",
        "analyzers=word:1",
    ],
)
def test_what_is_not_a_setting_is_refused(item: str) -> None:
    with pytest.raises(ValueError):
        Settings.parse([item])


def test_training_follows_the_settings() -> None:
    shipped = train(EXAMPLES)
    sharper = train(EXAMPLES, Settings(sharpness=2 * SHARPNESS))
    softer_svm = train(EXAMPLES, Settings(c=0.1))
    words_only = train(EXAMPLES, Settings(analyzers=(("word", 1, 1),)))
    text = fold("a net caiu")
    ours, sharp, soft = (max(m.scores(text)[0].values()) for m in (shipped, sharper, softer_svm))
    assert shipped.scores(text)[0]["outage"] == ours
    # same margins, a sharper softmax: a surer best intent
    assert sharp > ours and sharper.sharpness == 2 * SHARPNESS
    # a smaller C: smaller margins, a less sure best intent
    assert soft < ours
    assert [(f.kind, f.low, f.high) for f in words_only.features] == [("word", 1, 1)]
    assert [(f.kind, f.low, f.high) for f in shipped.features] == list(ANALYZERS)
