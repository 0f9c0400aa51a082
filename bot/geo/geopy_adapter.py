"""Geocoding through geopy's providers (Nominatim by default), over our shared httpx client.

geopy talks HTTP through an *adapter*; :class:`HttpxAdapter` is ours, so geopy's requests use the
application's :class:`httpx.AsyncClient` (one connection pool, and tests fake the provider at the
httpx transport). geopy's exceptions are translated here, at the boundary, into
:mod:`bot.errors`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from geopy import exc as geopy_exc
from geopy.adapters import AdapterHTTPError, BaseAsyncAdapter
from geopy.extra.rate_limiter import AsyncRateLimiter
from geopy.geocoders import SERVICE_TO_GEOCODER, get_geocoder_for_service

from bot.errors import ConfigError, GeocoderUnavailable, InvalidInput
from bot.geo.base import Geocoder, Place
from bot.validation import parse_cep, valid_coordinates

__all__ = ["GeopyGeocoder", "HttpxAdapter", "geopy_services"]

log = logging.getLogger(__name__)

# Nominatim's usage policy: at most one request per second, and an identifying User-Agent.
NOMINATIM_MIN_DELAY = 1.0
# geopy's default (1 s) is too short for a public provider under load; a chat turn can wait this.
DEFAULT_TIMEOUT = 10.0
# Constructor parameters through which geopy providers take their key.
_KEY_PARAMETERS = ("api_key", "apikey", "key")


def geopy_services() -> list[str]:
    """The provider names geopy knows (valid values of ``GEOCODER`` besides "gazetteer")."""
    return sorted(SERVICE_TO_GEOCODER)


class HttpxAdapter(BaseAsyncAdapter):  # type: ignore[misc]  # geopy ships no type information
    """A geopy async adapter over an injected :class:`httpx.AsyncClient`.

    It follows geopy's adapter contract: a non-2xx answer raises ``AdapterHTTPError`` (geopy
    maps its status to a specific error), a timeout ``GeocoderTimedOut``, an unreachable host
    ``GeocoderUnavailable``, anything else ``GeocoderServiceError``. The client belongs to the
    caller: leaving the geocoder's ``async with`` does not close it. ``proxies`` and
    ``ssl_context`` are the client's business and are ignored here.
    """

    def __init__(self, http: httpx.AsyncClient, *, proxies: Any = None, ssl_context: Any = None):
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.http = http

    @classmethod
    def factory(cls, http: httpx.AsyncClient) -> Callable[..., HttpxAdapter]:
        """An ``adapter_factory`` for geopy geocoders, bound to ``http``."""

        def make(*, proxies: Any = None, ssl_context: Any = None) -> HttpxAdapter:
            return cls(http, proxies=proxies, ssl_context=ssl_context)

        return make

    async def get_text(
        self,
        url: str,
        *,
        timeout: float | None,  # noqa: ASYNC109  (geopy's adapter contract; forwarded to httpx)
        headers: Mapping[str, str],
    ) -> str:
        response = await self._get(url, timeout=timeout, headers=headers)
        return response.text

    async def get_json(
        self,
        url: str,
        *,
        timeout: float | None,  # noqa: ASYNC109  (geopy's adapter contract; forwarded to httpx)
        headers: Mapping[str, str],
    ) -> Any:
        response = await self._get(url, timeout=timeout, headers=headers)
        try:
            return response.json()
        except ValueError:
            raise geopy_exc.GeocoderParseError(
                f"could not parse the answer as JSON: {response.text[:200]!r}"
            ) from None

    async def _get(
        self,
        url: str,
        *,
        timeout: float | None,  # noqa: ASYNC109  (geopy's adapter contract; forwarded to httpx)
        headers: Mapping[str, str],
    ) -> httpx.Response:
        try:
            response = await self.http.get(
                url,
                headers=dict(headers),
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TimeoutException as exc:
            raise geopy_exc.GeocoderTimedOut("Service timed out") from exc
        except httpx.TransportError as exc:
            raise geopy_exc.GeocoderUnavailable(str(exc) or type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise geopy_exc.GeocoderServiceError(str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            raise AdapterHTTPError(
                f"Non-successful status code {response.status_code}",
                status_code=response.status_code,
                headers=dict(response.headers),
                text=response.text,
            )
        return response


class GeopyGeocoder(Geocoder):
    """:class:`Geocoder` over any geopy provider, chosen by name (``GEOCODER``).

    Requests go through ``http`` and one :class:`AsyncRateLimiter` shared by ``geocode`` and
    ``reverse`` (``min_delay_seconds``; Nominatim's policy is one per second). No retries: a
    failing provider becomes :class:`GeocoderUnavailable` at once and the customer is offered
    the location pin instead of waiting.

    Raises :class:`ConfigError` at construction for an unknown service name or a provider that
    needs an API key when none is given; at call time, :class:`ConfigError` when the provider
    refuses the key, :class:`GeocoderUnavailable` for timeouts, quota, rate limits and errors.
    """

    def __init__(
        self,
        service: str,
        http: httpx.AsyncClient,
        *,
        user_agent: str,
        api_key: str | None = None,
        country: str = "br",
        language: str = "pt-BR",
        min_delay_seconds: float = NOMINATIM_MIN_DELAY,
        timeout: float = DEFAULT_TIMEOUT,
        domain: str | None = None,
        scheme: str | None = None,
    ) -> None:
        self.service = service.strip().lower()
        try:
            cls = get_geocoder_for_service(self.service)
        except geopy_exc.GeocoderNotFound:
            raise ConfigError(
                f"GEOCODER={service!r} is not a geocoder: use gazetteer or one of geopy's "
                f"{', '.join(geopy_services())}"
            ) from None
        accepted = inspect.signature(cls.__init__).parameters
        kwargs: dict[str, Any] = {
            "user_agent": user_agent,
            "timeout": timeout,
            "adapter_factory": HttpxAdapter.factory(http),
        }
        if domain is not None:
            kwargs["domain"] = domain  # a self-hosted Nominatim, for instance
        if scheme is not None:
            kwargs["scheme"] = scheme
        key_param = next((p for p in _KEY_PARAMETERS if p in accepted), None)
        if api_key and key_param:
            kwargs[key_param] = api_key
        try:
            self._geopy = cls(**kwargs)
        except (TypeError, geopy_exc.ConfigurationError) as exc:
            raise ConfigError(
                f"GEOCODER={self.service} could not be set up ({exc}): a provider with a key "
                "needs GEOCODER_API_KEY; Nominatim needs none"
            ) from exc
        self.country = country
        self.language = language
        # one limiter for both directions: the provider counts all our requests together
        self._limited = AsyncRateLimiter(
            _call, min_delay_seconds=min_delay_seconds, max_retries=0, swallow_exceptions=False
        )

    async def geocode(self, query: str, *, limit: int = 3) -> list[Place]:
        method = self._geopy.geocode
        kwargs = self._options(method, limit=limit)
        try:
            found = await self._limited(method, query, exactly_one=False, **kwargs)
        except geopy_exc.GeocoderQueryError as exc:
            # the provider refused this text (HTTP 400): to the customer, nothing was found
            log.warning("%s rejected a query: %s", self.service, exc)
            return []
        except geopy_exc.GeopyError as exc:
            raise self._translate(exc) from exc
        return [self._place(location) for location in (found or [])[:limit]]

    async def reverse(self, lat: float, lng: float) -> Place | None:
        if not valid_coordinates(lat, lng):
            raise InvalidInput(f"({lat}, {lng}) is not a point: latitude ±90, longitude ±180")
        method = self._geopy.reverse
        kwargs = self._options(method)
        try:
            found = await self._limited(method, (lat, lng), exactly_one=True, **kwargs)
        except geopy_exc.GeocoderQueryError as exc:
            log.warning("%s rejected a reverse query: %s", self.service, exc)
            return None
        except geopy_exc.GeopyError as exc:
            raise self._translate(exc) from exc
        return self._place(found) if found is not None else None

    def _options(self, method: Callable[..., Any], **wanted: Any) -> dict[str, Any]:
        """The optional arguments this provider's method takes (they differ across geopy)."""
        accepted = inspect.signature(method).parameters
        options: dict[str, Any] = {
            "limit": wanted.get("limit"),
            "addressdetails": True,
            "country_codes": self.country or None,
            "language": self.language,
        }
        return {k: v for k, v in options.items() if k in accepted and v is not None}

    def _translate(self, exc: Exception) -> Exception:
        name = self.service
        if isinstance(
            exc,
            geopy_exc.GeocoderAuthenticationFailure | geopy_exc.GeocoderInsufficientPrivileges,
        ):
            return ConfigError(
                f"GEOCODER_API_KEY was refused by {name} ({exc}): set a valid key for {name}"
            )
        if isinstance(exc, geopy_exc.ConfigurationError):
            return ConfigError(f"GEOCODER={name} is misconfigured: {exc}")
        if isinstance(exc, geopy_exc.GeocoderRateLimited | geopy_exc.GeocoderQuotaExceeded):
            return GeocoderUnavailable(f"{name} is rate-limiting us or the quota is spent: {exc}")
        if isinstance(exc, geopy_exc.GeocoderTimedOut):
            return GeocoderUnavailable(f"{name} timed out: {exc}")
        return GeocoderUnavailable(f"{name} failed: {type(exc).__name__}: {exc}")

    def _place(self, location: Any) -> Place:
        raw: dict[str, Any] = location.raw if isinstance(location.raw, dict) else {}
        details = raw.get("address")
        address: dict[str, Any] = details if isinstance(details, dict) else {}
        return Place(
            lat=float(location.latitude),
            lng=float(location.longitude),
            address=str(location.address or ""),
            street=_first(address, "road", "pedestrian", "street"),
            number=_first(address, "house_number"),
            neighbourhood=_first(address, "suburb", "neighbourhood", "quarter", "city_district"),
            city=_first(address, "city", "town", "village", "municipality"),
            state=_state(address),
            cep=parse_cep(_first(address, "postcode")) or "",
            source=self.service,
            precision=_first(raw, "addresstype", "type"),
        )


async def _call(method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return await method(*args, **kwargs)


def _first(data: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value:
            return str(value)
    return ""


def _state(address: Mapping[str, Any]) -> str:
    # Nominatim gives "ISO3166-2-lvl4": "BR-SC"; the two-letter UF is what Brazilians write
    iso = _first(address, "ISO3166-2-lvl4")
    if iso.startswith("BR-"):
        return iso[3:]
    return _first(address, "state")
