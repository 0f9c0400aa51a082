"""The OZmap API v2 client: typed, async, on one injected ``httpx.AsyncClient``.

Contract for callers: every method returns models from :mod:`bot.ozmap.models` (never httpx
types) and raises only the :mod:`bot.errors` tree:

* ``OzmapUnavailable``: unreachable, timed out, 5xx, or an answer that is not JSON;
* ``OzmapAuthError``: 401/403 (wrong key, or its user lacks the API module);
* ``OzmapNotFound``: 404 on an element read, update or delete;
* ``OzmapRejected``: any other 4xx, carrying OZmap's own ``message``;
* ``NoFreePort`` (a ``OzmapRejected``): a reservation refused for lack of a port;
* ``OzmapError``: a 2xx whose body does not have the documented shape.

Only reads (GET) are retried, on timeouts, connection errors and 5xx, with exponential backoff
and full jitter: a POST that timed out may have been applied, and blindly sending it again could
reserve two ports. The API key goes out as the raw ``Authorization`` header (as OZmap's SDK sends
it) and is never logged; neither are paths, which can carry client codes (sometimes a CPF).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.errors import (
    ConfigError,
    NoFreePort,
    OzmapAuthError,
    OzmapError,
    OzmapNotFound,
    OzmapRejected,
    OzmapUnavailable,
)
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
    list_rows,
    parse_feasibility,
)
from bot.settings import Settings

__all__ = ["OzmapClient"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

Filter = list[dict[str, Any]]

# A 4xx to a reservation whose message talks of ports is read as "no free port". OZmap's error
# texts are not documented (docs/ozmap-api.md section 9): the sandbox says NO_FREE_PORT, a real
# server says something in Portuguese or English about a port ("porta", "port", "doors").
_PORT_WORDS = re.compile(r"\b(port|ports|porta|portas|door|doors)\b", re.IGNORECASE)
_MAX_PAGES = 1000  # a guard against a server that keeps promising another page


@dataclass(frozen=True)
class _CondoDirectory:
    """Where condominiums are: slow-changing, so cached. Ports are never cached."""

    buildings: tuple[Building, ...]
    condominiums: tuple[tuple[HorizontalCondominium, tuple[Box, ...]], ...]
    loaded_at: float


class OzmapClient:
    """One OZmap tenant. ``http`` is owned by the caller (the composition root closes it).

    ``condo_ttl`` is how many seconds the directory of buildings and horizontal condominiums is
    reused before being read again (0 = every call); ``condo_radius`` how near, in metres, a
    building must be to count for a point."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.2,
        condo_ttl: float = 300.0,
        condo_radius: float = 80.0,
        page_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        # OZmap's own guides give the URL with ":9994/api/v2"; accept it with or without
        root = base_url.strip().rstrip("/").removesuffix("/api/v2")
        url = httpx.URL(root)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ConfigError(
                f"OZMAP_URL={base_url!r} is not an http(s) URL: set it to e.g. "
                "https://yourisp.ozmap.com.br:9994"
            )
        self._http = http
        self._base = str(url).rstrip("/")
        self._api = self._base + "/api/v2/"
        self._token = token
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._retries = max(0, retries)
        self._backoff = backoff
        self._condo_ttl = condo_ttl
        self._condo_radius = condo_radius
        self._page_size = page_size
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._directory: _CondoDirectory | None = None
        self._directory_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OzmapClient({self._base!r})"

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient, **overrides: Any
    ) -> OzmapClient:
        """Build from the settings; raises ConfigError when OZMAP_TOKEN is missing."""
        if not settings.ozmap_token:
            raise ConfigError(
                "OZMAP_TOKEN is not set: create an API key in OZmap (user panel, API module) "
                "and set OZMAP_TOKEN"
            )
        options: dict[str, Any] = {
            "connect_timeout": settings.ozmap_connect_timeout,
            "read_timeout": settings.ozmap_read_timeout,
            "retries": settings.ozmap_retries,
            "condo_ttl": settings.ozmap_condo_ttl,
            **overrides,
        }
        return cls(http, settings.ozmap_url, settings.ozmap_token, **options)

    # --- transport ---------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """One request, retried only if it is a GET; any answer below 500 is returned."""
        attempts = 1 + (self._retries if method == "GET" else 0)
        resource = path.split("/", 1)[0]
        for attempt in range(attempts):
            cause: Exception | None = None
            try:
                response = await self._http.request(
                    method,
                    self._api + path,
                    params=params,
                    json=body,
                    headers={"Authorization": self._token, "Accept": "application/json"},
                    timeout=self._timeout,
                )
            except httpx.TimeoutException as exc:
                cause = exc
                error = OzmapUnavailable(
                    f"OZmap at {self._base} did not answer in time: check OZMAP_URL, or raise "
                    "OZMAP_READ_TIMEOUT if the server is just slow"
                )
            except httpx.TransportError as exc:
                cause = exc
                error = OzmapUnavailable(
                    f"OZmap at {self._base} is unreachable ({type(exc).__name__}): check "
                    "OZMAP_URL and that the server is up"
                )
            else:
                log.debug("ozmap %s %s -> %s", method, resource, response.status_code)
                if response.status_code < 500:
                    return response
                error = OzmapUnavailable(
                    f"OZmap failed (HTTP {response.status_code}"
                    f"{_suffix(_error_fields(response)[0])}): try again later",
                    status=response.status_code,
                )
            if attempt + 1 < attempts:
                log.debug("ozmap %s %s retry %d: %s", method, resource, attempt + 1, error)
                await asyncio.sleep(self._rng.uniform(0, self._backoff * 2**attempt))
                continue
            raise error from cause
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        what: str = "element",
        reservation: bool = False,
    ) -> Any:
        """Send, map errors, and return the decoded JSON (None for an empty body)."""
        response = await self._send(method, path, params=params, body=body)
        _raise_for_status(response, what=what, reservation=reservation)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise OzmapUnavailable(
                f"OZmap at {self._base} answered with something that is not JSON: check that "
                "OZMAP_URL points at the OZmap API (usually port 9994)",
                status=response.status_code,
            ) from exc

    async def _page(
        self, path: str, filters: Filter | None, page: int
    ) -> tuple[list[Mapping[str, Any]], int | None, bool]:
        """One page of a list endpoint: its rows, the ``total`` and whether more is promised."""
        params: dict[str, Any] = {"page": page, "limit": self._page_size}
        if filters:
            params["filter"] = json.dumps(filters, separators=(",", ":"))
        payload = await self._call("GET", path, params=params, what=path)
        try:
            batch, total = list_rows(payload)
        except ValueError as exc:
            raise OzmapError(f"OZmap's {path} list has no rows: {exc}") from exc
        more = isinstance(payload, Mapping) and payload.get("hasNextPage") is True
        return batch, total, more

    async def _list(self, path: str, filters: Filter | None = None) -> list[Mapping[str, Any]]:
        """Every row of a list endpoint (filter sent as query JSON). When the first page gives
        the ``total``, the remaining pages are read together; otherwise one after another while
        the server says ``hasNextPage``."""
        rows, total, more = await self._page(path, filters, 1)
        if rows and total is not None and len(rows) < total:
            pages = min(_MAX_PAGES, -(-total // len(rows)))  # ceiling division
            for batch, _, _ in await asyncio.gather(
                *(self._page(path, filters, page) for page in range(2, pages + 1))
            ):
                rows.extend(batch)
            return rows
        page = 1
        while rows and more and page < _MAX_PAGES:
            page += 1
            batch, _, more = await self._page(path, filters, page)
            if not batch:
                break
            rows.extend(batch)
        return rows

    # --- reads -------------------------------------------------------------------------------

    async def authenticated(self) -> bool:
        """Whether the API key is accepted. Raises OzmapUnavailable if OZmap cannot say."""
        try:
            await self._call("GET", "authenticated")
        except OzmapAuthError:
            return False
        return True

    async def feasibility(self, lat: float, lng: float, radius: float | None = None) -> Feasibility:
        """Boxes with free ports near the point (``radius`` metres, else OZmap's default)."""
        params: dict[str, Any] = {"lat": lat, "lng": lng}
        if radius is not None:
            params["radius"] = radius
        payload = await self._call("GET", "ftth-viability/radius", params=params, what="area")
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
            payload = await self._call(
                "GET", "properties/client/" + _segment(code), what="client code"
            )
        except OzmapNotFound:
            return []
        items = payload if isinstance(payload, list) else [payload] if payload else []
        return _parse_all(Property, items)

    async def client_by_code(self, code: str) -> FtthClient:
        """The FTTH client with this code; OzmapNotFound when there is none."""
        rows = await self._list("ftth-clients", [_eq("code", code)])
        if not rows:
            raise OzmapNotFound("no OZmap client has this code: check the code")
        return _parse(FtthClient, rows[0])

    async def tags(self, names: Iterable[str] | None = None) -> list[Tag]:
        """All tags, or those whose name is in ``names``."""
        wanted = list(names) if names is not None else None
        if wanted is not None and not wanted:
            return []
        filters = [{"property": "name", "operator": "in", "value": wanted}] if wanted else None
        return _parse_all(Tag, await self._list("tags", filters))

    async def tag(self, tag_id: str) -> Tag:
        return _parse(Tag, await self._call("GET", "tags/" + _segment(tag_id), what="tag"))

    async def box(self, box_id: str) -> Box:
        return _parse(Box, await self._call("GET", "boxes/" + _segment(box_id), what="box"))

    async def splitter(self, splitter_id: str) -> Splitter:
        payload = await self._call("GET", "splitters/" + _segment(splitter_id), what="splitter")
        return _parse(Splitter, payload)

    async def boxes_near(self, lat: float, lng: float, radius: float) -> list[Box]:
        """Implanted boxes within ``radius`` metres of the point (``near`` on ``coords``)."""
        rows = await self._list("boxes", [_near(lat, lng, radius), _eq("implanted", True)])
        return _parse_all(Box, rows)

    async def poles_near(self, lat: float, lng: float, radius: float) -> list[Pole]:
        """Poles within ``radius`` metres of the point."""
        return _parse_all(Pole, await self._list("poles", [_near(lat, lng, radius)]))

    async def drop_splitters(self, parents: Sequence[str]) -> list[Splitter]:
        """The client-facing (``isDrop``) splitters inside these boxes or buildings."""
        if not parents:
            return []
        rows = await self._list(
            "splitters",
            [{"property": "parent", "operator": "in", "value": list(parents)}, _eq("isDrop", True)],
        )
        return _parse_all(Splitter, rows)

    async def regions_at(self, lat: float, lng: float) -> list[Region]:
        """Regions whose polygon contains the point."""
        point = {"lat": lat, "lng": lng}
        rows = await self._list(
            "regions", [{"property": "polygon", "operator": "point-intersect", "value": point}]
        )
        return _parse_all(Region, rows)

    # --- condominium feasibility ------------------------------------------------------------

    async def refresh_condominiums(self) -> None:
        """Read the directory of buildings and horizontal condominiums (with their boxes) now."""
        buildings_rows, condo_rows = await asyncio.gather(
            self._list("buildings"), self._list("horizontal-condominiums")
        )
        condominiums = _parse_all(HorizontalCondominium, condo_rows)
        box_rows = await asyncio.gather(
            *(
                self._list(
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
            )
        )
        self._directory = _CondoDirectory(
            buildings=tuple(_parse_all(Building, buildings_rows)),
            condominiums=tuple(
                (condo, tuple(_parse_all(Box, rows)))
                for condo, rows in zip(condominiums, box_rows, strict=True)
            ),
            loaded_at=self._clock(),
        )

    async def _condo_directory(self) -> _CondoDirectory:
        directory = self._directory
        if directory is not None and self._clock() - directory.loaded_at < self._condo_ttl:
            return directory
        async with self._directory_lock:  # concurrent first callers share one refresh
            directory = self._directory
            if directory is None or self._clock() - directory.loaded_at >= self._condo_ttl:
                await self.refresh_condominiums()
            assert self._directory is not None
            return self._directory

    async def condominium_feasibility(self, lat: float, lng: float) -> list[CondoOption]:
        """Buildings within ``condo_radius`` of the point and horizontal condominiums containing
        it, each with the box to reserve on and its free ports counted live, those with free
        ports first, then nearest. When the directory is fresh this is one request (the
        splitters), or none when no condominium is near."""
        directory = await self._condo_directory()
        near = sorted(
            (
                (distance_m(lat, lng, b.lat, b.lng), b)
                for b in directory.buildings
                if b.lat is not None and b.lng is not None
            ),
            key=lambda pair: pair[0],
        )
        near = [(d, b) for d, b in near if d <= self._condo_radius]
        around = [
            (condo, boxes)
            for condo, boxes in directory.condominiums
            if boxes and condo.contains(lat, lng)
        ]
        parents = [b.id for _, b in near] + [box.id for _, boxes in around for box in boxes]
        if not parents:
            return []
        rows = await self._list(
            "splitters", [{"property": "parent", "operator": "in", "value": parents}]
        )
        free: dict[str, int] = {}
        for splitter in _parse_all(Splitter, rows):
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
            for d, b in near
        ]
        for condo, boxes in around:
            # the nearest box that has a free port, else the nearest box (full, but named)
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

    # --- writes (never retried) -------------------------------------------------------------

    async def create_property(self, reservation: NewReservation) -> Property:
        """Reserve a port: a property on the box with a not-implanted client (tutorial 002).

        Raises NoFreePort when OZmap answers 422 ``NO_FREE_PORT``, or, with ``auto_connect``, any
        other refusal (4xx) whose message speaks of a port; OzmapRejected for other refusals
        (e.g. 409 for a client code already in use); OzmapNotFound for an unknown box."""
        payload = await self._call(
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
        await self._call("DELETE", "properties/" + _segment(property_id), what="property")

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
        await self._call("PATCH", "ftth-clients/" + _segment(client_id), body=body, what="client")

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
        await self._call("POST", "ftth-clients/batch-update", body=body, what="clients")

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
        return _parse(Prospect, await self._call("POST", "prospects", body=body, what="prospect"))


# --- pure helpers ----------------------------------------------------------------------------


def _segment(value: str) -> str:
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


def _suffix(message: str | None) -> str:
    return f": {message}" if message else ""


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """OZmap's ``message`` and ``error`` code from an error body, when it is JSON."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, Mapping):
        return None, None
    message, code = body.get("message"), body.get("error")
    return (
        message if isinstance(message, str) and message else None,
        code if isinstance(code, str) and code else None,
    )


def _raise_for_status(response: httpx.Response, *, what: str, reservation: bool) -> None:
    status = response.status_code
    if status < 400:
        return
    message, code = _error_fields(response)
    if status in (401, 403):
        raise OzmapAuthError(
            f"OZmap refused the API key: check OZMAP_TOKEN (HTTP {status}; the key's user "
            "needs the API module)",
            status=status,
        )
    if status == 404:
        raise OzmapNotFound(message or f"no such {what} in OZmap", status=status)
    if code == "NO_FREE_PORT" or (reservation and message and _PORT_WORDS.search(message)):
        raise NoFreePort(message or "the box has no free port", status=status)
    raise OzmapRejected(message or f"OZmap refused the request (HTTP {status})", status=status)


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
