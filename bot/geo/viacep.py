"""CEP lookup through ViaCEP (https://viacep.com.br), over the shared httpx client."""

from __future__ import annotations

import httpx

from bot.errors import GeocoderUnavailable, InvalidInput
from bot.geo.base import CepInfo, CepLookup
from bot.validation import parse_cep

__all__ = ["ViaCepLookup"]


class ViaCepLookup(CepLookup):
    """``GET {base_url}/{cep}/json/``. ViaCEP answers 200 with ``{"erro": true}`` (or
    ``"true"``) for a well-formed CEP that does not exist, and 400 for a malformed one.

    Raises :class:`InvalidInput` for a malformed CEP (checked before any request) and
    :class:`GeocoderUnavailable` for timeouts, network errors, 5xx and answers of another shape.
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str = "https://viacep.com.br/ws") -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def lookup(self, cep: str) -> CepInfo | None:
        digits = parse_cep(cep)
        if digits is None or sum(c.isdigit() for c in cep) != 8:
            raise InvalidInput(f"{cep!r} is not a CEP: a CEP has 8 digits, like 88025-500")
        url = f"{self.base_url}/{digits}/json/"
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise GeocoderUnavailable(f"ViaCEP unreachable ({type(exc).__name__})") from exc
        if response.status_code == 400:
            raise InvalidInput(f"ViaCEP rejected CEP {digits}: a CEP has 8 digits")
        if response.status_code >= 300:
            raise GeocoderUnavailable(f"ViaCEP answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GeocoderUnavailable("ViaCEP answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise GeocoderUnavailable("ViaCEP answered JSON of an unknown shape")
        if str(data.get("erro", "")).lower() == "true":
            return None
        if "localidade" not in data or "uf" not in data:
            raise GeocoderUnavailable("ViaCEP answered JSON of an unknown shape")
        return CepInfo(
            cep=parse_cep(str(data.get("cep", ""))) or digits,
            street=str(data.get("logradouro") or ""),
            neighbourhood=str(data.get("bairro") or ""),
            city=str(data["localidade"]),
            state=str(data["uf"]),
        )
