"""The shipped examples: their format, their size, and no text labelled twice."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.nlu.data import LANGUAGES, extra_examples, load_examples, parse_file
from bot.nlu.model import dedupe
from bot.nlu.text import fold

#: the intents the flows rely on (the dialogue layer reads these names)
INTENTS = {
    "greet", "chitchat", "thank", "goodbye", "stop", "buy", "outage", "cancel", "human",
    "erase_data", "menu", "affirm", "deny", "correct", "ask_price", "faq_hours",
    "faq_contract", "faq_install", "faq_payment", "faq_equipment", "inform", "out_of_scope",
}  # fmt: skip


def test_every_language_has_every_intent() -> None:
    per_language: dict[str, set[str]] = defaultdict(set)
    for example in load_examples():
        per_language[example.language].add(example.intent)
    assert set(per_language) == set(LANGUAGES)
    for language in LANGUAGES:
        assert per_language[language] == INTENTS, language


def test_pt_br_has_at_least_40_distinct_examples_per_intent() -> None:
    counts = Counter(e.intent for e in dedupe(load_examples()) if e.language == "pt_BR")
    short = {intent: n for intent, n in counts.items() if n < 40}
    assert not short


def test_en_and_es_have_real_examples_for_each_intent() -> None:
    counts = Counter((e.language, e.intent) for e in dedupe(load_examples()))
    for language in ("en", "es"):
        for intent in INTENTS:
            assert counts[(language, intent)] >= 12, (language, intent)


def test_no_text_is_labelled_with_two_intents() -> None:
    labels: dict[str, set[str]] = defaultdict(set)
    for example in load_examples():
        labels[fold(example.text)].add(example.intent)
    assert {text: seen for text, seen in labels.items() if len(seen) > 1} == {}


def test_parse_file_reads_rasa_format_and_strips_annotations() -> None:
    examples = parse_file(
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n'
        '    - meu nome é [Maria](person_name)\n    - cep [88025-200]{"entity": "cep"}\n',
        "pt_BR",
    )
    assert [(e.text, e.intent, e.language) for e in examples] == [
        ("meu nome é Maria", "inform", "pt_BR"),
        ("cep 88025-200", "inform", "pt_BR"),
    ]


@pytest.mark.parametrize(
    "document",
    [
        "nlu: [",
        "version: '3.1'",
        "nlu:\n- examples: |\n    - oi\n",
        "nlu:\n- intent: Greet Me\n  examples: |\n    - oi\n",
        "nlu:\n- intent: greet\n  examples: |\n    oi\n",
    ],
)
def test_parse_file_refuses_what_is_not_the_format(document: str) -> None:
    with pytest.raises(ConfigError):
        parse_file(document, "pt_BR")


def test_files_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "es.yml"
    path.write_text("nlu:\n- intent: greet\n  examples: |\n    - hola\n", encoding="utf-8")
    [example] = load_examples(files=[path])
    assert (example.text, example.language) == ("hola", "es")


def test_extra_examples_are_checked() -> None:
    found = extra_examples({"faq_wifi_password": {"pt_BR": ["qual a senha do wifi?", " "]}})
    assert [(e.text, e.intent) for e in found] == [("qual a senha do wifi?", "faq_wifi_password")]
    with pytest.raises(ConfigError):
        extra_examples({"faq_x": {"fr": ["bonjour"]}})
    with pytest.raises(ConfigError):
        extra_examples({"FAQ X": {"pt_BR": ["oi"]}})
