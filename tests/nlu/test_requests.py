"""Misreadings the other parts of the bot reported (/work/coord/nlu-requests.md during issue 9:
the conversation corpus and the dialogue wiring), each read as the flow would read it."""

from __future__ import annotations

import pytest

from bot.nlu import Expect, Option
from bot.nlu.base import EntityKind
from bot.nlu.embedded import EmbeddedUnderstander

K = EntityKind
PLANS = (Option("p300", "300 Mega"), Option("p500", "500 Mega"), Option("p1000", "1 Giga"))


@pytest.fixture(scope="module")
def nlu() -> EmbeddedUnderstander:
    return EmbeddedUnderstander()


@pytest.mark.parametrize(
    ("text", "expects", "code"),
    [
        ("sem net, meu codigo é cliente-massiva-caixa", Expect.NOTHING, "cliente-massiva-caixa"),
        ("cliente-massiva-regiao", Expect.ADDRESS, "cliente-massiva-regiao"),
        ("o codigo é cliente-erro", Expect.ADDRESS, "cliente-erro"),
        ("my customer code is acme_77", Expect.NOTHING, "acme_77"),
        ("OZB-7KQ2MX", Expect.ADDRESS, "OZB-7KQ2MX"),
    ],
)  # fmt: skip
def test_a_client_code_is_found_outside_the_code_prompt(
    nlu: EmbeddedUnderstander, text: str, expects: Expect, code: str
) -> None:
    assert nlu.read(text, expects=expects).value(K.CODE) == code


@pytest.mark.parametrize("text", ["quero internet wi-fi", "bem-vindo", "meu e-mail"])
def test_a_hyphenated_word_is_no_code(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text).first(K.CODE) is None


@pytest.mark.parametrize(
    ("text", "payload"),
    [("the 300 one", "p300"), ("quero o de 500", "p500"), ("el de 300 porfa", "p300")],
)
def test_a_plan_named_by_its_speed_is_the_option(
    nlu: EmbeddedUnderstander, text: str, payload: str
) -> None:
    understood = nlu.read(text, expects=Expect.OPTION, options=PLANS)
    assert understood.value(K.OPTION) == payload
    assert understood.intent == "inform"


def test_a_plan_by_its_speed_is_no_house_number(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("gostei do de 500, quero contratar")
    assert understood.intent == "buy"
    assert understood.value(K.PLAN) == "500"
    assert understood.first(K.HOUSE_NUMBER) is None


def test_a_name_sent_with_the_cpf_keeps_both(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("marcos vinicius rocha, cpf 529.982.247-25", expects=Expect.NAME)
    assert understood.value(K.PERSON_NAME) == "Marcos Vinicius Rocha"
    assert understood.value(K.CPF) == "52998224725"
    assert understood.intent == "inform"


@pytest.mark.parametrize("expects", [Expect.NAME, Expect.NOTHING])
@pytest.mark.parametrize("text", ["rosana lopes", "elisa matos", "Julieta Navarro"])
def test_a_bare_name_says_nothing_of_the_language(
    nlu: EmbeddedUnderstander, text: str, expects: Expect
) -> None:
    # None: nothing to tell it by, the conversation keeps its own
    assert nlu.read(text, expects=expects).language is None
    assert nlu.read(text, expects=expects, language="pt_BR").language is None
    assert nlu.read(text, expects=expects).intent == "inform"


def test_cobertura_where_a_unit_is_asked_is_the_penthouse(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("cobertura", expects=Expect.UNIT)
    assert understood.value(K.UNIT) == "cobertura"
    assert understood.intent == "inform"
    assert nlu.read("cobertura", expects=Expect.NOTHING).intent == "buy"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("pode apagar", "yes"),
        ("pode mandar o tecnico", "yes"),
        ("pensando bem nao, deixa", "no"),
        ("hmm, nao", "no"),
        ("bom, sim", "yes"),
    ],
)
def test_a_yes_or_no_inside_another_intent_is_an_entity_where_asked(
    nlu: EmbeddedUnderstander, text: str, answer: str
) -> None:
    assert nlu.read(text, expects=Expect.YES_NO).value(K.YES_NO) == answer


def test_pode_with_a_question_is_no_yes(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("pode cancelar depois?", expects=Expect.YES_NO)
    assert understood.first(K.YES_NO) is None
    assert understood.intent == "faq_contract"


def test_an_outage_question_with_an_address_is_an_outage(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("tem queda aqui na rua? moro na lauro linhares 600")
    assert understood.intent == "outage"
    assert understood.confidence >= 0.5


@pytest.mark.parametrize("text", ["???", "...", "?!", " ? "])
def test_punctuation_alone_is_no_intent(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text).intent is None


# from support (14:10)


@pytest.mark.parametrize(
    ("text", "number"),
    [("Rua Lauro Linhares, 900-A", "900A"), ("rua lauro linhares 900 a", "900A"),
     ("rua lauro linhares 900a", "900A"), ("rua lauro linhares 900 e quero fibra", "900")],
)  # fmt: skip
def test_a_house_number_with_its_letter_is_no_code(
    nlu: EmbeddedUnderstander, text: str, number: str
) -> None:
    understood = nlu.read(text, expects=Expect.ADDRESS)
    assert understood.first(K.CODE) is None
    assert understood.value(K.HOUSE_NUMBER) == number
    address = understood.value(K.ADDRESS)
    assert address is not None and address.lower().startswith("rua lauro linhares")


def test_a_number_and_letter_is_a_code_where_a_code_is_asked(nlu: EmbeddedUnderstander) -> None:
    assert nlu.read("900-A", expects=Expect.CODE).value(K.CODE) == "900-A"


# from dialogue (14:05)

CONFIRM = (Option("yes", "Sim, reservar"), Option("retry", "Corrigir endereço"),
           Option("no", "Agora não"))  # fmt: skip
CHECK = (Option("yes", "Sim, está certo"), Option("no", "Não, corrigir"))


@pytest.mark.parametrize(
    ("text", "options", "intent", "answer", "number"),
    [
        ("sim, mas posso cancelar depois?", CONFIRM, "faq_contract", "yes", None),
        ("nao, na verdade é 1500", CHECK, "correct", "no", "1500"),
    ],
)
def test_an_option_does_not_hide_the_rest_of_the_message(
    nlu: EmbeddedUnderstander,
    text: str,
    options: tuple[Option, ...],
    intent: str,
    answer: str,
    number: str | None,
) -> None:
    understood = nlu.read(text, expects=Expect.YES_NO, options=options)
    assert understood.intent == intent
    assert understood.value(K.YES_NO) == answer
    assert understood.first(K.OPTION) is None
    assert understood.value(K.HOUSE_NUMBER) == number


@pytest.mark.parametrize(
    ("text", "intent", "payload"),
    [("sim reservar", "affirm", "yes"), ("agora nao", "deny", "no"),
     ("corrigir endereco", "inform", "retry"), ("2", "inform", "retry")],
)  # fmt: skip
def test_an_option_that_is_the_whole_message_is_chosen_at_a_yes_no(
    nlu: EmbeddedUnderstander, text: str, intent: str, payload: str
) -> None:
    understood = nlu.read(text, expects=Expect.YES_NO, options=CONFIRM)
    assert (understood.intent, understood.value(K.OPTION)) == (intent, payload)


@pytest.mark.parametrize("expects", [Expect.NOTHING, Expect.TEXT])
def test_a_lone_joined_word_is_a_code(nlu: EmbeddedUnderstander, expects: Expect) -> None:
    understood = nlu.read("cliente-erro", expects=expects)
    assert understood.value(K.CODE) == "cliente-erro"
    assert understood.intent != "buy"


@pytest.mark.parametrize(("text", "payload"), [("o plano 2", "p500"), ("plano 3", "p1000")])
def test_a_plan_by_its_place_in_the_list(
    nlu: EmbeddedUnderstander, text: str, payload: str
) -> None:
    assert nlu.read(text, expects=Expect.OPTION, options=PLANS).value(K.OPTION) == payload


# found by the held-out report: rules that overrode a classifier that was right


@pytest.mark.parametrize(
    "text", ["no, el numero es 1500", "no, the number is 1500", "no, es rua bocaiuva 2468"]
)
def test_a_spanish_or_english_no_before_data_is_a_correction(
    nlu: EmbeddedUnderstander, text: str
) -> None:
    assert nlu.read(text).intent == "correct"


def test_what_is_said_of_a_street_is_not_its_name(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("la calle correcta es rua frei caneca")
    assert understood.value(K.ADDRESS) == "rua frei caneca"
    assert understood.intent == "correct"


@pytest.mark.parametrize(
    ("text", "unit"),
    [("o bloco é b", "bloco b"), ("o apto é 302", "apto 302"),
     ("the apartment is 302", "apto 302"), ("bloque: c", "bloco c")],
)  # fmt: skip
def test_a_unit_said_with_a_verb_is_data(nlu: EmbeddedUnderstander, text: str, unit: str) -> None:
    understood = nlu.read(text)
    assert understood.value(K.UNIT) == unit
    assert understood.intent == "inform"


def test_the_house_is_number_is_a_house_number(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("o numero da casa é 77")
    assert understood.value(K.HOUSE_NUMBER) == "77"
    assert understood.first(K.UNIT) is None
