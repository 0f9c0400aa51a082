"""Streets written loosely, as customers write them: by the distinctive part of the name only
("na delminda", "la na bornhausen"), by a popular alias with or without its hyphen ("beira mar
norte", "beiramar norte"), with a landmark and "numero 900" around them. Found by the
understander (the sandbox gazetteer's names and aliases) and placed by the gazetteer; ordinary
words and people's names stay no streets."""

from __future__ import annotations

import pytest

from bot.geo.gazetteer import Gazetteer
from bot.nlu import Expect
from bot.nlu.base import EntityKind
from bot.nlu.embedded import EmbeddedUnderstander
from bot.nlu.streets import StreetIndex

K = EntityKind


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_file()


@pytest.fixture(scope="module")
def nlu(gazetteer: Gazetteer) -> EmbeddedUnderstander:
    # the names and aliases, as the composition root passes them (Gazetteer.street_names)
    return EmbeddedUnderstander(
        known_streets=[n for s in gazetteer.streets for n in (s.name, *s.aliases)]
    )


@pytest.mark.parametrize(
    ("text", "expects", "street", "number"),
    [
        ("moro perto do mercado na delminda, numero 900", Expect.ADDRESS, "Delminda", "900"),
        ("fica na delmida 900 perto da padaria", Expect.ADDRESS, "Delminda", "900"),
        ("tem fibra la na bornhausen 2300?", Expect.NOTHING, "Irineu Bornhausen", "2300"),
        ("na irineu bornhausen, n 2300", Expect.ADDRESS, "Irineu Bornhausen", "2300"),
        ("boa tarde! tem cobertura na beira mar norte 2300?", Expect.NOTHING, "Bornhausen", "2300"),
        ("fica na beiramar norte 2300", Expect.ADDRESS, "Bornhausen", "2300"),
        ("na Beira-Mar Norte, 2300", Expect.ADDRESS, "Bornhausen", "2300"),
        ("do you cover beira mar norte 2300?", Expect.NOTHING, "Bornhausen", "2300"),
        ("hay fibra en la benvenuta 1500?", Expect.NOTHING, "Madre Benvenuta", "1500"),
        ("la na mauro ramos 450", Expect.ADDRESS, "Mauro Ramos", "450"),
        ("moro na bocaiuva 100 do lado do mercado", Expect.ADDRESS, "Bocaiúva", "100"),
        ("i live on schmidt 200, next to the bakery", Expect.ADDRESS, "Felipe Schmidt", "200"),
    ],
)
def test_a_street_named_loosely_is_found_and_placed(
    nlu: EmbeddedUnderstander,
    gazetteer: Gazetteer,
    text: str,
    expects: Expect,
    street: str,
    number: str,
) -> None:
    understood = nlu.read(text, expects=expects)
    typed = understood.value(K.ADDRESS)
    assert typed is not None, understood
    [best, *_] = gazetteer.geocode(typed)
    assert street in best.street
    assert best.number == number


@pytest.mark.parametrize(
    "text",
    [
        "meu nome é lauro",
        "o menino ta sem net",
        "moro no centro perto da caneca",
        "eh perto do mercado",
        "na beira da praia",
        "quero o plano mais rapido no norte da ilha",
        "caiu a net de novo",
    ],
)
def test_ordinary_words_are_no_street(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text, expects=Expect.ADDRESS).value(K.ADDRESS) is None


def test_part_of_a_name_needs_a_place_word_or_a_number() -> None:
    index = StreetIndex(["Rua Delminda Silveira"])
    assert [e.value for e in index.find("moro na delminda")] == ["delminda"]
    assert [e.value for e in index.find("delminda 900")] == ["delminda 900"]
    assert index.find("a delminda ligou") == []  # a person, maybe: no place said
    assert [e.value for e in index.find("a delminda silveira")] == ["delminda silveira"]


def test_a_title_or_a_first_name_alone_is_no_street() -> None:
    index = StreetIndex(["Avenida Governador Irineu Bornhausen", "Avenida Mauro Ramos"])
    assert index.find("moro na governador 100") == []
    assert index.find("fica no mauro 100") == []
    assert [e.value for e in index.find("fica na ramos 100")] == []  # a surname, too common


@pytest.mark.parametrize(
    ("query", "street"),
    [
        ("bornhausen 2300", "Avenida Governador Irineu Bornhausen"),
        ("beiramar norte, 2300", "Avenida Governador Irineu Bornhausen"),
        ("beira-mar norte 2300", "Avenida Governador Irineu Bornhausen"),
        ("benvenuta 1500", "Avenida Madre Benvenuta"),
        ("caneca 100", "Rua Frei Caneca"),
    ],
)
def test_the_gazetteer_places_a_name_without_its_title(
    gazetteer: Gazetteer, query: str, street: str
) -> None:
    [best, *_] = gazetteer.geocode(query)
    assert best.street == street


def test_the_gazetteer_lists_names_and_aliases(gazetteer: Gazetteer) -> None:
    names = gazetteer.street_names()
    assert "Avenida Governador Irineu Bornhausen" in names
    assert "Beira-Mar Norte" in names
