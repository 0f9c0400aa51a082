"""Table tests for the entity rules, on what customers really type (and what must not be read
as an entity)."""

from __future__ import annotations

import pytest

from bot.nlu import entities as rules
from bot.nlu import facts
from bot.nlu.base import Entity, EntityKind
from bot.validation import NO_NUMBER

K = EntityKind


def values(found: list[Entity]) -> list[str]:
    return [e.value for e in found]


def check_spans(text: str, found: list[Entity]) -> None:
    for e in found:
        assert 0 <= e.start < e.end <= len(text), e


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("88025-200", ["88025200"]),
        ("meu cep é 88025200", ["88025200"]),
        ("cep 88.025-200 por favor", ["88025200"]),
        ("88025 200", ["88025200"]),
        ("o cep é 88015-600, apto 12", ["88015600"]),
        ("529.982.247-25", []),  # a CPF holds no CEP
        ("48 99999-1234", []),  # nor does a phone number
        ("88025-2000", []),
        ("rua delminda silveira 900", []),
    ],
)
def test_ceps(text: str, expected: list[str]) -> None:
    found = rules.ceps(text)
    assert values(found) == expected
    check_spans(text, found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meu cpf é 529.982.247-25", ["52998224725"]),
        ("52998224725", ["52998224725"]),
        ("cpf 39825979194 e o outro 907.483.378-06", ["39825979194", "90748337806"]),
        ("529.982.247-26", []),  # wrong check digit
        ("111.111.111-11", []),  # valid digits but all the same: not a CPF
        ("88025-200", []),
    ],
)
def test_cpfs(text: str, expected: list[str]) -> None:
    assert values(rules.cpfs(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cnpj 11.222.333/0001-81", ["11222333000181"]),
        ("o cnpj da loja é 45123456000187", ["45123456000187"]),
        ("11.222.333/0001-82", []),
        ("52998224725", []),
    ],
)
def test_cnpjs(text: str, expected: list[str]) -> None:
    assert values(rules.cnpjs(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected", "expected_where_asked"),
    [
        ("minha net caiu, codigo OZB-7K2M9Q", ["OZB-7K2M9Q"], ["OZB-7K2M9Q"]),
        ("cancelar ozb-7k2m9q pfv", ["OZB-7K2M9Q"], ["OZB-7K2M9Q"]),
        ("meu codigo de cliente é cliente_42", ["cliente_42"], ["cliente_42"]),
        ("reservation_123", ["reservation_123"], ["reservation_123"]),
        ("123|123", ["123|123"], ["123|123"]),
        ("12345", [], ["12345"]),  # digits alone are a code only where a code is asked
        ("minha internet caiu", [], []),
        ("s/n", [], []),
    ],
)
def test_codes(text: str, expected: list[str], expected_where_asked: list[str]) -> None:
    assert values(rules.codes(text, expected=False)) == expected
    assert values(rules.codes(text, expected=True)) == expected_where_asked


def test_codes_leave_taken_spans_alone() -> None:
    text = "cep 88025-200"
    taken = [(e.start, e.end) for e in rules.ceps(text)]
    assert rules.codes(text, expected=True, taken=taken) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apto 302 bloco b", ["apto 302 bloco b"]),
        ("n° 900 apto 302 bloco b", ["apto 302 bloco b"]),
        ("Ap. 12", ["apto 12"]),
        ("apartamento 1203, torre 2", ["apto 1203 torre 2"]),
        ("casa 3", ["casa 3"]),
        ("bl b ap 101", ["bloco b apto 101"]),
        ("depto 5", ["apto 5"]),
        ("sala 3", ["sala 3"]),
        ("casa 2 fundos", ["casa 2 fundos"]),  # where on the lot, kept with the unit
        ("casa 3 - frente", ["casa 3 frente"]),
        ("casa 4 dos fundos", ["casa 4 dos fundos"]),
        ("r. delminda silveira n. 1100 casa 2 fundos", ["casa 2 fundos"]),
        ("lote 7 quadra c", ["lote 7 quadra c"]),
        ("qd 3 lt 12", ["quadra 3 lote 12"]),
        ("apto 1201 bl a", ["apto 1201 bloco a"]),
        ("é a casa 7 da quadra b", ["casa 7 quadra b"]),  # one unit, "da" between its parts
        ("apto 302 do bloco b", ["apto 302 bloco b"]),
        ("ap. 12-b bl. c", ["apto 12b bloco c"]),  # the flat's letter after a dash
        ("casa 3-a", ["casa 3a"]),
        ("apto 12 - bloco b", ["apto 12 bloco b"]),
        ("quero internet em casa e tenho 2 filhos", []),  # "casa e" is no unit
        ("casa de frente pro mar", []),
        ("apaga meus dados", []),
        ("rua delminda silveira 900", []),
    ],
)
def test_units(text: str, expected: list[str]) -> None:
    found = rules.units(text)
    assert values(found) == expected
    check_spans(text, found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quero fibra na rua rui barbosa 1200/302", ["302"]),  # the flat after a slash
        ("tem fibra na rua delminda silveira 950 fundos?", ["fundos"]),
        ("rua bocaiuva 900 dos fundos", ["dos fundos"]),
        ("rua x 12 - frente", ["frente"]),
        ("rua rui barbosa 1200", []),
        ("a fibra chega dia 12/03?", []),  # a date: no address before it
        ("rua rui barbosa 1200/302/4", []),
    ],
)
def test_units_right_after_the_house_number(text: str, expected: list[str]) -> None:
    found = rules.units_after(text, rules.addresses(text))
    assert values(found) == expected
    for e in found:
        assert text[e.start : e.end].casefold() == e.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("302", ["302"]),
        ("fundos", ["fundos"]),
        ("é o 302", ["302"]),
        ("eh a 12b", ["12b"]),
        ("e o 1502", ["1502"]),
        ("no terreo", ["terreo"]),
        ("oi", []),
        ("paulo henrique costa", []),
    ],
)
def test_bare_units_where_a_unit_is_asked(text: str, expected: list[str]) -> None:
    assert values(rules.units(text, expected=True)) == expected
    assert rules.units(text) == []


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Loja 2", True),
        ("cobertura", True),
        ("kitnet dos fundos", True),
        ("Apto 302, Bloco B", True),
        ("paulo henrique costa", False),
        ("nao sei", False),
        ("pode ser", False),
    ],
)
def test_what_may_be_a_unit_as_written(text: str, unit: bool) -> None:
    assert rules.looks_like_unit(text) is unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "oi boa tarde, queria saber se tem fibra na rua delminda silveira 900",
            ["rua delminda silveira 900"],
        ),
        ("R. Delminda Silveira, 900", ["R. Delminda Silveira, 900"]),
        ("av. mauro ramos 450 apto 12", ["av. mauro ramos 450"]),
        ("moro na avenida governador irineu bornhausen 3200",
         ["avenida governador irineu bornhausen 3200"]),
        ("rua esteves junior 200, centro, florianopolis", ["rua esteves junior 200"]),
        ("travessa ramos 12", ["travessa ramos 12"]),
        ("o certo é rua frei caneca", ["rua frei caneca"]),
        ("rua sete de setembro 45", ["rua sete de setembro 45"]),
        ("tem fibra na rua?", []),
        ("a fibra da rua rompeu", []),  # one word and no number: no street
        ("rua 5", ["rua 5"]),
        ("quero internet", []),
        # the number marked as such is the street's: "n°", "nº", "n.", "num", "numero", "no"
        ("quero contratar fibra, rua rui barbosa n° 1200 apto 302 bloco b",
         ["rua rui barbosa n° 1200"]),
        ("boa noite, quero internet pra rua rui barbosa nº 1200 ap 504",
         ["rua rui barbosa nº 1200"]),
        ("quero fibra, r. delminda silveira n. 1100 casa 2 fundos",
         ["r. delminda silveira n. 1100"]),
        ("to me mudando pra rua bocaiuva num 900 e preciso de internet",
         ["rua bocaiuva num 900"]),
        ("eu me mudei agora pra rua delminda silveira numero 400 e queria ver",
         ["rua delminda silveira numero 400"]),
        ("av mauro ramos, nº 1500", ["av mauro ramos, nº 1500"]),
        ("rua frei caneca no 250", ["rua frei caneca no 250"]),
        ("moro na rua frei caneca no centro", ["rua frei caneca"]),  # "no" alone: no number
        # a unit part ends the street's name: "quadra 3" is no number of "rua x quadra"
        ("moro na rua delminda silveira quadra 3 lote 12", ["rua delminda silveira"]),
        ("rua das palmeiras qd 5 lt 3", ["rua das palmeiras"]),
        # "r" without its dot is "rua" only with a number: "r u open now" is English texting
        ("r u open now", []),
        ("r u a real person?", []),
        ("r delminda silveira 900", ["r delminda silveira 900"]),
        ("r. delminda silveira", ["r. delminda silveira"]),
        ("quero fibra na rua rui barbosa 1.200 apto 302", ["rua rui barbosa 1.200"]),  # 1200
    ],
)  # fmt: skip
def test_addresses(text: str, expected: list[str]) -> None:
    found = rules.addresses(text)
    assert values(found) == expected
    for e in found:
        assert text[e.start : e.end] == e.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n° 900", ["900"]),
        ("nº900", ["900"]),
        ("numero 900", ["900"]),
        ("número 1500 b", ["1500B"]),
        ("rua x, nro 45", ["45"]),
        ("s/n", [NO_NUMBER]),
        ("servidao dos lirios sem numero", [NO_NUMBER]),
        ("nº 1.200", ["1200"]),  # the thousands dot
        ("nao tem numero", [NO_NUMBER]),
        ("a casa não tem nº", [NO_NUMBER]),
        ("sem nº", [NO_NUMBER]),
        ("it has no number", [NO_NUMBER]),
        ("sin número", [NO_NUMBER]),
        ("nao tem", []),  # a "no" alone is no number
        ("apto 302", []),
        ("900", []),  # a bare number is read by free_numbers, where a number is expected
    ],
)
def test_marked_house_numbers(text: str, expected: list[str]) -> None:
    assert values(rules.house_numbers(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("900", ["900"]),
        ("na verdade é 1500", ["1500"]),
        ("é 902 e nao 900", ["902"]),
        ("nao é 900 é 990", ["990"]),
        ("nao, na verdade é 1.500", ["1500"]),  # the thousands dot
        ("custa 1.500,00?", []),  # a price with cents
        ("é 1.5", []),
        ("instala em 2 dias?", []),
        ("quero o de 300 mega", []),
        ("fidelidade de 12 meses?", []),
        ("88025-200", []),
    ],
)
def test_free_numbers(text: str, expected: list[str]) -> None:
    taken = [(e.start, e.end) for e in rules.ceps(text)]
    assert values(rules.free_numbers(text, taken=taken)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quanto é o plano de 300 mega?", ["300"]),
        ("300mb", ["300"]),
        ("tem de 500 megas?", ["500"]),
        ("quero 1 giga", ["1000"]),
        ("1gb", ["1000"]),
        ("1,5 giga", ["1500"]),
        ("600 Mbps", ["600"]),
        ("o plano de 500 é bom?", ["500"]),
        ("the 1 gig one", ["1000"]),
        ("2 gigs", ["2000"]),
        ("moro a 300 m da praia", []),  # metres
        ("apto 302", []),
    ],
)
def test_plans(text: str, expected: list[str]) -> None:
    assert values(rules.plans(text)) == expected


def test_overlaps() -> None:
    assert rules.overlaps(2, 5, [(4, 8)])
    assert not rules.overlaps(2, 4, [(4, 8)])


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("quero fibra na rua rui barbosa 1.200 apto 302", "1200"),
        ("rua rui barbosa, 1.200", "1200"),
        ("rua rui barbosa n° 1.200", "1200"),
        ("rua delminda silveira 900", "900"),
    ],
)
def test_the_house_number_of_an_address_with_a_thousands_dot(text: str, number: str) -> None:
    found = facts.find(text)
    assert [e.value for e in found if e.kind is K.HOUSE_NUMBER] == [number]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Apto 302, Bloco B", {"apto", "bloco"}),
        ("bloco c", {"bloco"}),
        ("Quadra 3 Lote 12", {"quadra", "lote"}),
        ("cobertura", set()),
    ],
)
def test_unit_kinds(text: str, kinds: set[str]) -> None:
    assert rules.unit_kinds(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "al inicio porfa",
        "ir al menu principal",
        "toda la calle esta sin internet",
        "a rua toda ta sem net",
        "the street has no internet",
    ],
)
def test_no_address_in_words_about_the_street_or_spanish_al(text: str) -> None:
    # "al" is Alameda only with a number; a street's name stops where its service is told of
    assert rules.addresses(text) == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("al santos 120", "al santos 120"),
        ("moro na rua rui barbosa e ta sem internet", "rua rui barbosa"),
        ("calle delminda silveira 900 esta sin internet", "calle delminda silveira 900"),
    ],
)
def test_the_street_before_what_is_said_of_it(text: str, span: str) -> None:
    assert [e.value for e in rules.addresses(text)] == [span]
