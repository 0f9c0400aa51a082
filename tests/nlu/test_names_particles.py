"""Names as customers give them: whole with their particles and short surnames ("Maria das
Graças de Sá e Souza"), someone else's introduced as such ("coloca no nome dela: ..."), and a
name corrected where a yes is asked ("no espera, me equivoque, es ..."). Read by the embedded
understander with the shipped model's common words, as the bot reads them."""

from __future__ import annotations

import pytest

from bot.nlu import Expect
from bot.nlu.answers import proper_case
from bot.nlu.base import EntityKind
from bot.nlu.embedded import EmbeddedUnderstander

K = EntityKind


@pytest.fixture(scope="module")
def nlu() -> EmbeddedUnderstander:
    return EmbeddedUnderstander()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("meu nome completo é Maria das Graças de Sá e Souza", "Maria das Graças de Sá e Souza"),
        ("Maria das Graças de Sá e Souza", "Maria das Graças de Sá e Souza"),
        ("maria das gracas de sa e souza", "Maria das Gracas de Sa e Souza"),
        ("me chamo jose dos anjos e silva", "Jose dos Anjos e Silva"),
        ("sou a Ana Lé", "Ana Lé"),
        ("Luiz Sá", "Luiz Sá"),
        ("my name is Mary da Luz", "Mary da Luz"),
        ("me llamo Juan de la Cruz y Pérez", "Juan de la Cruz y Pérez"),
        ("meu nome é joao da silva e quero o de 500", "Joao da Silva"),
    ],
)
def test_a_name_is_kept_whole_with_its_particles(
    nlu: EmbeddedUnderstander, text: str, name: str
) -> None:
    assert nlu.read(text, expects=Expect.NAME).value(K.PERSON_NAME) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("coloca no nome dela: Rosângela Aparecida Lima", "Rosângela Aparecida Lima"),
        ("no nome da minha mãe, rosangela aparecida lima", "Rosangela Aparecida Lima"),
        ("pode por em nome de Rosangela Lima", "Rosangela Lima"),
        ("o titular vai ser Joaquim Prado", "Joaquim Prado"),
        ("nome dele: carlos eduardo prado", "Carlos Eduardo Prado"),
        ("put it under my wife's name, Susan Clarke", "Susan Clarke"),
        ("in the name of john miller pls", "John Miller"),
        ("a nombre de mi madre, Rosa Pérez", "Rosa Pérez"),
        ("ponelo a nombre de rosa perez", "Rosa Perez"),
        ("el titular es Jorge Luis Bórquez", "Jorge Luis Bórquez"),
    ],
)
def test_the_name_it_goes_in_is_taken(nlu: EmbeddedUnderstander, text: str, name: str) -> None:
    assert nlu.read(text, expects=Expect.NAME).value(K.PERSON_NAME) == name


@pytest.mark.parametrize(
    "text",
    [
        "precisa ser no nome dela ou pode ser no meu?",
        "pode ser no nome da minha mae?",
        "can it be in my wife's name?",
        "puede ir a nombre de mi esposa?",
        "o titular é outra pessoa",
    ],
)
def test_asking_whose_name_gives_none(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text, expects=Expect.NAME).value(K.PERSON_NAME) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("no espera, me equivoque, es Jorge Luis Bórquez", "Jorge Luis Bórquez"),
        ("nao, na verdade é jorge luis borquez", "Jorge Luis Borquez"),
        ("errei meu nome, é Jorge Luis Borquez", "Jorge Luis Borquez"),
        ("sorry, my name is actually Jorge Borquez", "Jorge Borquez"),
        ("ops, en realidad es jorge borquez", "Jorge Borquez"),
    ],
)
def test_a_name_corrected_where_a_yes_is_asked(
    nlu: EmbeddedUnderstander, text: str, name: str
) -> None:
    understood = nlu.read(text, expects=Expect.YES_NO)
    assert understood.value(K.PERSON_NAME) == name
    assert understood.intent == "correct"


@pytest.mark.parametrize("text", ["no, es correcto", "si, es muy caro", "no, es la otra calle"])
def test_a_plain_es_clause_is_no_name(nlu: EmbeddedUnderstander, text: str) -> None:
    assert nlu.read(text, expects=Expect.YES_NO).value(K.PERSON_NAME) is None


def test_proper_case_keeps_the_particles_lower() -> None:
    assert proper_case("MARIA DAS GRAÇAS DE SÁ E SOUZA") == "Maria das Graças de Sá e Souza"
    assert proper_case("juan DE LA cruz Y perez") == "Juan de la Cruz y Perez"
