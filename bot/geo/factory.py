"""Building the geocoder and the CEP lookup from the settings (called by the composition root)."""

from __future__ import annotations

import httpx

from bot.errors import ConfigError
from bot.geo.base import CepLookup, Geocoder
from bot.geo.cache import CachedGeocoder
from bot.geo.gazetteer import GazetteerGeocoder, OfflineCepLookup
from bot.geo.geopy_adapter import NOMINATIM_MIN_DELAY, GeopyGeocoder, geopy_services
from bot.geo.viacep import ViaCepLookup
from bot.settings import Settings
from bot.storage.cache import CacheStore

__all__ = ["make_cep_lookup", "make_geocoder"]

GAZETTEER = "gazetteer"


def make_geocoder(
    settings: Settings, http: httpx.AsyncClient, store: CacheStore | None
) -> Geocoder:
    """``GEOCODER=gazetteer`` → the offline street file; any other name → that geopy provider
    (with ``GEOCODER_API_KEY``, ``GEOCODER_USER_AGENT``, ``GEOCODER_COUNTRY``), cached in
    ``store`` when one is given. Raises :class:`ConfigError` naming ``GEOCODER`` and the valid
    names for an unknown provider."""
    name = settings.geocoder.strip().lower()
    if name == GAZETTEER:
        return GazetteerGeocoder.from_file()
    if not name:
        raise ConfigError(
            f"GEOCODER is empty: use {GAZETTEER} or one of geopy's {', '.join(geopy_services())}"
        )
    # Nominatim's public policy is one request per second; keyed commercial providers allow
    # far more, and their own quotas answer 429, which becomes GeocoderUnavailable.
    delay = NOMINATIM_MIN_DELAY if name == "nominatim" else 0.0
    geocoder: Geocoder = GeopyGeocoder(
        name,
        http,
        user_agent=settings.geocoder_user_agent,
        api_key=settings.geocoder_api_key or None,
        country=settings.geocoder_country,
        min_delay_seconds=delay,
    )
    if store is not None:
        geocoder = CachedGeocoder(geocoder, store)
    return geocoder


def make_cep_lookup(settings: Settings, http: httpx.AsyncClient) -> CepLookup:
    """``CEP_PROVIDER=offline`` → the street file's CEPs; ``viacep`` → ViaCEP at ``CEP_URL``.
    Raises :class:`ConfigError` for any other value."""
    provider = settings.cep_provider.strip().lower()
    if provider == "offline":
        return OfflineCepLookup.from_file()
    if provider == "viacep":
        return ViaCepLookup(http, settings.cep_url)
    raise ConfigError(f"CEP_PROVIDER={settings.cep_provider!r}: use offline or viacep")
