"""The embedded understander on messages that are NOT in the data set (fresh customer messages:
the honest check of generalisation), the bias of ``expects``, robustness, extra examples."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.sparse import hstack

from bot.nlu import Expect, Option, Understander
from bot.nlu.base import EntityKind
from bot.nlu.data import load_examples
from bot.nlu.embedded import EmbeddedUnderstander
from bot.nlu.model import train, trained
from bot.nlu.text import MAX_CHARS, fold

K = EntityKind
STREETS = ("Rua Delminda Silveira", "Rua Rui Barbosa", "Avenida Mauro Ramos", "Rua Frei Caneca")


@pytest.fixture(scope="module")
def nlu() -> EmbeddedUnderstander:
    return EmbeddedUnderstander(known_streets=STREETS)


FRESH = [
    ("oiee boa noite td bem", "greet", "pt_BR"),
    ("bom diaaa pessoal da fibra", "greet", "pt_BR"),
    ("kkkkkk vc é robo msm ne", "chitchat", "pt_BR"),
    ("brigadao pela ajuda viu", "thank", "pt_BR"),
    ("falou, tchau tchau", "goodbye", "pt_BR"),
    ("deixa pra la, mudei de ideia", "stop", "pt_BR"),
    ("queria colocar fibra aqui no apartamento", "buy", "pt_BR"),
    ("boa tarde vcs tem fibra na rua frei caneca 450?", "buy", "pt_BR"),
    ("minha net ta caindo direto desde ontem", "outage", "pt_BR"),
    ("a internet ta lentaaa demais hj", "outage", "pt_BR"),
    ("quero cancelar a reserva que fiz semana passada", "cancel", "pt_BR"),
    ("me passa pra um atendente humano pfv", "human", "pt_BR"),
    ("quero que apaguem meus dados do sistema", "erase_data", "pt_BR"),
    ("volta pro menu inicial", "menu", "pt_BR"),
    ("e qual o preço daquele plano de 600 mega?", "ask_price", "pt_BR"),
    ("quais planos de fibra vcs tem ai?", "ask_price", "pt_BR"),
    ("vcs atendem ate que horas no sabado?", "faq_hours", "pt_BR"),
    ("tem multa se eu cancelar antes de 1 ano?", "faq_contract", "pt_BR"),
    ("quantos dias demora pra vir instalar?", "faq_install", "pt_BR"),
    ("da pra pagar com pix ou so boleto?", "faq_payment", "pt_BR"),
    ("o roteador vem junto no plano?", "faq_equipment", "pt_BR"),
    ("qual o melhor restaurante da cidade?", "out_of_scope", "pt_BR"),
    ("hi there, good afternoon", "greet", "en"),
    ("my internet has been down since this morning", "outage", "en"),
    ("please cancel the reservation i made", "cancel", "en"),
    ("how much is the 500 mega plan per month?", "ask_price", "en"),
    ("hola, se me corto el internet otra vez", "outage", "es"),
    ("quiero contratar fibra para mi departamento", "buy", "es"),
    ("cuanto cuesta el plan de 300 megas por mes?", "ask_price", "es"),
]


def test_fresh_messages_are_not_in_the_data() -> None:
    folded = {fold(e.text) for e in load_examples()}
    assert [text for text, _, _ in FRESH if fold(text) in folded] == []


@pytest.mark.parametrize(("text", "intent", "language"), FRESH)
def test_fresh_messages(nlu: EmbeddedUnderstander, text: str, intent: str, language: str) -> None:
    understood = nlu.read(text)
    assert (understood.intent, understood.language) == (intent, language)
    assert understood.ranking[0][0] == intent


async def test_the_port_answers_as_read(nlu: EmbeddedUnderstander) -> None:
    assert isinstance(nlu, Understander)
    read = nlu.read("minha net caiu", expects=Expect.NOTHING)
    assert await nlu.understand("minha net caiu") == read


def test_a_greeting_glued_to_a_request_keeps_the_request_and_the_address(
    nlu: EmbeddedUnderstander,
) -> None:
    understood = nlu.read("oi boa tarde, queria saber se tem fibra na rua delminda silveira 900")
    assert understood.intent == "buy"
    assert understood.value(K.ADDRESS) == "rua delminda silveira 900"
    assert understood.value(K.HOUSE_NUMBER) == "900"


def test_a_known_street_is_found_without_its_type(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("tem fibra na delminda silvera 900?")
    assert understood.value(K.ADDRESS) == "delminda silvera 900"


def test_several_facts_in_one_message(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read(
        "meu nome é maria souza, cpf 529.982.247-25, moro na av mauro ramos 450 apto 12",
        expects=Expect.NAME,
    )
    assert understood.value(K.PERSON_NAME) == "Maria Souza"
    assert understood.value(K.CPF) == "52998224725"
    assert understood.value(K.ADDRESS) == "av mauro ramos 450"
    assert understood.value(K.HOUSE_NUMBER) == "450"
    assert understood.value(K.UNIT) == "apto 12"
    for e in understood.entities:
        assert 0 <= e.start < e.end


@pytest.mark.parametrize(
    ("text", "expects", "intent", "kind", "value"),
    [
        ("s", Expect.YES_NO, "affirm", K.YES_NO, "yes"),
        ("n", Expect.YES_NO, "deny", K.YES_NO, "no"),
        ("blz", Expect.YES_NO, "affirm", K.YES_NO, "yes"),
        ("pode reservar pfv", Expect.YES_NO, "affirm", K.YES_NO, "yes"),
        ("👍", Expect.YES_NO, "affirm", K.YES_NO, "yes"),
        ("simmm", Expect.YES_NO, "affirm", K.YES_NO, "yes"),
        ("900", Expect.NUMBER, "inform", K.HOUSE_NUMBER, "900"),
        ("302", Expect.UNIT, "inform", K.UNIT, "302"),
        ("maria da silva", Expect.NAME, "inform", K.PERSON_NAME, "Maria da Silva"),
        ("Luiza", Expect.NAME, "inform", K.PERSON_NAME, "Luiza"),
        ("88025200", Expect.ADDRESS, "inform", K.CEP, "88025200"),
        ("529.982.247-25", Expect.CPF, "inform", K.CPF, "52998224725"),
        ("reservation_123", Expect.CODE, "inform", K.CODE, "reservation_123"),
        ("nao, na verdade é 1500", Expect.YES_NO, "correct", K.HOUSE_NUMBER, "1500"),
        ("errei, é apto 302", Expect.YES_NO, "correct", K.UNIT, "apto 302"),
    ],
)
def test_expects_biases_reading(
    nlu: EmbeddedUnderstander, text: str, expects: Expect, intent: str, kind: K, value: str
) -> None:
    understood = nlu.read(text, expects=expects)
    assert (understood.intent, understood.value(kind)) == (intent, value)


def test_a_lone_letter_is_no_answer_where_none_was_asked(nlu: EmbeddedUnderstander) -> None:
    assert nlu.read("s").value(K.YES_NO) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("mas quanto custa a mensalidade?", "ask_price"),
        ("quero falar com um atendente", "human"),
        ("desisti", "stop"),
        ("minha internet caiu", "outage"),
    ],
)
def test_a_clear_request_at_the_name_prompt_is_no_name(
    nlu: EmbeddedUnderstander, text: str, intent: str
) -> None:
    understood = nlu.read(text, expects=Expect.NAME)
    assert understood.intent == intent
    assert understood.value(K.PERSON_NAME) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # their letters resemble a yes ("sim", "si") and a stop ("quit"): the classifier alone
        # read them as affirm and stop, and the sale asked the name again
        ("simone batista", "Simone Batista"),
        ("otavio mesquita", "Otavio Mesquita"),
    ],
)
def test_a_full_name_at_the_name_prompt_is_the_name_whatever_its_letters_resemble(
    nlu: EmbeddedUnderstander, text: str, name: str
) -> None:
    understood = nlu.read(text, expects=Expect.NAME)
    assert (understood.intent, understood.value(K.PERSON_NAME)) == ("inform", name)


@pytest.mark.parametrize(
    ("text", "expects", "intent"),
    [
        # an answer with no price word and no "?" is no price question (was ask_price 0.90)
        ("é o 302", Expect.UNIT, "inform"),
        # forgetting what was sent, the data named, is the erasure (was stop 0.91)
        ("esquece tudo q eu te mandei, nao quero meu cpf ai com vcs", Expect.NOTHING, "erase_data"),
        # "that one, then" after a price answer is the choice (was nothing, then a name)
        ("ese entonces", Expect.NAME, "affirm"),
    ],
)
def test_what_the_blind_conversations_misread(
    nlu: EmbeddedUnderstander, text: str, expects: Expect, intent: str
) -> None:
    assert nlu.read(text, expects=expects).intent == intent


def test_a_question_at_the_yes_no_prompt_is_a_digression_carrying_the_yes(
    nlu: EmbeddedUnderstander,
) -> None:
    understood = nlu.read("sim, mas posso cancelar depois?", expects=Expect.YES_NO)
    assert understood.intent == "faq_contract"
    assert understood.value(K.YES_NO) == "yes"


def test_options_by_number_ordinal_and_label(nlu: EmbeddedUnderstander) -> None:
    options = [Option("plan:300", "300 Mega"), Option("plan:500", "500 Mega")]
    for text in ("2", "a segunda", "500 mega", "quero o 500 mega"):
        understood = nlu.read(text, expects=Expect.OPTION, options=options)
        assert understood.value(K.OPTION) == "plan:500", text


def test_plan_speed_is_found(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("quanto custa o de 1 giga?")
    assert (understood.intent, understood.value(K.PLAN)) == ("ask_price", "1000")


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("900", None, None),
        ("ok", None, None),
        ("ok", "en", None),
        ("sim", "pt_BR", "pt_BR"),
        ("my internet is not working at all", "pt_BR", "en"),
        ("hola, no tengo internet desde ayer", None, "es"),
    ],
)
def test_language(
    nlu: EmbeddedUnderstander, text: str, hint: str | None, expected: str | None
) -> None:
    assert nlu.read(text, language=hint).language == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00",
        "\ud800\udfff\ud83d",  # lone surrogates
        "😀😀😀",
        "🙂" * 500,
        "x" * 10_000,
        "rua " * 3000,
        "9" * 5000,
        "?!?!?!",
        "\u200d\ufe0f",
    ],
)
@pytest.mark.parametrize("expects", list(Expect))
def test_never_raises(nlu: EmbeddedUnderstander, text: str, expects: Expect) -> None:
    options = [Option("a", "Opção A"), Option("b", "Opção B")]
    understood = nlu.read(text, expects=expects, language="pt_BR", options=options)
    assert 0.0 <= understood.confidence <= 1.0
    for e in understood.entities:
        assert 0 <= e.start < e.end <= min(len(text), MAX_CHARS)


def test_random_text_never_raises(nlu: EmbeddedUnderstander) -> None:
    rng = random.Random(9)
    for _ in range(300):
        text = "".join(chr(rng.choice([rng.randrange(0, 0x250), rng.randrange(0, 0x110000)]))
                       for _ in range(rng.randrange(0, 40)))  # fmt: skip
        nlu.read(text, expects=rng.choice(list(Expect)))


@pytest.mark.parametrize("text", ["🤔", "🙃", "🫠🫠"])
def test_emoji_the_model_does_not_know_are_small_talk(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text).intent == "chitchat"


def test_empty_text_is_no_intent(nlu: EmbeddedUnderstander) -> None:
    understood = nlu.read("   ")
    assert (understood.intent, understood.confidence, understood.entities) == (None, 0.0, ())


def test_extra_examples_make_a_provider_faq_an_intent() -> None:
    extra = {
        "faq_wifi_password": {
            "pt_BR": [
                "qual a senha do wifi?",
                "esqueci a senha da rede",
                "como troco a senha do wifi",
                "quero mudar a senha do roteador",
                "nao lembro a senha do wifi",
                "senha da internet",
            ]
        }
    }
    nlu = EmbeddedUnderstander(extra_examples=extra)
    assert "faq_wifi_password" in nlu.model.intents
    assert nlu.read("esqueci minha senha do wifi, como faço?").intent == "faq_wifi_password"
    # trained once per process for the same examples
    assert EmbeddedUnderstander(extra_examples=extra).model is nlu.model


def test_the_model_is_trained_once_per_process() -> None:
    assert EmbeddedUnderstander().model is EmbeddedUnderstander().model is trained()


def test_fast_scores_are_scikit_learns() -> None:
    model = train(load_examples())  # trained here: a model read from the cache keeps no fit
    *vectorizers, intent_svm, language_svm = model.fitted
    for text in ("minha net caiu", "quanto custa o plano de 300 mega?", "oi", "zzzz qqq"):
        folded = fold(text)
        row = hstack([v.transform([folded]) for v in vectorizers]).tocsr()
        expected = intent_svm.decision_function(row)[0]
        index, values = model.vector(folded)
        margins = values @ model.intent.weights[index] + model.intent.bias
        assert np.allclose(margins, expected)
        assert list(model.intent.labels) == list(intent_svm.classes_)
        assert language_svm is not None


@pytest.mark.parametrize(("text", "intent"), [("simm 👍", "affirm"), ("nao 👎", "deny")])
def test_a_yes_or_no_with_emoji_is_the_answer(
    nlu: EmbeddedUnderstander, text: str, intent: str
) -> None:
    assert nlu.read(text, expects=Expect.YES_NO).intent == intent


@pytest.mark.parametrize(
    ("text", "plan", "name"),
    [("300 joao silva", "300", "Joao Silva"), ("maria souza, 500", "500", "Maria Souza")],
)
def test_a_bare_speed_beside_a_name_at_the_name_prompt_is_the_plan(
    nlu: EmbeddedUnderstander, text: str, plan: str, name: str
) -> None:
    # where the name is asked the plans were just listed: the speed is the one chosen
    understood = nlu.read(text, expects=Expect.NAME)
    assert understood.value(K.PLAN) == plan and understood.value(K.PERSON_NAME) == name


@pytest.mark.parametrize("text", ["na verdade é 1500", "rua delminda silveira 300"])
def test_a_number_with_no_name_beside_it_is_no_plan_at_the_name_prompt(
    nlu: EmbeddedUnderstander, text: str
) -> None:
    assert nlu.read(text, expects=Expect.NAME).value(K.PLAN) is None


@pytest.mark.parametrize(
    ("text", "unit", "name"),
    [
        ("apto 12, maria souza", "apto 12", "Maria Souza"),
        ("joao pedro alves - casa 3", "casa 3", "Joao Pedro Alves"),
    ],
)
def test_a_full_name_beside_the_unit_where_the_unit_is_asked(
    nlu: EmbeddedUnderstander, text: str, unit: str, name: str
) -> None:
    understood = nlu.read(text, expects=Expect.UNIT)
    assert understood.value(K.UNIT) == unit and understood.value(K.PERSON_NAME) == name


@pytest.mark.parametrize("text", ["bloco b torre sul", "apto 12 bloco sul", "casa 3 fundos"])
def test_the_rest_of_a_unit_is_no_name(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text, expects=Expect.UNIT).first(K.PERSON_NAME) is None


@pytest.mark.parametrize(
    "text", ["jorge amado, tem taxa de instalacao?", "tem fidelidade? jorge amado"]
)
def test_a_full_name_as_a_clause_beside_a_question_at_the_name_prompt(
    nlu: EmbeddedUnderstander, text: str
) -> None:
    understood = nlu.read(text, expects=Expect.NAME)
    assert understood.value(K.PERSON_NAME) == "Jorge Amado"
    assert nlu.read(text).first(K.PERSON_NAME) is None  # only where the name is asked


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        ("ok it's Daniel Park", "en", "Daniel Park"),
        ("please let me know when it gets here, I'm Tom Baker", "en", "Tom Baker"),
        ("buenas! soy lucia fernandez, quiero el plan de 1 giga", "es", "Lucia Fernandez"),
    ],
)
def test_a_full_name_after_a_lead_in(
    nlu: EmbeddedUnderstander, text: str, language: str, name: str
) -> None:
    assert nlu.read(text, language=language).value(K.PERSON_NAME) == name


@pytest.mark.parametrize("text", ["this is ridiculous", "I'm not sure", "soy cliente"])
def test_a_lead_in_before_no_full_name_gives_no_name(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text).first(K.PERSON_NAME) is None


@pytest.mark.parametrize("text", ["joya", "joia", "de una"])
def test_slang_yes(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text, expects=Expect.YES_NO).value(K.YES_NO) == "yes"


def test_a_street_without_internet_is_an_outage(nlu: EmbeddedUnderstander) -> None:
    # the street's span once ran over "esta sin internet", which, masked, read as data
    understood = nlu.read("toda la calle esta sin internet", language="es")
    assert understood.intent == "outage" and understood.first(K.ADDRESS) is None
