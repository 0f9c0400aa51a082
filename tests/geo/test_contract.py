"""One contract, every Geocoder adapter: what flows may rely on whichever GEOCODER is set."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.errors import InvalidInput
from bot.geo.base import Geocoder
from bot.geo.cache import CachedGeocoder
from bot.geo.gazetteer import GazetteerGeocoder
from bot.geo.geopy_adapter import GeopyGeocoder
from bot.storage.sqlite import SqliteStore
from bot.validation import valid_coordinates

DATA = Path(__file__).parent / "data"
SEARCH = json.loads((DATA / "nominatim_search.json").read_text("utf-8"))
REVERSE = json.loads((DATA / "nominatim_reverse.json").read_text("utf-8"))
KNOWN = "Rua Delminda Silveira, 900, Florianópolis"
UNKNOWN = "Rua Inexistente dos Testes, 12345"
POINT = (-27.5782336721312, -48.527442812919624)


def nominatim_answer(request: httpx.Request) -> httpx.Response:
    """Nominatim as seen from here: it knows Rua Delminda Silveira and nothing else."""
    if request.url.path == "/reverse":
        return httpx.Response(200, json=REVERSE)
    query = request.url.params.get("q", "")
    return httpx.Response(200, json=SEARCH if "Delminda" in query else [])


@pytest.fixture(params=["gazetteer", "nominatim", "cached-gazetteer"])
async def geocoder(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Geocoder]:
    if request.param == "gazetteer":
        yield GazetteerGeocoder.from_file(DATA / "streets.json")
    elif request.param == "nominatim":
        transport = httpx.MockTransport(nominatim_answer)
        async with httpx.AsyncClient(transport=transport) as http:
            yield GeopyGeocoder("nominatim", http, user_agent="ozbot-tests", min_delay_seconds=0)
    else:
        store = SqliteStore(tmp_path / "cache.db")
        await store.open()
        yield CachedGeocoder(GazetteerGeocoder.from_file(DATA / "streets.json"), store)
        await store.close()


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    k = math.cos(math.radians(a[0]))
    return 111_195.0 * math.hypot(a[0] - b[0], (a[1] - b[1]) * k)


async def test_a_known_address_is_found_near_its_point(geocoder: Geocoder) -> None:
    places = await geocoder.geocode(KNOWN)
    assert 1 <= len(places) <= 3
    for place in places:
        assert valid_coordinates(place.lat, place.lng)
        assert place.address and place.source
    assert metres((places[0].lat, places[0].lng), POINT) < 50
    assert places[0].street == "Rua Delminda Silveira"
    assert places[0].city == "Florianópolis"


async def test_the_limit_is_respected(geocoder: Geocoder) -> None:
    assert len(await geocoder.geocode(KNOWN, limit=1)) == 1


async def test_an_unknown_address_is_an_empty_list(geocoder: Geocoder) -> None:
    assert await geocoder.geocode(UNKNOWN) == []


async def test_the_same_question_gets_the_same_answer(geocoder: Geocoder) -> None:
    assert await geocoder.geocode(KNOWN) == await geocoder.geocode(KNOWN)


async def test_reverse_names_the_street_at_a_point(geocoder: Geocoder) -> None:
    place = await geocoder.reverse(*POINT)
    assert place is not None
    assert place.street == "Rua Delminda Silveira"
    assert place.number == "900"
    assert metres((place.lat, place.lng), POINT) < 50


@pytest.mark.parametrize(("lat", "lng"), [(-91.0, -48.5), (-27.5, 181.0)])
async def test_reverse_of_an_impossible_point_is_invalid_input(
    geocoder: Geocoder, lat: float, lng: float
) -> None:
    with pytest.raises(InvalidInput):
        await geocoder.reverse(lat, lng)
