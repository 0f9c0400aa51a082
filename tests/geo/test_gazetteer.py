"""The offline gazetteer: forgiving matching, interpolation, reverse, CEPs, and the file's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import ConfigError, InvalidInput
from bot.geo.gazetteer import Gazetteer, GazetteerGeocoder, OfflineCepLookup, default_street_file

DATA = Path(__file__).parent / "data"
STREETS = DATA / "streets.json"
# Tutorial 002's address and its exact coordinates (an anchor of Rua Delminda Silveira)
DELMINDA_900 = (-27.5782336721312, -48.527442812919624)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_file(STREETS)


@pytest.fixture
def geocoder(gazetteer: Gazetteer) -> GazetteerGeocoder:
    return GazetteerGeocoder(gazetteer)


async def test_the_tutorial_address_lands_exactly_on_its_coordinates(
    geocoder: GazetteerGeocoder,
) -> None:
    places = await geocoder.geocode(
        "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
    )
    assert len(places) == 1
    place = places[0]
    assert (place.lat, place.lng) == DELMINDA_900
    assert place.address == "Rua Delminda Silveira, 900 - Agronômica, Florianópolis - SC, 88025-500"
    assert (place.street, place.number, place.neighbourhood, place.city, place.state) == (
        "Rua Delminda Silveira",
        "900",
        "Agronômica",
        "Florianópolis",
        "SC",
    )
    assert (place.cep, place.source, place.precision) == ("88025500", "gazetteer", "number")


@pytest.mark.parametrize(
    "query",
    [
        "rua delminda silveira 900",
        "RUA DELMINDA SILVEIRA, 900",
        "R Delminda Silveira nº 900",
        "r. delminda silveira, número 900",
        "Delminda Silveira 900",  # no street type
        "delminda silvera 900",  # a typo
        "Rua Delminda Silveira n. 900, Agronomica",  # no accent on the neighbourhood
        "rua delminda silveira 900 apto 302",  # the flat number is not the house number
        "Delminda Silveira 900 Florianópolis SC",
        "delminda 900",  # part of the name, nothing else unexplained
    ],
)
async def test_people_type_addresses_many_ways(geocoder: GazetteerGeocoder, query: str) -> None:
    places = await geocoder.geocode(query)
    assert places, query
    assert (places[0].lat, places[0].lng) == DELMINDA_900
    assert places[0].number == "900"


@pytest.mark.parametrize(
    ("query", "street", "number", "cep"),
    [
        (
            "Av. Gov. Irineu Bornhausen, 3000",
            "Avenida Governador Irineu Bornhausen",
            "3000",
            "88025202",
        ),
        (
            "avenida governador irineu bornhausen 10",
            "Avenida Governador Irineu Bornhausen",
            "10",
            "88025200",
        ),
        ("Beira-Mar Norte 100", "Avenida Governador Irineu Bornhausen", "100", "88025200"),
        ("Rua Esteves Junior, 600", "Rua Esteves Júnior", "600", "88015131"),
        ("Tv. Esteves Júnior 50", "Travessa Esteves Júnior", "50", "88015140"),
    ],
)
async def test_abbreviations_aliases_and_cep_ranges(
    geocoder: GazetteerGeocoder, query: str, street: str, number: str, cep: str
) -> None:
    best = (await geocoder.geocode(query))[0]
    assert (best.street, best.number, best.cep) == (street, number, cep)


async def test_a_number_between_anchors_is_interpolated(gazetteer: Gazetteer) -> None:
    street = next(s for s in gazetteer.streets if s.name == "Rua Delminda Silveira")
    lat, lng = street.point(1450)  # halfway between the anchors 900 and 2000
    assert lat == pytest.approx((DELMINDA_900[0] + -27.5760) / 2, abs=1e-12)
    assert lng == pytest.approx((DELMINDA_900[1] + -48.5240) / 2, abs=1e-12)
    # beyond the ends the point is clamped to the last anchor, and the place says so
    assert street.point(5000) == (-27.5760, -48.5240)
    assert street.point(0) == (-27.5801, -48.5301)


async def test_a_number_past_the_end_is_clamped_and_marked_approximate(
    geocoder: GazetteerGeocoder,
) -> None:
    place = (await geocoder.geocode("Rua Delminda Silveira 2500"))[0]
    assert (place.lat, place.lng) == (-27.5760, -48.5240)
    assert place.precision == "approximate"


async def test_a_street_without_number_gives_its_midpoint_with_lower_precision(
    geocoder: GazetteerGeocoder, gazetteer: Gazetteer
) -> None:
    place = (await geocoder.geocode("Rua Delminda Silveira"))[0]
    street = next(s for s in gazetteer.streets if s.name == "Rua Delminda Silveira")
    assert (place.lat, place.lng) == street.point((1 + 2000) / 2)
    assert place.precision == "street"
    assert place.number == ""
    assert place.address == "Rua Delminda Silveira - Agronômica, Florianópolis - SC, 88025-500"


async def test_several_matching_streets_come_best_first_up_to_the_limit(
    geocoder: GazetteerGeocoder,
) -> None:
    both = await geocoder.geocode("Esteves Júnior 50")
    assert {p.street for p in both} == {"Rua Esteves Júnior", "Travessa Esteves Júnior"}
    travessa_first = await geocoder.geocode("Travessa Esteves Júnior 50")
    assert [p.street for p in travessa_first] == ["Travessa Esteves Júnior", "Rua Esteves Júnior"]
    assert len(await geocoder.geocode("Esteves Júnior 50", limit=1)) == 1


async def test_a_cep_alone_finds_its_street_within_its_range(
    geocoder: GazetteerGeocoder, gazetteer: Gazetteer
) -> None:
    place = (await geocoder.geocode("88015-131"))[0]
    street = next(s for s in gazetteer.streets if s.name == "Rua Esteves Júnior")
    assert place.street == "Rua Esteves Júnior"
    assert (place.lat, place.lng) == street.point((500 + 1000) / 2)
    assert place.cep == "88015131"


async def test_the_cep_breaks_a_tie_between_streets_of_one_name(
    geocoder: GazetteerGeocoder,
) -> None:
    places = await geocoder.geocode("Esteves Júnior, 50, 88015-140")
    assert places[0].street == "Travessa Esteves Júnior"


async def test_sem_numero_is_kept_and_placed_at_the_midpoint(geocoder: GazetteerGeocoder) -> None:
    place = (await geocoder.geocode("Rua Delminda Silveira, s/n"))[0]
    assert (place.number, place.precision) == ("S/N", "street")


@pytest.mark.parametrize(
    "query",
    ["Rua das Flores 10", "Rua 900", "", "   ", "quero contratar internet", "Silveira Martins 10"],
)
async def test_nothing_found_is_an_empty_list(geocoder: GazetteerGeocoder, query: str) -> None:
    assert await geocoder.geocode(query) == []


async def test_reverse_gives_the_nearest_street_point_and_its_number(
    geocoder: GazetteerGeocoder,
) -> None:
    place = await geocoder.reverse(*DELMINDA_900)
    assert place is not None
    assert (place.street, place.number, place.cep) == ("Rua Delminda Silveira", "900", "88025500")
    assert (place.lat, place.lng) == pytest.approx(DELMINDA_900, abs=1e-9)
    # a pin a few metres off the street snaps onto it
    near = await geocoder.reverse(-27.57835, -48.52738)
    assert near is not None
    assert near.street == "Rua Delminda Silveira"
    assert 850 <= int(near.number) <= 950


async def test_reverse_far_from_every_street_is_none(geocoder: GazetteerGeocoder) -> None:
    assert await geocoder.reverse(-23.5505, -46.6333) is None  # São Paulo


async def test_reverse_rejects_impossible_coordinates(geocoder: GazetteerGeocoder) -> None:
    with pytest.raises(InvalidInput, match="latitude"):
        await geocoder.reverse(-95.0, -48.5)


@pytest.mark.parametrize(
    ("cep", "street"),
    [
        ("88025-500", "Rua Delminda Silveira"),
        ("88015131", "Rua Esteves Júnior"),
        ("88.025-202", "Avenida Governador Irineu Bornhausen"),
    ],
)
async def test_offline_cep_lookup(gazetteer: Gazetteer, cep: str, street: str) -> None:
    info = await OfflineCepLookup(gazetteer).lookup(cep)
    assert info is not None
    assert info.street == street
    assert (info.city, info.state) == ("Florianópolis", "SC")
    assert len(info.cep) == 8 and info.cep.isdigit()


async def test_offline_cep_lookup_unknown_and_malformed(gazetteer: Gazetteer) -> None:
    lookup = OfflineCepLookup(gazetteer)
    assert await lookup.lookup("01310-100") is None
    for bad in ("8802-500", "abc", "880255000"):
        with pytest.raises(InvalidInput, match="8 digits"):
            await lookup.lookup(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not"),
        ('{"roads": []}', "is not"),
        ('{"streets": [{"name": "Rua A"}]}', "anchors"),
        ('{"streets": [{"name": "Rua A", "anchors": []}]}', "at least one anchor"),
        (
            '{"streets": [{"name": "Rua A", "anchors": [[10, -48.5, -27.5], [5, -48.4, -27.4]]}]}',
            "increasing",
        ),
        ('{"streets": [{"name": "Rua A", "anchors": [[1, -27.5, -148.5]]}]}', "lng, lat"),
        (
            '{"streets": [{"name": "Rua A", "ceps": [{"cep": "123", "from": 1, "to": 2}],'
            ' "anchors": [[1, -48.5, -27.5]]}]}',
            "8 digits",
        ),
    ],
)
def test_a_malformed_street_file_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "streets.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        Gazetteer.from_file(path)
    assert str(path) in str(caught.value)


def test_a_missing_street_file_says_what_needs_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GEOCODER=gazetteer"):
        Gazetteer.from_file(tmp_path / "nope.json")


# -- the sandbox's own street file ------------------------------------------------------------


def _sandbox_samples() -> dict[str, dict[str, object]]:
    network = default_street_file().parent / "network.json"
    samples: dict[str, dict[str, object]] = json.loads(network.read_text("utf-8"))["samples"]
    return samples


async def test_the_sandbox_street_file_places_the_covered_sample_exactly() -> None:
    geocoder = GazetteerGeocoder.from_file()  # the packaged default file
    covered = _sandbox_samples()["covered"]
    place = (await geocoder.geocode(str(covered["address"])))[0]
    assert (place.lat, place.lng) == (covered["lat"], covered["lng"])


async def test_every_sandbox_sample_address_is_found_on_its_street() -> None:
    geocoder = GazetteerGeocoder.from_file()
    for name, sample in _sandbox_samples().items():
        if "address" not in sample:
            continue
        address = str(sample["address"])
        places = await geocoder.geocode(address)
        assert places, f"sample {name}: {address!r} not found"
        # the sample names the street by its abbreviation ("R. Rui Barbosa"): same street
        street_words = address.split(",")[0].split(" ", 1)[1]
        assert street_words in places[0].street, (name, places[0].street)
        assert places[0].cep == address.rsplit(",", 1)[1].strip().replace("-", "")


async def test_every_sandbox_street_cep_is_found_offline() -> None:
    gazetteer = Gazetteer.from_file()
    lookup = OfflineCepLookup(gazetteer)
    for street in gazetteer.streets:
        for cep in street.ceps:
            info = await lookup.lookup(cep.cep)
            assert info is not None and info.street == street.name
