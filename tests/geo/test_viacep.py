"""ViaCepLookup against ViaCEP's answer shapes, faked at the httpx transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.errors import GeocoderUnavailable, InvalidInput
from bot.geo.base import CepInfo
from bot.geo.viacep import ViaCepLookup

ANSWER = json.loads((Path(__file__).parent / "data" / "viacep_88025500.json").read_text("utf-8"))


def lookup_with(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]
) -> tuple[ViaCepLookup, httpx.AsyncClient]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ViaCepLookup(http), http


async def test_a_known_cep_gives_its_street() -> None:
    seen: list[httpx.Request] = []
    lookup, http = lookup_with(lambda r: httpx.Response(200, json=ANSWER), seen)
    async with http:
        info = await lookup.lookup("88.025-500")
    assert str(seen[0].url) == "https://viacep.com.br/ws/88025500/json/"
    assert info == CepInfo("88025500", "Rua Delminda Silveira", "Agronômica", "Florianópolis", "SC")


@pytest.mark.parametrize("erro", [True, "true"])  # ViaCEP has answered both forms over the years
async def test_a_cep_that_does_not_exist_is_none(erro: object) -> None:
    lookup, http = lookup_with(lambda r: httpx.Response(200, json={"erro": erro}), [])
    async with http:
        assert await lookup.lookup("99999-999") is None


async def test_a_malformed_cep_is_rejected_before_any_request() -> None:
    seen: list[httpx.Request] = []
    lookup, http = lookup_with(lambda r: httpx.Response(200, json=ANSWER), seen)
    async with http:
        for bad in ("8802-500", "", "cep", "880255001"):
            with pytest.raises(InvalidInput, match="8 digits"):
                await lookup.lookup(bad)
    assert seen == []


async def test_a_400_from_viacep_is_invalid_input() -> None:
    lookup, http = lookup_with(lambda r: httpx.Response(400, text="<h1>Bad Request</h1>"), [])
    async with http:
        with pytest.raises(InvalidInput):
            await lookup.lookup("88025500")


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(500, text="erro"),
        lambda r: httpx.Response(503, text="manutenção"),
        lambda r: httpx.Response(200, text="<html>instável</html>"),
        lambda r: httpx.Response(200, json=["not", "an", "object"]),
        lambda r: httpx.Response(200, json={"unexpected": "shape"}),
        _raise(httpx.ConnectTimeout("slow")),
        _raise(httpx.ConnectError("refused")),
    ],
)
async def test_provider_trouble_is_geocoder_unavailable(
    answer: Callable[[httpx.Request], httpx.Response],
) -> None:
    lookup, http = lookup_with(answer, [])
    async with http:
        with pytest.raises(GeocoderUnavailable, match="ViaCEP"):
            await lookup.lookup("88025500")


async def test_base_url_is_configurable() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ANSWER)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await ViaCepLookup(http, "http://127.0.0.1:9/viacep/ws/").lookup("88025500")
    assert str(seen[0].url) == "http://127.0.0.1:9/viacep/ws/88025500/json/"
