"""Geocoding: the ports (here) and their adapters (imported from their modules).

Flows import only the ports; the composition root builds adapters with
:func:`bot.geo.factory.make_geocoder` and :func:`bot.geo.factory.make_cep_lookup`. Importing
this package stays cheap on purpose (no geopy, no httpx).
"""

from bot.geo.base import CepInfo, CepLookup, Geocoder, Place

__all__ = ["CepInfo", "CepLookup", "Geocoder", "Place"]
