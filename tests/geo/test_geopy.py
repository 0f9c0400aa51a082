"""GeopyGeocoder: geopy's real provider code over our HttpxAdapter, faked at the httpx transport."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.errors import ConfigError, GeocoderUnavailable, InvalidInput
from bot.geo.geopy_adapter import GeopyGeocoder, HttpxAdapter, geopy_services

DATA = Path(__file__).parent / "data"
SEARCH = json.loads((DATA / "nominatim_search.json").read_text("utf-8"))
REVERSE = json.loads((DATA / "nominatim_reverse.json").read_text("utf-8"))
QUERY = "R. Delminda Silveira, 900 - Agronômica, Florianópolis - SC"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that keeps every request and answers with ``answer``."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(asyncio.get_running_loop().time())
        return self.answer(request)

    def params(self, index: int = -1) -> dict[str, str]:
        query = parse_qs(urlsplit(str(self.requests[index].url)).query)
        return {k: v[0] for k, v in query.items()}


def nominatim(recorder: Recorder, **kwargs: object) -> tuple[GeopyGeocoder, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    options: dict[str, object] = {"user_agent": "ozbot-tests", "min_delay_seconds": 0.0}
    options.update(kwargs)
    return GeopyGeocoder("nominatim", http, **options), http  # type: ignore[arg-type]


async def test_geocode_asks_nominatim_politely_and_reads_its_answer() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=SEARCH))
    geocoder, http = nominatim(recorder)
    async with http:
        places = await geocoder.geocode(QUERY, limit=2)

    request = recorder.requests[0]
    assert request.url.host == "nominatim.openstreetmap.org"
    assert request.url.path == "/search"
    assert request.headers["User-Agent"] == "ozbot-tests"
    params = recorder.params()
    assert params["q"] == QUERY
    assert (params["format"], params["limit"], params["countrycodes"]) == ("json", "2", "br")
    assert params["addressdetails"] == "1"
    assert params["accept-language"] == "pt-BR"

    assert len(places) == 2
    best = places[0]
    assert (best.lat, best.lng) == (-27.5782337, -48.5274428)
    assert best.address.startswith("900, Rua Delminda Silveira, Agronômica, Florianópolis")
    assert (best.street, best.number, best.neighbourhood) == (
        "Rua Delminda Silveira",
        "900",
        "Agronômica",
    )
    assert (best.city, best.state, best.cep) == ("Florianópolis", "SC", "88025500")
    assert best.source == "nominatim"
    assert places[1].number == ""  # the street itself, no house number


async def test_limit_is_respected_even_if_the_provider_sends_more() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=SEARCH))
    geocoder, http = nominatim(recorder)
    async with http:
        assert len(await geocoder.geocode(QUERY, limit=1)) == 1


async def test_nothing_found_is_an_empty_list() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=[]))
    geocoder, http = nominatim(recorder)
    async with http:
        assert await geocoder.geocode("Rua que não existe 1") == []


async def test_reverse_reads_the_address_at_a_point() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=REVERSE))
    geocoder, http = nominatim(recorder)
    async with http:
        place = await geocoder.reverse(-27.5782336721312, -48.527442812919624)
    assert recorder.requests[0].url.path == "/reverse"
    params = recorder.params()
    assert (float(params["lat"]), float(params["lon"])) == pytest.approx(
        (-27.57823367, -48.52744281)
    )
    assert place is not None
    assert (place.street, place.number, place.cep) == ("Rua Delminda Silveira", "900", "88025500")


async def test_reverse_where_nominatim_knows_nothing_is_none() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={"error": "Unable to geocode"}))
    geocoder, http = nominatim(recorder)
    async with http:
        assert await geocoder.reverse(-30.0, -30.0) is None  # the middle of the Atlantic


async def test_reverse_rejects_impossible_coordinates_without_a_request() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=REVERSE))
    geocoder, http = nominatim(recorder)
    async with http:
        with pytest.raises(InvalidInput):
            await geocoder.reverse(-27.5, -200.0)
    assert recorder.requests == []


def _raise(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            lambda r: httpx.Response(429, text="Too Many Requests"),
            GeocoderUnavailable,
            "rate-limiting",
        ),
        (
            lambda r: httpx.Response(503, text="Service Unavailable"),
            GeocoderUnavailable,
            "timed out",
        ),
        (lambda r: httpx.Response(500, text="boom"), GeocoderUnavailable, "failed"),
        (lambda r: httpx.Response(502, text="Bad Gateway"), GeocoderUnavailable, "failed"),
        (lambda r: httpx.Response(200, text="<html>not json</html>"), GeocoderUnavailable, "Parse"),
        (_raise(httpx.ReadTimeout("slow")), GeocoderUnavailable, "timed out"),
        (_raise(httpx.ConnectError("refused")), GeocoderUnavailable, "failed"),
        (lambda r: httpx.Response(401, text="Unauthorized"), ConfigError, "GEOCODER_API_KEY"),
        (lambda r: httpx.Response(403, text="Forbidden"), ConfigError, "GEOCODER_API_KEY"),
    ],
)
async def test_provider_failures_become_our_errors(
    answer: Handler, error: type[Exception], message: str
) -> None:
    recorder = Recorder(answer)
    geocoder, http = nominatim(recorder)
    async with http:
        with pytest.raises(error, match=message):
            await geocoder.geocode(QUERY)
        with pytest.raises(error):
            await geocoder.reverse(-27.5, -48.5)
    # no retries: a failing provider is reported at once
    assert len(recorder.requests) == 2


async def test_a_rejected_query_is_nothing_found() -> None:
    recorder = Recorder(lambda r: httpx.Response(400, text="Bad Request"))
    geocoder, http = nominatim(recorder)
    async with http:
        assert await geocoder.geocode("?!") == []


async def test_requests_are_spaced_by_the_rate_limit_across_both_directions() -> None:
    # Nominatim allows one request per second; here 200 ms keeps the test fast. Only a lower
    # bound on the spacing is asserted, and only half the delay: the limiter stamps its clock
    # before our wrapper runs, so a loaded machine's scheduling delay on one request shrinks the
    # gap we see to the next (42 ms seen for 50). Without the limiter the gaps are ~0.
    delay = 0.2
    recorder = Recorder(
        lambda r: httpx.Response(200, json=REVERSE if r.url.path == "/reverse" else SEARCH)
    )
    geocoder, http = nominatim(recorder, min_delay_seconds=delay)
    released: list[float] = []
    let_go = geocoder._limited.func

    async def noted(*args: object, **kwargs: object) -> object:
        released.append(time.perf_counter())  # the limiter's clock (timeit.default_timer)
        return await let_go(*args, **kwargs)

    geocoder._limited.func = noted
    async with http:
        await asyncio.gather(
            geocoder.geocode(QUERY), geocoder.reverse(-27.5, -48.5), geocoder.geocode("x")
        )
    gaps = [b - a for a, b in itertools.pairwise(released)]
    assert len(gaps) == 2 and len(recorder.requests) == 3
    assert all(gap >= delay * 0.5 for gap in gaps), gaps


async def test_the_shared_client_stays_open_after_geopy_is_done_with_it() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=SEARCH))
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    adapter = HttpxAdapter(http)
    async with adapter:
        await adapter.get_json("https://example.test/search", timeout=5, headers={})
    assert not http.is_closed
    await http.aclose()


async def test_a_keyed_provider_gets_the_key_and_is_chosen_by_name() -> None:
    opencage_answer = {
        "results": [
            {
                "components": {"road": "Rua Delminda Silveira", "city": "Florianópolis"},
                "formatted": "Rua Delminda Silveira, Florianópolis - SC, 88025-500, Brasil",
                "geometry": {"lat": -27.5782, "lng": -48.5274},
            }
        ],
        "status": {"code": 200, "message": "OK"},
    }
    recorder = Recorder(lambda r: httpx.Response(200, json=opencage_answer))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        geocoder = GeopyGeocoder(
            "opencage", http, user_agent="ozbot-tests", api_key="k-123", min_delay_seconds=0
        )
        places = await geocoder.geocode("Rua Delminda Silveira")
    assert recorder.requests[0].url.host == "api.opencagedata.com"
    assert recorder.params()["key"] == "k-123"
    assert [(p.lat, p.lng, p.source) for p in places] == [(-27.5782, -48.5274, "opencage")]


async def test_an_unknown_service_names_the_setting_and_the_valid_names() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError, match="GEOCODER='nominatimm'") as caught:
            GeopyGeocoder("nominatimm", http, user_agent="ozbot-tests")
    assert "nominatim" in str(caught.value) and "gazetteer" in str(caught.value)
    assert "opencage" in geopy_services()


async def test_a_provider_that_needs_a_key_without_one_says_so() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError, match="GEOCODER_API_KEY"):
            GeopyGeocoder("opencage", http, user_agent="ozbot-tests")
