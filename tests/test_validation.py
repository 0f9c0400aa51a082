"""Table tests for bot.validation: what customers really type, and what must not be misread."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.validation import (
    NO_NUMBER,
    fold,
    format_cep,
    format_cpf,
    mask_cpf,
    mask_phone,
    normalize_cpf,
    parse_cep,
    parse_coordinates,
    parse_house_number,
    strip_accents,
    valid_coordinates,
    valid_cpf,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("88025-500", "88025500"),
        ("88025500", "88025500"),
        ("88.025-500", "88025500"),
        ("88025 500", "88025500"),
        ("meu cep é 88025-500, obrigado", "88025500"),
        ("CEP:88040-900.", "88040900"),
        ("R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500", "88025500"),
        ("8802-500", None),  # 7 digits
        ("880255001", None),  # 9 digits: part of something longer
        ("529.982.247-25", None),  # a CPF is not a CEP
        ("+55 48 99988-7766", None),  # nor a phone number
        ("Rua Delminda Silveira 900", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cep(text: str | None, expected: str | None) -> None:
    assert parse_cep(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("88025500", "88025-500"), ("88.025-500", "88025-500"), ("cep 01310-100", "01310-100")],
)
def test_format_cep(text: str, expected: str) -> None:
    assert format_cep(text) == expected


@pytest.mark.parametrize("text", ["1234", "abc", ""])
def test_format_cep_rejects_what_is_not_a_cep_and_says_the_shape(text: str) -> None:
    with pytest.raises(InvalidInput, match="8 digits"):
        format_cep(text)


# 529.982.247-25 and 111.444.777-35 are the classic valid test CPFs (check digits computed by
# the Receita Federal rule); each invalid one below differs in exactly one way.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("529.982.247-25", "52998224725"),
        ("52998224725", "52998224725"),
        ("111.444.777-35", "11144477735"),
        ("meu cpf: 111.444.777-35", "11144477735"),
        ("529 982 247 25", None),  # spaces between groups are not a CPF shape we read
        ("529.982.247-24", None),  # second check digit wrong
        ("529.982.247-15", None),  # first check digit wrong
        ("111.111.111-11", None),  # all same digit: passes the arithmetic, never issued
        ("000.000.000-00", None),
        ("5299822472", None),  # 10 digits
        ("529982247250", None),  # 12 digits
        ("", None),
        (None, None),
    ],
)
def test_normalize_cpf_and_valid_cpf(text: str | None, expected: str | None) -> None:
    assert normalize_cpf(text) == expected
    assert valid_cpf(text) is (expected is not None)


def test_format_cpf() -> None:
    assert format_cpf("52998224725") == "529.982.247-25"
    with pytest.raises(InvalidInput, match="CPF"):
        format_cpf("52998224724")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("529.982.247-25", "***.***.*47-25"),
        ("52998224725", "***.***.*47-25"),
        ("123", "***"),
        ("", "***"),
        (None, "***"),
    ],
)
def test_mask_cpf_keeps_only_the_last_four_digits(text: str | None, expected: str) -> None:
    assert mask_cpf(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+55 48 99988-7766", "***7766"),
        ("whatsapp:+5548999887766", "***7766"),
        ("48999887766", "***7766"),
        ("1234", "***"),  # too short to be a phone: show nothing
        (None, "***"),
    ],
)
def test_mask_phone_keeps_only_the_last_four_digits(text: str | None, expected: str) -> None:
    assert mask_phone(text) == expected
    assert "99988" not in mask_phone(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-27.578, -48.527", (-27.578, -48.527)),
        ("-27.578,-48.527", (-27.578, -48.527)),
        ("/location -27.5 -48.5", (-27.5, -48.5)),
        ("-27.5782336721312 -48.527442812919624", (-27.5782336721312, -48.527442812919624)),
        ("https://maps.google.com/?q=-27.578,-48.527", (-27.578, -48.527)),
        ("geo:-27.578,-48.527", (-27.578, -48.527)),
        ("-27,578 -48,527", (-27.578, -48.527)),  # decimal commas, space between
        ("-27,578; -48,527", (-27.578, -48.527)),
        ("+40.7 -74.0", (40.7, -74.0)),
        ("estou em -27.58; -48.52 perto da praça", (-27.58, -48.52)),
        ("Servidão 5, 120", None),  # an address, not coordinates: no decimals
        ("Rua 12, 345", None),
        ("-95.1, -48.5", None),  # latitude beyond the pole
        ("-27.5, -181.5", None),  # longitude out of range
        ("-27.5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_coordinates(text: str | None, expected: tuple[float, float] | None) -> None:
    assert parse_coordinates(text) == expected


@pytest.mark.parametrize(
    ("lat", "lng", "ok"),
    [(-27.5, -48.5, True), (90, 180, True), (-90, -180, True), (90.1, 0, False), (0, 180.5, False)],
)
def test_valid_coordinates(lat: float, lng: float, ok: bool) -> None:
    assert valid_coordinates(lat, lng) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("900", "900"),
        (" 900 b ", "900B"),
        ("R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500", "900"),
        ("Rua Delminda Silveira, nº 900", "900"),
        ("Rua Delminda Silveira número 900", "900"),
        ("Rua Delminda Silveira n. 900", "900"),
        ("Rua Delminda Silveira #900", "900"),
        ("Rua Bocaiúva 2468", "2468"),
        ("Rua Bocaiúva 2468 - Centro", "2468"),
        ("Rua Bocaiúva 2468, apto 12", "2468"),
        ("Rua Bocaiúva, 2468 bloco 3", "2468"),
        ("Rua Bocaiúva apto 12", None),  # only a flat number: no house number
        ("Rua 7 de Setembro, 120", "120"),
        ("Rua 7 de Setembro", None),
        ("Rua Delminda Silveira, 88025-500", None),  # the CEP is not a number
        ("Rua das Flores, s/n", NO_NUMBER),
        ("Rua das Flores sem número", NO_NUMBER),
        ("Rua das Flores", None),
        (None, None),
    ],
)
def test_parse_house_number(text: str | None, expected: str | None) -> None:
    assert parse_house_number(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("MANUTENÇÃO", "manutencao"),
        ("Agronômica", "agronomica"),
        ("  Florianópolis   SC ", "florianopolis sc"),
        ("São José", "SAO JOSE"),
        ("Straße", "strasse"),  # casefold, not lower
    ],
)
def test_fold_matches_what_people_type(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_strip_accents_keeps_case_and_letters() -> None:
    assert strip_accents("Agronômica, Açores, Ñandú") == "Agronomica, Acores, Nandu"
