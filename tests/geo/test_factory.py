"""make_geocoder / make_cep_lookup: the settings pick the adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.errors import ConfigError
from bot.geo.cache import CachedGeocoder
from bot.geo.factory import make_cep_lookup, make_geocoder
from bot.geo.gazetteer import GazetteerGeocoder, OfflineCepLookup
from bot.geo.geopy_adapter import GeopyGeocoder
from bot.geo.viacep import ViaCepLookup
from bot.settings import load_settings
from bot.storage.sqlite import SqliteStore


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "ozbot.db")
    await store.open()
    yield store
    await store.close()


async def test_gazetteer_is_offline_and_finds_the_sandbox_streets(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    settings = load_settings({"GEOCODER": "gazetteer"}, env_file=None)
    geocoder = make_geocoder(settings, http, store)
    assert isinstance(geocoder, GazetteerGeocoder)
    assert await geocoder.geocode("Rua Delminda Silveira 900") != []


async def test_nominatim_from_the_environment_is_cached_and_rate_limited(
    http: httpx.AsyncClient, store: SqliteStore
) -> None:
    settings = load_settings(
        {"GEOCODER": "Nominatim", "GEOCODER_USER_AGENT": "isp-bot", "GEOCODER_COUNTRY": "br"},
        env_file=None,
    )
    geocoder = make_geocoder(settings, http, store)
    assert isinstance(geocoder, CachedGeocoder)
    inner = geocoder.inner
    assert isinstance(inner, GeopyGeocoder)
    assert inner.service == "nominatim"
    assert inner._limited.min_delay_seconds == 1.0  # Nominatim's usage policy


async def test_without_a_store_there_is_no_cache(http: httpx.AsyncClient) -> None:
    settings = load_settings({"GEOCODER": "nominatim"}, env_file=None)
    assert isinstance(make_geocoder(settings, http, None), GeopyGeocoder)


@pytest.mark.parametrize("name", ["googel", ""])
async def test_an_unknown_geocoder_names_the_variable_and_the_choices(
    http: httpx.AsyncClient, name: str
) -> None:
    settings = load_settings({"GEOCODER": name}, env_file=None)
    with pytest.raises(ConfigError, match="GEOCODER") as caught:
        make_geocoder(settings, http, None)
    assert "gazetteer" in str(caught.value) and "nominatim" in str(caught.value)


async def test_cep_providers(http: httpx.AsyncClient) -> None:
    offline = make_cep_lookup(load_settings({"CEP_PROVIDER": "offline"}, env_file=None), http)
    assert isinstance(offline, OfflineCepLookup)
    info = await offline.lookup("88025-500")
    assert info is not None and info.street == "Rua Delminda Silveira"
    viacep = make_cep_lookup(
        load_settings({"CEP_PROVIDER": "viacep", "CEP_URL": "http://cep.test/ws"}, env_file=None),
        http,
    )
    assert isinstance(viacep, ViaCepLookup)
    assert viacep.base_url == "http://cep.test/ws"
    with pytest.raises(ConfigError, match="CEP_PROVIDER"):
        make_cep_lookup(load_settings({"CEP_PROVIDER": "correios"}, env_file=None), http)
