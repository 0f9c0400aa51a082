"""The plan book: the sample the demo ships, read as customers ask (the real understanding
layer reads the messages), in the three languages; and the provider's file checked at start-up
with messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.errors import ConfigError
from bot.i18n import Catalogs
from bot.nlu.base import Entity, EntityKind, Understanding
from bot.nlu.embedded import EmbeddedUnderstander
from bot.plans import SAMPLE, PlanBook, load_plan_book
from bot.plans.book import Translate


@pytest.fixture(scope="module")
def nlu() -> EmbeddedUnderstander:
    return EmbeddedUnderstander()


@pytest.fixture(scope="module")
def book() -> PlanBook:
    return load_plan_book(SAMPLE)


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(strict=True)


def asked(
    nlu: EmbeddedUnderstander, book: PlanBook, catalogs: Catalogs, text: str, lang: str
) -> str | None:
    return book.answer(nlu.read(text, language=lang), lang, catalogs.translator(lang))


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        (
            "quanto custa o plano de 300 mega?",
            "pt_BR",
            "O plano Fibra 300 Mega custa R$ 89,90 por mês. Wi-Fi 5 incluso.",
        ),
        ("qto ta o de 500 megas", "pt_BR", "O plano Fibra 500 Mega custa R$ 99,90 por mês."),
        (
            "qual o preco do plano de 1 giga",
            "pt_BR",
            "O plano Fibra 1 Giga custa R$ 149,90 por mês.",
        ),
        ("how much is the 300 mbps plan?", "en", "The Fibre 300 Mbps plan costs R$ 89.90 a month."),
        (
            "cuanto cuesta el plan de 500 megas?",
            "es",
            "El plan Fibra 500 Megas cuesta R$ 99,90 al mes.",
        ),
    ],
)
def test_a_plans_price(
    nlu: EmbeddedUnderstander,
    book: PlanBook,
    catalogs: Catalogs,
    text: str,
    lang: str,
    expected: str,
) -> None:
    reply = asked(nlu, book, catalogs, text, lang)
    assert reply is not None and reply.startswith(expected), reply


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("quais os planos de vcs?", "pt_BR"),
        ("qual o valor da mensalidade?", "pt_BR"),
        ("me passa os valores pfv", "pt_BR"),
        ("what plans do you have?", "en"),
        ("que planes tienen?", "es"),
    ],
)
def test_the_plans_with_their_prices(
    nlu: EmbeddedUnderstander, book: PlanBook, catalogs: Catalogs, text: str, lang: str
) -> None:
    reply = asked(nlu, book, catalogs, text, lang)
    assert reply is not None
    assert reply.count("•") == 3
    assert ("89,90" if lang != "en" else "89.90") in reply and "149" in reply


def test_a_speed_without_a_plan_lists_the_plans(
    nlu: EmbeddedUnderstander, book: PlanBook, catalogs: Catalogs
) -> None:
    reply = asked(nlu, book, catalogs, "quanto custa o plano de 200 mega?", "pt_BR")
    assert reply is not None
    assert reply.startswith("Não temos um plano de 200 Mega.\nEstes são os nossos planos")
    assert "• Fibra 300 Mega: R$ 89,90 por mês (Wi-Fi 5 incluso)" in reply


@pytest.mark.parametrize(
    ("text", "lang", "words"),
    [
        ("tem fidelidade?", "pt_BR", "Não há fidelidade"),
        ("quanto tempo demora a instalação?", "pt_BR", "3 dias úteis"),
        ("aceita pix?", "pt_BR", "Pix"),
        ("vcs atendem sabado?", "pt_BR", "sábados"),
        ("o roteador é emprestado ou tenho que comprar?", "pt_BR", "emprestados"),
        ("is there a contract?", "en", "no minimum term"),
        ("cuanto tarda la instalacion?", "es", "3 días hábiles"),
    ],
)
def test_common_questions(
    nlu: EmbeddedUnderstander, book: PlanBook, catalogs: Catalogs, text: str, lang: str, words: str
) -> None:
    reply = asked(nlu, book, catalogs, text, lang)
    assert reply is not None and words in reply, reply


@pytest.mark.parametrize("text", ["quero contratar", "minha net caiu", "oi", "Maria Souza", ""])
def test_anything_else_is_not_answered_here(
    nlu: EmbeddedUnderstander, book: PlanBook, catalogs: Catalogs, text: str
) -> None:
    assert asked(nlu, book, catalogs, text, "pt_BR") is None


def test_an_empty_book_answers_nothing(catalogs: Catalogs) -> None:
    t = catalogs.translator("pt_BR")
    price = Understanding("ask_price", 0.9, (Entity(EntityKind.PLAN, "300", 0, 3),))
    for book in (PlanBook(), load_plan_book(""), load_plan_book(None)):
        assert book.answer(price, "pt_BR", t) is None
        assert book.answer(Understanding("faq_hours", 0.9), "pt_BR", t) is None
        assert book.listing("pt_BR", t) is None and book.options("pt_BR", t) == []


def test_a_topic_left_out_and_a_language_left_out(catalogs: Catalogs) -> None:
    book = PlanBook.from_data(
        {
            "plans": [{"speed": 600, "price": "119.9"}],
            "faq": {"payment": {"pt_BR": "Boleto ou Pix."}},
        }
    )
    t_es: Translate = catalogs.translator("es")
    assert book.answer(Understanding("faq_payment", 0.9), "es", t_es) == "Boleto ou Pix."
    assert book.answer(Understanding("faq_hours", 0.9), "es", t_es) is None
    price = Understanding("ask_price", 0.9, (Entity(EntityKind.PLAN, "600", 0, 3),))
    assert book.answer(price, "es", t_es) == "El plan 600 Megas cuesta R$ 119,90 al mes."


def test_plans_as_buttons_and_the_choice_read_back(book: PlanBook, catalogs: Catalogs) -> None:
    options = book.options("pt_BR", catalogs.translator("pt_BR"))
    assert [b.payload for b in options] == ["plan:300", "plan:500", "plan:1000"]
    assert options[0].label == "Fibra 300 Mega · R$ 89,90"
    chosen = book.chosen("plan:500")
    assert chosen is not None and chosen.speed == 500
    assert book.chosen("plan:999") is None and book.chosen("yes") is None
    assert book.by_speed("1000") is book.by_id("1000")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("plans: [{speed: 300}]", "plans.0.price: Field required"),
        ("plans: [{speed: 300, price: barato}]", "plans.0.price"),
        (
            "plans: [{speed: 300, price: 10}, {speed: 300, price: 20}]",
            "the speed 300 is used twice",
        ),
        ("plans: [{speed: 300, price: 10, preco: 2}]", "plans.0.preco"),
        ("faq: {horario: Das 8 às 18}", "topic horario is your own: write it as answer: and"),
        ("faq: {wifi: {answer: Sim, questions: ['tem wifi']}}", "at least 3 ways of asking"),
        ("faq: {Wi-Fi: Sim}", "name topics with lower_case words"),
        ("plans: [{speed: 300, price: 10}", "not YAML"),
    ],
)
def test_a_wrong_file_is_refused_naming_what_to_fix(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "plans.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_plan_book(path)
    assert f"OZBOT_PLANS_FILE={path}" in str(refused.value)
    assert says in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_plan_book(tmp_path / "nope.yml")


WIFI = {
    "faq": {
        "wifi": {
            "answer": {
                "pt_BR": "Sim: o roteador é Wi-Fi 6 e cobre até 120 m².",
                "en": "Yes: Wi-Fi 6.",
            },
            "questions": {
                "pt_BR": [
                    "o wifi pega em todos os comodos?",
                    "o sinal do wifi chega no quarto?",
                    "o roteador é wifi 6?",
                    "tem wifi 5g?",
                    "o wifi de vcs é bom?",
                ],
                "en": ["is the wifi good?", "does the wifi reach every room?", "is it wifi 6?"],
            },
        },
        "hours": {"answer": "Das 8h às 18h.", "questions": ["abre domingo?"]},
    }
}


def test_a_topic_of_the_providers_own_is_learnt_and_answered(catalogs: Catalogs) -> None:
    book = PlanBook.from_data(WIFI)
    assert book.extra_examples()["faq_wifi"]["en"] == [
        "is the wifi good?",
        "does the wifi reach every room?",
        "is it wifi 6?",
    ]
    assert book.extra_examples()["faq_hours"] == {"pt_BR": ["abre domingo?"]}
    nlu = EmbeddedUnderstander(extra_examples=book.extra_examples())
    understood = nlu.read("o sinal do wifi pega bem na sala?", language="pt_BR")
    assert understood.intent == "faq_wifi", understood.ranking
    t = catalogs.translator("pt_BR")
    assert book.answer(understood, "pt_BR", t) == "Sim: o roteador é Wi-Fi 6 e cobre até 120 m²."
    assert book.answer(Understanding("faq_hours", 0.9), "es", t) == "Das 8h às 18h."


def test_the_samples_commented_topic_of_ones_own_is_valid() -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("#     wifi:"))
    block = ["faq:"] + [line[3:] for line in lines[start : start + 7]]
    book = PlanBook.from_data(yaml.safe_load("\n".join(block)))
    assert list(book.extra_examples()) == ["faq_wifi"] and "wifi" in book.faq
