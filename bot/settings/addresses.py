"""The addresses block: the geocoder and the CEP lookup."""

from __future__ import annotations

from bot.settings.fields import Block, setting

__all__ = ["Addresses"]


class Addresses(Block):
    geocoder: str = setting(
        "nominatim",
        "GEOCODER",
        "nominatim (or another geopy provider name), or gazetteer (offline, sandbox area only)",
        section="addresses",
    )
    geocoder_api_key: str = setting(
        "",
        "GEOCODER_API_KEY",
        "for providers that need a key",
        example="dummy-geocoder-key",
        secret=True,
    )
    geocoder_user_agent: str = setting(
        "ozbot",
        "GEOCODER_USER_AGENT",
        "Nominatim's policy asks for a user agent naming you",
        example="ozbot-sua-empresa",
    )
    geocoder_country: str = setting("br", "GEOCODER_COUNTRY", "searches stay in this country")
    cep_provider: str = setting("viacep", "CEP_PROVIDER", "viacep or offline")
    cep_url: str = setting("https://viacep.com.br/ws", "CEP_URL", "ViaCEP's address")
