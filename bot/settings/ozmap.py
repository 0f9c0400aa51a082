"""The OZmap block: the server and its login, timeouts, how feasibility is searched, the
reservation codes, the tags of prospects and outages."""

from __future__ import annotations

from typing import Literal

from bot.settings.fields import Block, Flag, Names, setting

__all__ = ["Ozmap"]


class Ozmap(Block):
    ozmap_url: str = setting(
        "http://127.0.0.1:9994",
        "OZMAP_URL",
        "your OZmap's address (the default is `ozbot sandbox`'s)",
        example="https://sua-empresa.ozmap.com.br",
        section="OZmap",
    )
    ozmap_token: str = setting(
        "",
        "OZMAP_TOKEN",
        "an API key from OZmap's user panel (API module); empty with OZMAP_AUTH=login",
        example="dummy-ozmap-api-key",
        secret=True,
    )
    ozmap_auth: Literal["key", "login"] = setting(
        "key",
        "OZMAP_AUTH",
        "key: send OZMAP_TOKEN; login: log in with OZMAP_LOGIN and OZMAP_PASSWORD as OZmap's "
        "SDK does (a new login when the token expires)",
    )
    ozmap_login: str = setting("", "OZMAP_LOGIN", "OZmap user for OZMAP_AUTH=login", example="")
    ozmap_password: str = setting(
        "", "OZMAP_PASSWORD", "its password", example="dummy-ozmap-password", secret=True
    )
    ozmap_connect_timeout: float = setting(5.0, "OZMAP_CONNECT_TIMEOUT", "seconds")
    ozmap_read_timeout: float = setting(15.0, "OZMAP_READ_TIMEOUT", "seconds")
    ozmap_retries: int = setting(
        2, "OZMAP_RETRIES", "times a failed read is tried again (writes are never repeated)"
    )
    ozmap_filters_in: Literal["query", "body"] = setting(
        "query",
        "OZMAP_FILTERS_IN",
        "where list filters travel: query (the query string) or body (the GET body, as OZmap's "
        "SDK sends them; some proxies drop it)",
    )
    ozmap_feasibility_mode: Literal["radius", "poles"] = setting(
        "radius",
        "OZMAP_FEASIBILITY_MODE",
        "radius: OZmap's feasibility by radius; poles: the nearest pole, then the boxes reached "
        "along its neighbours (see docs/ozmap-api.md)",
    )
    ozmap_radius: int = setting(
        250,
        "OZMAP_RADIUS",
        "metres around the customer's point searched for a box with a free port",
    )
    ozmap_pole_radius: float = setting(
        100.0, "OZMAP_POLE_RADIUS", "poles mode: metres to the nearest pole"
    )
    ozmap_max_drop: float = setting(
        250.0,
        "OZMAP_MAX_DROP",
        "poles mode: the longest drop in metres, point to box along the poles (OZmap's own is "
        "the project's maximum drop size)",
    )
    ozmap_condo_radius: float = setting(
        80.0,
        "OZMAP_CONDO_RADIUS",
        "metres from the customer's point a building may stand and still be the customer's",
    )
    ozmap_code_template: str = setting(
        "OZB-{random}",
        "OZMAP_CODE_TEMPLATE",
        "how reservation codes are made, so the ERP can match them: text with {random}, "
        "{date:%Y%m%d}, {seq:05d} (a counter) and {cpf} (needs OZBOT_REQUIRE_CPF); one of "
        "{random} or {seq} is required",
        example="ISP-{date:%Y%m%d}-{random}",
    )
    ozmap_cpf_in_observation: Flag = setting(
        False,
        "OZMAP_CPF_IN_OBSERVATION",
        "true: the CPF is also written into the OZmap client's observation, a free-text field "
        "the bot's erasure cannot clear (default: the CPF stays in the bot's database only)",
    )
    prospect_tags: Names = setting(
        (),
        "OZMAP_PROSPECT_TAGS",
        "tags (names or ids) put on prospects; comma-separated",
        example="PROSPECT_BOT",
    )
    outage_tags: Names = setting(
        ("MASSIVA", "ROMPIMENTO", "MANUTENCAO"),
        "OZMAP_OUTAGE_TAGS",
        'tags that mark a mass outage ("massiva") on boxes or regions; comma-separated',
    )
    outage_tags_ttl: float = setting(
        600.0,
        "OZMAP_OUTAGE_TAGS_TTL",
        "seconds the outage tags' ids are reused before OZmap's tag list is read again",
    )
    outage_handoff: Flag = setting(
        False,
        "OZBOT_OUTAGE_HANDOFF",
        "true: a customer told of a known outage is also queued for a person",
    )
