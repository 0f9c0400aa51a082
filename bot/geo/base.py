"""The geocoding ports: text → coordinates, coordinates → address, CEP → street.

Adapters: :class:`~bot.geo.gazetteer.GazetteerGeocoder` and
:class:`~bot.geo.gazetteer.OfflineCepLookup` (offline, over the sandbox's street file),
:class:`~bot.geo.geopy_adapter.GeopyGeocoder` (Nominatim and every other geopy provider),
:class:`~bot.geo.viacep.ViaCepLookup`, and :class:`~bot.geo.cache.CachedGeocoder` in front of any
geocoder. ``tests/geo/test_contract.py`` runs one suite against every geocoder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CepInfo", "CepLookup", "Geocoder", "Lookups", "Place"]


@dataclass(frozen=True, slots=True)
class Place:
    """A point with the address that names it (WGS84 degrees).

    ``address`` is one formatted line for showing to the customer. The parts may be empty when
    the provider does not give them. ``source`` names the adapter ("gazetteer", "nominatim", …);
    ``precision`` is "number" when the house number was placed, "street" when only the street
    was found (a midpoint), or the provider's own word.
    """

    lat: float
    lng: float
    address: str
    street: str = ""
    number: str = ""
    neighbourhood: str = ""
    city: str = ""
    state: str = ""
    cep: str = ""  # 8 digits, no dash ("" when unknown)
    source: str = ""
    precision: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Place:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class CepInfo:
    """What a CEP names: the street (empty for a city-wide CEP), neighbourhood, city, state."""

    cep: str  # 8 digits, no dash
    street: str
    neighbourhood: str
    city: str
    state: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Lookups:
    """What a conversation asked a geocoder: query texts and reverse-geocoded points. An
    erasure gathers them (from the transcript and from what the flows say their context
    holds) and has the geocoder :meth:`~Geocoder.forget` them."""

    texts: tuple[str, ...] = ()
    points: tuple[tuple[float, float], ...] = ()

    def __add__(self, other: Lookups) -> Lookups:
        return Lookups(self.texts + other.texts, self.points + other.points)


class Geocoder(ABC):
    """Turns what a customer types into points, and a point back into an address."""

    @abstractmethod
    async def geocode(self, query: str, *, limit: int = 3) -> list[Place]:
        """Up to ``limit`` candidates for ``query``, best first; ``[]`` when nothing matches.

        Raises :class:`bot.errors.GeocoderUnavailable` when the provider fails or is
        rate-limited, :class:`bot.errors.ConfigError` when it refuses our credentials."""

    @abstractmethod
    async def reverse(self, lat: float, lng: float) -> Place | None:
        """The address at (or nearest to) a point; None when the provider knows none.

        Raises :class:`bot.errors.InvalidInput` for coordinates out of range, and
        :class:`bot.errors.GeocoderUnavailable` / :class:`bot.errors.ConfigError` as
        :meth:`geocode`."""

    async def forget(self, lookups: Lookups) -> int:
        """Drop what this geocoder keeps about ``lookups`` (a customer's erasure); returns how
        many answers went. A geocoder that keeps nothing has nothing to drop (the default).
        Raises :class:`bot.errors.StorageError` when what it keeps cannot be deleted."""
        return 0


class CepLookup(ABC):
    """Brazilian postal codes to streets."""

    @abstractmethod
    async def lookup(self, cep: str) -> CepInfo | None:
        """What ``cep`` names ("88025-500" or "88025500"); None when no such CEP exists.

        Raises :class:`bot.errors.InvalidInput` when ``cep`` is not 8 digits, and
        :class:`bot.errors.GeocoderUnavailable` when the provider fails."""
