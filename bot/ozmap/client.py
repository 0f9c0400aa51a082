"""The OZmap API v2 client: typed, async, on one injected ``httpx.AsyncClient``.

Contract for callers: every method returns models from :mod:`bot.ozmap.models` (never httpx
types) and raises only the :mod:`bot.errors` tree:

* ``OzmapUnavailable``: unreachable, timed out, 5xx, or an answer that is not JSON;
* ``OzmapAuthError``: 401/403 (wrong key or login, or its user lacks the API module);
* ``OzmapNotFound``: 404 on an element read, update or delete;
* ``OzmapRejected``: any other 4xx, carrying OZmap's own ``message``;
* ``NoFreePort`` (a ``OzmapRejected``): a reservation refused for lack of a port;
* ``OzmapError``: a 2xx whose body does not have the documented shape.

Authentication (API key or login), retries (reads only), paging and where filters travel are the
transport's (:mod:`bot.ozmap.transport`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError, OzmapAuthError, OzmapError, OzmapNotFound
from bot.ozmap.models import (
    Box,
    Building,
    ClientStatus,
    CondoOption,
    Feasibility,
    FtthClient,
    HorizontalCondominium,
    NewReservation,
    Onu,
    Pole,
    Property,
    Prospect,
    Region,
    Splitter,
    Tag,
    distance_m,
    parse_feasibility,
)
from bot.ozmap.transport import PAGE_SIZE, Transport
from bot.settings import Settings

__all__ = ["OzmapClient", "segment"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

Filter = list[dict[str, Any]]


class OzmapClient:
    """One OZmap tenant. ``http`` is owned by the caller (the composition root closes it).

    ``token`` is an API key; leave it empty and give ``login`` and ``password`` to log in as
    the SDK does. ``filters_in`` says whether list filters travel in the ``query`` string or in
    the GET ``body``; ``condo_radius`` is how near, in metres, a building must be to count for
    a point. Raises ConfigError for a URL or credentials that cannot work."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: str = "",
        *,
        login: str = "",
        password: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.2,
        filters_in: Literal["query", "body"] = "query",
        condo_radius: float = 80.0,
        page_size: int = PAGE_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        self._t = Transport(
            http,
            base_url,
            token=token,
            login=login,
            password=password,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
            filters_in=filters_in,
            page_size=page_size,
            rng=rng,
        )
        self._condo_radius = condo_radius

    def __repr__(self) -> str:
        return f"OzmapClient({self._t.base!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credentials in use (to mask them in anything shown)."""
        return self._t.secrets

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient, **overrides: Any
    ) -> OzmapClient:
        """Build from the settings; raises ConfigError when the credentials of OZMAP_AUTH are
        missing."""
        if settings.ozmap_auth == "login":
            if not (settings.ozmap_login and settings.ozmap_password):
                raise ConfigError(
                    "OZMAP_AUTH=login needs OZMAP_LOGIN and OZMAP_PASSWORD (an OZmap user with "
                    "the API module)"
                )
            credentials = {"login": settings.ozmap_login, "password": settings.ozmap_password}
        elif not settings.ozmap_token:
            raise ConfigError(
                "OZMAP_TOKEN is not set: create an API key in OZmap (user panel, API module) "
                "and set OZMAP_TOKEN, or set OZMAP_AUTH=login"
            )
        else:
            credentials = {"token": settings.ozmap_token}
        options: dict[str, Any] = {
            "connect_timeout": settings.ozmap_connect_timeout,
            "read_timeout": settings.ozmap_read_timeout,
            "retries": settings.ozmap_retries,
            "filters_in": settings.ozmap_filters_in,
            "condo_radius": settings.ozmap_condo_radius,
            **credentials,
            **overrides,
        }
        return cls(http, settings.ozmap_url, **options)

    async def raw(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON of one GET exactly as OZmap sent it (for an integrator's check)."""
        return await self._t.call("GET", path, params=params, what=path)

    # --- reads -------------------------------------------------------------------------------

    async def authenticated(self) -> bool:
        """Whether the API key is accepted. Raises OzmapUnavailable if OZmap cannot say."""
        try:
            await self._t.call("GET", "authenticated")
        except OzmapAuthError:
            return False
        return True

    async def feasibility(self, lat: float, lng: float, radius: float | None = None) -> Feasibility:
        """Boxes with free ports near the point (``radius`` metres, else OZmap's default)."""
        params: dict[str, Any] = {"lat": lat, "lng": lng}
        if radius is not None:
            params["radius"] = radius
        payload = await self._t.call("GET", "ftth-viability/radius", params=params, what="area")
        try:
            return parse_feasibility(payload, lat, lng)
        except (ValueError, ValidationError) as exc:
            raise OzmapError(f"OZmap's feasibility answer is not readable: {exc}") from exc

    async def properties_by_client_code(self, code: str) -> list[Property]:
        """The properties holding the client with this code (tutorials 000/001/004); empty when
        there is none (a 404 here means "no such code", not "no such endpoint")."""
        if not code.strip():
            return []  # an empty segment would address another route
        try:
            payload = await self._t.call(
                "GET", "properties/client/" + segment(code), what="client code"
            )
        except OzmapNotFound:
            return []
        items = payload if isinstance(payload, list) else [payload] if payload else []
        return _parse_all(Property, items)

    async def client_by_code(self, code: str) -> FtthClient:
        """The FTTH client with this code; OzmapNotFound when there is none."""
        rows = await self._t.rows("ftth-clients", [_eq("code", code)])
        if not rows:
            raise OzmapNotFound("no OZmap client has this code: check the code")
        return _parse(FtthClient, rows[0])

    async def tags(self, names: Iterable[str] | None = None) -> list[Tag]:
        """All tags, or those whose name is in ``names``."""
        wanted = list(names) if names is not None else None
        if wanted is not None and not wanted:
            return []
        filters = [{"property": "name", "operator": "in", "value": wanted}] if wanted else None
        return _parse_all(Tag, await self._t.rows("tags", filters))

    async def tag(self, tag_id: str) -> Tag:
        return _parse(Tag, await self._t.call("GET", "tags/" + segment(tag_id), what="tag"))

    async def box(self, box_id: str) -> Box:
        return _parse(Box, await self._t.call("GET", "boxes/" + segment(box_id), what="box"))

    async def splitter(self, splitter_id: str) -> Splitter:
        payload = await self._t.call("GET", "splitters/" + segment(splitter_id), what="splitter")
        return _parse(Splitter, payload)

    async def boxes_near(self, lat: float, lng: float, radius: float) -> list[Box]:
        """Implanted boxes within ``radius`` metres of the point (``near`` on ``coords``)."""
        rows = await self._t.rows("boxes", [_near(lat, lng, radius), _eq("implanted", True)])
        return _parse_all(Box, rows)

    async def poles_near(self, lat: float, lng: float, radius: float) -> list[Pole]:
        """Poles within ``radius`` metres of the point."""
        return _parse_all(Pole, await self._t.rows("poles", [_near(lat, lng, radius)]))

    async def drop_splitters(self, parents: Sequence[str]) -> list[Splitter]:
        """The client-facing (``isDrop``) splitters inside these boxes or buildings."""
        if not parents:
            return []
        rows = await self._t.rows(
            "splitters",
            [{"property": "parent", "operator": "in", "value": list(parents)}, _eq("isDrop", True)],
        )
        return _parse_all(Splitter, rows)

    async def regions_at(self, lat: float, lng: float) -> list[Region]:
        """Regions whose polygon contains the point."""
        point = {"lat": lat, "lng": lng}
        rows = await self._t.rows(
            "regions", [{"property": "polygon", "operator": "point-intersect", "value": point}]
        )
        return _parse_all(Region, rows)

    # --- condominium feasibility ------------------------------------------------------------

    async def condominiums_at(
        self, lat: float, lng: float
    ) -> tuple[list[tuple[float, Building]], list[HorizontalCondominium]]:
        """Buildings within ``condo_radius`` of the point (nearest first, with their distance)
        and horizontal condominiums whose polygon contains it, found by OZmap's own filters
        (``near`` on the buildings' coordinates, ``point-intersect`` on the polygons): two
        requests, sent together."""
        point = {"lat": lat, "lng": lng}
        building_rows, condo_rows = await asyncio.gather(
            self._t.rows("buildings", [_near(lat, lng, self._condo_radius)]),
            self._t.rows(
                "horizontal-condominiums",
                [{"property": "polygon", "operator": "point-intersect", "value": point}],
            ),
        )
        near = sorted(
            (
                (distance_m(lat, lng, b.lat, b.lng), b)
                for b in _parse_all(Building, building_rows)
                if b.lat is not None and b.lng is not None
            ),
            key=lambda pair: (pair[0], pair[1].id),
        )
        # the filters are the server's; the client still keeps only what it asked for
        buildings = [(d, b) for d, b in near if d <= self._condo_radius]
        condominiums = [
            c for c in _parse_all(HorizontalCondominium, condo_rows) if c.contains(lat, lng)
        ]
        return buildings, condominiums

    async def condominium_options(
        self,
        lat: float,
        lng: float,
        buildings: Sequence[tuple[float, Building]],
        condominiums: Sequence[HorizontalCondominium],
    ) -> list[CondoOption]:
        """Each building with its free ports counted live, and each horizontal condominium with
        the box to reserve on inside it (the nearest with a free port, else the nearest); those
        with free ports first, then nearest. The buildings' splitters and the condominiums'
        boxes are read together, then the boxes' splitters."""
        if not buildings and not condominiums:
            return []
        building_splitters, *inner = await asyncio.gather(
            self.drop_splitters([b.id for _, b in buildings]),
            *(
                self._t.rows(
                    "boxes",
                    [
                        {
                            "property": "coords",
                            "operator": "within",
                            "value": {"id": condo.id, "model": "horizontalCondominium"},
                        }
                    ],
                )
                for condo in condominiums
            ),
        )
        boxes_in = [_parse_all(Box, rows) for rows in inner]
        box_splitters = await self.drop_splitters([box.id for boxes in boxes_in for box in boxes])
        free: dict[str, int] = {}
        for splitter in [*building_splitters, *box_splitters]:
            if splitter.parent:
                free[splitter.parent] = free.get(splitter.parent, 0) + len(splitter.free_ports())
        options = [
            CondoOption(
                kind="building",
                id=b.id,
                name=b.name,
                address=b.address,
                box_id=b.id,
                free_ports=free.get(b.id, 0),
                distance=round(d, 1),
            )
            for d, b in buildings
        ]
        for condo, boxes in zip(condominiums, boxes_in, strict=True):
            if not boxes:
                continue
            chosen = min(
                boxes,
                key=lambda box: (
                    free.get(box.id, 0) == 0,
                    distance_m(lat, lng, box.lat, box.lng)
                    if box.lat is not None and box.lng is not None
                    else float("inf"),
                ),
            )
            options.append(
                CondoOption(
                    kind="horizontal",
                    id=condo.id,
                    name=condo.name,
                    address=condo.address,
                    box_id=chosen.id,
                    free_ports=free.get(chosen.id, 0),
                    distance=0.0,
                )
            )
        options.sort(key=lambda o: (o.free_ports == 0, o.distance))
        return options

    async def condominium_feasibility(self, lat: float, lng: float) -> list[CondoOption]:
        """Every condominium that may serve the point (:meth:`condominiums_at`, then
        :meth:`condominium_options`). Nothing near: the two requests of the first step only."""
        buildings, condominiums = await self.condominiums_at(lat, lng)
        return await self.condominium_options(lat, lng, buildings, condominiums)

    # --- writes (never retried) -------------------------------------------------------------

    async def create_property(self, reservation: NewReservation) -> Property:
        """Reserve a port: a property on the box with a not-implanted client (tutorial 002).

        Raises NoFreePort when OZmap answers 422 ``NO_FREE_PORT``, or, with ``auto_connect``, any
        other refusal (4xx) whose message speaks of a port; OzmapRejected for other refusals
        (e.g. 409 for a client code already in use); OzmapNotFound for an unknown box."""
        payload = await self._t.call(
            "POST",
            "properties",
            body=reservation.to_body(),
            what="box",
            reservation=reservation.auto_connect,
        )
        return _parse(Property, payload)

    async def delete_property(self, property_id: str) -> None:
        """Delete a property and its client, freeing the port (tutorial 004). OzmapNotFound if
        it is already gone: callers that want idempotency catch it."""
        await self._t.call("DELETE", "properties/" + segment(property_id), what="property")

    async def update_client(
        self,
        client_id: str,
        *,
        implanted: bool | None = None,
        status: ClientStatus | int | None = None,
        onu: Onu | Mapping[str, str] | None = None,
        name: str | None = None,
        observation: str | None = None,
    ) -> None:
        """PATCH the given fields of one client (tutorials 000 and 001)."""
        body: dict[str, Any] = {}
        if implanted is not None:
            body["implanted"] = implanted
        if status is not None:
            body["status"] = int(ClientStatus(status))
        if onu is not None:
            body["onu"] = onu.model_dump(by_alias=True) if isinstance(onu, Onu) else dict(onu)
        if name is not None:
            body["name"] = name
        if observation is not None:
            body["observation"] = observation
        if not body:
            raise ValueError("update_client needs at least one field to change")
        await self._t.call("PATCH", "ftth-clients/" + segment(client_id), body=body, what="client")

    async def batch_update_clients(
        self,
        ids: Sequence[str],
        *,
        implanted: bool | None = None,
        status: ClientStatus | int | None = None,
    ) -> None:
        """Set ``implanted`` and/or ``status`` on many clients in one request (tutorial 001)."""
        update: dict[str, Any] = {}
        if implanted is not None:
            update["implanted"] = implanted
        if status is not None:
            update["status"] = int(ClientStatus(status))
        if not update:
            raise ValueError("batch_update_clients needs implanted or status")
        if not ids:
            return
        body: dict[str, Any] = {
            "filter": [{"property": "id", "operator": "in", "value": list(ids)}],
            "update": update,
        }
        await self._t.call("POST", "ftth-clients/batch-update", body=body, what="clients")

    async def prospects_by_code(self, code: str) -> list[Prospect]:
        """The prospects recorded with this ``code`` (how an ERP finds the ones the bot made:
        they carry it as ``code`` and ``external_id``). Empty for an empty code."""
        if not code:
            return []
        return _parse_all(Prospect, await self._t.rows("prospects", [_eq("code", code)]))

    async def create_prospect(
        self,
        name: str,
        phone: str,
        address: str,
        lat: float,
        lng: float,
        observation: str = "",
        tags: Sequence[str] = (),
        *,
        code: str | None = None,
        external_id: str | None = None,
    ) -> Prospect:
        """Record a lead where there is no feasibility; ``tags`` are tag ids, ``code`` and
        ``external_id`` what the provider's ERP will know it by."""
        body: dict[str, Any] = {
            "name": name,
            "phone": phone,
            "address": address,
            "coords": [lng, lat],
            "observation": observation,
            "tags": list(tags),
            "viable": False,
        }
        if code is not None:
            body["code"] = code
        if external_id is not None:
            body["external_id"] = external_id
        return _parse(Prospect, await self._t.call("POST", "prospects", body=body, what="prospect"))


# --- pure helpers ----------------------------------------------------------------------------


def segment(value: str) -> str:
    """One URL path segment: ``123|123`` -> ``123%7C123``, ``a/b`` -> ``a%2Fb``."""
    return quote(value, safe="")


def _eq(prop: str, value: Any) -> dict[str, Any]:
    return {"property": prop, "operator": "=", "value": value}


def _near(lat: float, lng: float, radius: float) -> dict[str, Any]:
    return {
        "property": "coords",
        "operator": "near",
        "value": {"lat": lat, "lng": lng, "radius": radius},
    }


def _parse(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise OzmapError(
            f"OZmap answered a {model.__name__} in an unexpected shape: {exc.error_count()} "
            "field(s) unreadable"
        ) from exc


def _parse_all(model: type[M], items: Iterable[Any]) -> list[M]:
    return [_parse(model, item) for item in items]
