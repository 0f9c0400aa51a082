"""Table tests for the short-answer readers: yes/no, options, names."""

from __future__ import annotations

import pytest

from bot.nlu.answers import doubts, looks_like_name, named, option, proper_case, yes_no
from bot.nlu.base import Option

COMMON = frozenset({"quero", "internet", "quanto", "custa", "oi", "sim", "nao", "meu", "cpf"})


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("sim", False, "yes"),
        ("simmm", False, "yes"),
        ("Siiim!", False, "yes"),
        ("blz", False, "yes"),
        ("pode reservar pfv", False, "yes"),
        ("fechado", False, "yes"),
        ("isso mesmo", False, "yes"),
        ("👍", False, "yes"),
        ("✅", False, "yes"),
        ("bora", False, "yes"),
        ("manda ver", False, "yes"),
        ("confrimo", False, "yes"),  # a typo of "confirmo"
        ("yes", False, "yes"),
        ("dale", False, "yes"),
        ("não", False, "no"),
        ("nao nao", False, "no"),
        ("naaao", False, "no"),
        ("agora não", False, "no"),
        ("👎", False, "no"),
        ("❌", False, "no"),
        ("nope", False, "no"),
        ("s", True, "yes"),
        ("n", True, "no"),
        ("s", False, None),  # a lone letter is an answer only where a yes or no was asked
        ("n", False, None),
        ("sim, mas posso cancelar depois?", True, "yes"),
        ("nao, na verdade é 1500", True, "no"),
        ("sim, mas posso cancelar depois?", False, None),
        ("nao funciona a internet", False, None),
        ("quero cancelar", True, None),
        ("pode cancelar", False, None),
        ("valeu", False, None),  # thanks, not the Spanish "vale"
        ("si, correcto", False, "yes"),  # nearer "correcto" than "incorrecto"
        ("incorrecto", False, "no"),
        ("valeuuu", True, None),
        ("", True, None),
    ],
)
def test_yes_no(text: str, asked: bool, expected: str | None) -> None:
    found = yes_no(text, asked=asked)
    assert (found.value if found else None) == expected
    if found is not None:
        assert 0 <= found.start < found.end <= len(text)


OPTIONS = (
    Option("plan:300", "300 Mega - R$ 99,90"),
    Option("plan:500", "500 Mega - R$ 119,90"),
    Option("plan:1000", "1 Giga - R$ 199,90"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", "plan:500"),
        ("opção 2", "plan:500"),
        ("opcao 3", "plan:1000"),
        ("2️⃣", "plan:500"),
        ("a segunda", "plan:500"),
        ("o primeiro", "plan:300"),
        ("a ultima", "plan:1000"),
        ("the second one", "plan:500"),
        ("1 giga", "plan:1000"),
        ("500 mega", "plan:500"),
        ("500 mgea", "plan:500"),  # typo
        ("4", None),  # out of range
        ("quero falar com atendente", None),
        ("", None),
    ],
)
def test_option(text: str, expected: str | None) -> None:
    found = option(text, OPTIONS)
    assert (found.value if found else None) == expected


def test_option_without_options_is_none() -> None:
    assert option("2", ()) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maria da silva", "Maria da Silva"),
        ("JOÃO PEDRO DOS SANTOS", "João Pedro dos Santos"),
        ("ana-luiza d'avila", "Ana-Luiza D'Avila"),
        ("carlos e souza", "Carlos e Souza"),
    ],
)
def test_proper_case(text: str, expected: str) -> None:
    assert proper_case(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria Souza", True),
        ("maria da silva", True),
        ("Luiza", True),
        ("José Carlos de Oliveira Neto", True),
        ("mas quanto custa a mensalidade?", False),
        ("quero internet", False),
        ("maria 123", False),
        ("da silva", False),  # a name does not start with a particle
        ("um dois tres quatro cinco seis", False),  # too many words
        ("oi", False),
        ("", False),
    ],
)
def test_looks_like_name(text: str, expected: bool) -> None:
    assert looks_like_name(text, COMMON) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meu nome é maria souza", "Maria Souza"),
        ("meu nome é Maria Souza e meu cpf é 529.982.247-25", "Maria Souza"),
        ("sou a fernanda", "Fernanda"),
        ("aqui é o jorge, tudo bem?", "Jorge"),
        ("me chamo roberto lima da costa", "Roberto Lima da Costa"),
        ("my name is Mary Smith", "Mary Smith"),
        ("me llamo Juan Perez", "Juan Perez"),
        # bought for someone else: the name said as theirs
        ("o nome dela é vera lucia campos", "Vera Lucia Campos"),
        ("nome da minha mae eh ana maria souza", "Ana Maria Souza"),
        ("her name is mary jones", "Mary Jones"),
        ("su nombre es juana perez", "Juana Perez"),
        ("qual o nome do plano e o preco?", None),
        ("meu nome é", None),
        ("oi quero internet", None),
    ],
)
def test_named(text: str, expected: str | None) -> None:
    found = named(text, COMMON)
    assert (found.value if found else None) == expected
    if found is not None:
        assert text[found.start : found.end].casefold() == expected.casefold()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no esta bien", "no"),
        ("nao ta certo", "no"),
        ("nao ta bom nao", "no"),
        ("not right", "no"),
        ("not ok", "no"),
        ("no, esta bien", "no"),
        ("ta bom", "yes"),
        ("esta bien", "yes"),
    ],
)
def test_a_message_led_by_a_no_is_never_a_yes(text: str, expected: str) -> None:
    # "no esta bien" is nearest "esta bien" of the yes list: the no leading it decides
    found = yes_no(text, asked=True)
    assert found is not None and found.value == expected
    if expected == "no":
        unasked = yes_no(text, asked=False)
        assert unasked is None or unasked.value == "no"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beleza nao", None),
        ("beleza, nao", None),
        ("ok no", None),
        ("sim nao", None),
        ("pode esquecer", "no"),
        ("pode parar", "no"),
        ("pode esquecer, obrigado", "no"),
        ("beleza", "yes"),
        ("pode reservar", "yes"),
        ("sim, mas posso cancelar depois?", "yes"),
        ("nao nao", "no"),
    ],
)
def test_a_short_answer_that_takes_its_yes_back_is_no_yes(text: str, expected: str | None) -> None:
    # "beleza nao" and "pode esquecer" at the summary reserved (the word they start with was
    # taken for the answer): a reviewer's finding, played end to end
    found = yes_no(text, asked=True)
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pode reservar, vou pensar no plano depois",
        "sim, nao sei se precisa de cpf mas pode reservar",
        "sim pode reservar, talvez eu mude pro de 500 depois",
        "sure, go ahead, maybe I'll upgrade later",
        "si, reserva, quizás después cambio de plan",
        "sim, esse mesmo, só não tenho certeza do cep",
    ],
)
def test_a_doubt_about_something_else_beside_a_go_ahead_is_no_doubt(text: str) -> None:
    """blind5's review of 4076f0c: the doubt took back a clear yes (the summary asked again)."""
    assert not doubts(text)


@pytest.mark.parametrize(
    "text",
    [
        "pode ser, mas nao tenho certeza ainda",
        "nao sei se quero reservar",
        "talvez",
        "not sure, let me think",
        "nao sei se reservo, vou pensar",
        "maybe, go ahead? not sure",
        "sim, mas não tenho certeza",
        "nao pode reservar, vou pensar",
    ],
)
def test_a_doubt_about_the_yes_itself_stays_one(text: str) -> None:
    assert doubts(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pode reservar, vou pensar no plano depois", "yes"),  # "no plano": in the plan
        ("pode reservar, mas nao agora", None),
        ("pode reservar, nao quero mais", None),
        ("pode reservar, no quiero", None),
        ("pode reservar? vou pensar", None),
    ],
)
def test_a_go_ahead_in_a_clause_of_its_own_is_a_yes_unless_a_no_is_said(
    text: str, value: str | None
) -> None:
    found = yes_no(text, asked=True)
    assert (found.value if found else None) == value
