"""Typed views of OZmap's answers, and the pure functions that read them.

OZmap's documents come in more than one shape for the same thing, and these models accept all of
them so nothing downstream has to care:

* the id is ``_id`` in ``GET /properties/client/{code}`` answers and ``id`` in create answers;
  both land in ``id``;
* ``client`` (and ``box``, ``pole``, ``project``) is an id string or a populated object;
* geometry is ``coords: [lng, lat]`` (GeoJSON order) plus flattened ``lat``/``lng`` (``null`` for
  properties inside buildings); either half fills the other.

Every model keeps unknown fields (``extra="allow"``): OZmap adds fields over time, and an
integrator may want them. Only ``viable`` is certain in a feasibility answer (see
docs/ozmap-api.md section 2.3), so :func:`parse_feasibility` reads it with
:mod:`bot.ozmap.answers`, whatever the shape. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bot.ozmap.answers import distance_m, read_viability
from bot.ozmap.geometry import point_in_polygon

__all__ = [
    "Box",
    "Building",
    "ClientStatus",
    "CondoOption",
    "Connectables",
    "Connection",
    "Feasibility",
    "FeasibleBox",
    "FreePort",
    "FtthClient",
    "HorizontalCondominium",
    "NewReservation",
    "NotViableBox",
    "Onu",
    "Pole",
    "Property",
    "Prospect",
    "Region",
    "Splitter",
    "SplitterPort",
    "Tag",
    "distance_m",
    "list_rows",
    "parse_feasibility",
    "point_in_polygon",
]


class ClientStatus(IntEnum):
    """An FTTH client's status: the colour of its icon in OZmap."""

    OK = 0
    ERROR = 1


def _ref_id(value: Any) -> Any:
    """A reference that may be populated (``{"_id"|"id": ...}``) reduced to its id."""
    if isinstance(value, Mapping):
        return value.get("id") or value.get("_id")
    return value


class OzModel(BaseModel):
    """Base of every OZmap document: keeps unknown fields, maps ``_id`` to ``id``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = ""

    @model_validator(mode="before")
    @classmethod
    def _underscore_id(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "_id" in data:
            data = dict(data)
            underscore = data.pop("_id")
            if not data.get("id"):
                data["id"] = underscore
        return data


def _coords_from(value: Any) -> tuple[float, float] | None:
    """``[lng, lat]``, or the ``{lat, lng}`` form some documents use, as ``(lng, lat)``."""
    if isinstance(value, Mapping):
        lat, lng = value.get("lat"), value.get("lng")
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            return (float(lng), float(lat))
        return None
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lng, lat = value
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            return (float(lng), float(lat))
    return None


class Located(OzModel):
    """A document with a point: ``coords`` ``(lng, lat)`` and flattened ``lat``/``lng``."""

    coords: tuple[float, float] | None = None
    lat: float | None = None
    lng: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_geometry(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        coords = _coords_from(data.get("coords"))
        data["coords"] = coords
        if coords is not None:
            if data.get("lat") is None:
                data["lat"] = coords[1]
            if data.get("lng") is None:
                data["lng"] = coords[0]
        elif isinstance(data.get("lat"), int | float) and isinstance(data.get("lng"), int | float):
            data["coords"] = (float(data["lng"]), float(data["lat"]))
        return data


class Tag(OzModel):
    name: str = ""
    allowed_types: list[str] = Field(default_factory=list, alias="allowedTypes")


# Tags are ids, or populated Tag documents; ``null`` reads as no tags.
TagList = Annotated[list[str | Tag], BeforeValidator(lambda value: value or [])]


class Onu(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    user_pppoe: str = Field("", alias="user_PPPoE")
    serial_number: str = ""
    mac_address: str = ""


class FtthClient(OzModel):
    """The subscriber. ``implanted=False`` means a reservation, not yet installed."""

    code: str = ""
    name: str = ""
    implanted: bool = False
    status: ClientStatus = ClientStatus.OK
    observation: str = ""
    certified: bool = False
    onu: Onu | None = None
    tags: TagList = Field(default_factory=list)

    @field_validator("observation", "code", "name", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class Connection(BaseModel):
    """Where a property is plugged: a splitter (``id``) and its 1-based ``port``."""

    model_config = ConfigDict(extra="allow")

    id: str = ""
    kind: str = ""
    name: str = ""
    port: int | None = None
    implanted: bool = False
    fiber: str | None = None


class Property(Located):
    """The customer's premises; holds the client and its connection to a box port."""

    box: str | None = None
    client: str | FtthClient | None = None
    address: str = ""
    observation: str = ""
    connections: list[Connection] = Field(default_factory=list)
    tags: TagList = Field(default_factory=list)
    pole: str | None = None
    project: str | None = None
    drop: str | None = None

    @field_validator("box", "pole", "project", "drop", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return _ref_id(value)

    @field_validator("address", "observation", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def client_id(self) -> str | None:
        """The client's id whether ``client`` came as an id or populated."""
        if isinstance(self.client, FtthClient):
            return self.client.id or None
        return self.client

    @property
    def client_obj(self) -> FtthClient | None:
        """The populated client, or None when the answer carried only its id."""
        return self.client if isinstance(self.client, FtthClient) else None


class SplitterPort(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    index: int | None = None
    blocked: bool = False
    tags: TagList = Field(default_factory=list)
    observation: str | None = None


class Connectables(BaseModel):
    """Fibres plugged into each input/output; ``output[i] is None`` means port i+1 is empty."""

    model_config = ConfigDict(extra="allow")

    input: list[str | None] = Field(default_factory=list)
    output: list[str | None] = Field(default_factory=list)

    @field_validator("input", "output", mode="before")
    @classmethod
    def _fibre_ids(cls, value: Any) -> Any:
        return [_ref_id(item) for item in value or []]


class Splitter(OzModel):
    name: str = ""
    kind: str = "Splitter"
    parent: str | None = None
    is_drop: bool = Field(False, alias="isDrop")
    implanted: bool = False
    ratio: dict[str, int] | None = None
    ports: list[SplitterPort] = Field(default_factory=list)
    connectables: Connectables = Field(default_factory=Connectables)

    @field_validator("parent", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return _ref_id(value)

    def free_ports(self) -> list[int]:
        """1-based ports a client can be connected to: a service (``isDrop``) splitter that is
        implanted, no fibre on the output and the port not blocked. Empty otherwise."""
        if not (self.is_drop and self.implanted):
            return []
        # ports[i] describes output i (same order); a missing entry is an unblocked port
        blocked = [port.blocked for port in self.ports]
        return [
            i + 1
            for i, fibre in enumerate(self.connectables.output)
            if fibre is None and not (i < len(blocked) and blocked[i])
        ]


class Box(Located):
    name: str = ""
    kind: str = "Box"
    project: str | None = None
    pole: str | None = None
    implanted: bool = False
    draft: bool = False
    address: str | None = None
    tags: TagList = Field(default_factory=list)

    @field_validator("project", "pole", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return _ref_id(value)


class Pole(Located):
    """A pole; ``adjacents`` are the poles next to it (what feasibility by poles walks)."""

    name: str = ""
    kind: str = "Pole"
    adjacents: list[str] = Field(default_factory=list)
    pole_type: str | None = Field(None, alias="poleType")

    @field_validator("adjacents", mode="before")
    @classmethod
    def _references(cls, value: Any) -> Any:
        return [_ref_id(item) for item in value or [] if _ref_id(item)]

    @field_validator("pole_type", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return _ref_id(value)


class Building(Box):
    """A vertical condominium: a box-like element with its own splitters inside."""

    kind: str = "Building"


class HorizontalCondominium(OzModel):
    """A gated area with its own network; ``polygon`` is GeoJSON (``[lng, lat]`` rings)."""

    name: str = ""
    address: str | None = None
    polygon: dict[str, Any] | None = None
    tags: TagList = Field(default_factory=list)

    def contains(self, lat: float, lng: float) -> bool:
        return self.polygon is not None and point_in_polygon(lat, lng, self.polygon)


class Region(OzModel):
    name: str = ""
    polygon: dict[str, Any] | None = None
    region_type: str | None = Field(None, alias="regionType")
    tags: TagList = Field(default_factory=list)

    @field_validator("region_type", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        return _ref_id(value)


class Prospect(Located):
    name: str | None = None
    phone: str | None = None
    code: str | None = None
    external_id: str | None = None
    address: str | None = None
    observation: str | None = None
    viable: bool | None = None
    tags: TagList = Field(default_factory=list)


# --- feasibility -----------------------------------------------------------------------------


class FreePort(NamedTuple):
    splitter_id: str
    port: int  # 1-based, as in Property.connections


class FeasibleBox(BaseModel):
    """A box a sale may reserve on. ``available`` is its number of free ports when known (None:
    OZmap did not say, which is not "none"); ``free_ports`` the ports named, if any."""

    id: str
    name: str = ""
    lat: float | None = None
    lng: float | None = None
    distance: float | None = None
    available: int | None = None
    free_ports: list[FreePort] = Field(default_factory=list)

    @property
    def may_serve(self) -> bool:
        return self.available is None or self.available > 0


class NotViableBox(BaseModel):
    id: str
    name: str = ""
    distance: float | None = None
    reason: str | None = None


class Feasibility(BaseModel):
    """A feasibility answer as read: ``viable`` is OZmap's word (None when its answer does not
    say), ``boxes`` the candidates in the order to try them, ``not_viable`` the refused boxes;
    ``raw`` the answer exactly as it came."""

    viable: bool | None
    boxes: list[FeasibleBox] = Field(default_factory=list)
    not_viable: list[NotViableBox] = Field(default_factory=list)
    raw: Any = Field(default=None, repr=False)

    @property
    def best(self) -> FeasibleBox | None:
        """The first box worth a reservation attempt, if any."""
        return next((box for box in self.boxes if box.may_serve), None)


def parse_feasibility(payload: Any, lat: float, lng: float) -> Feasibility:
    """Read a feasibility answer of any plausible shape (see :mod:`bot.ozmap.answers`)."""
    read = read_viability(payload, lat, lng)
    return Feasibility(
        viable=read.viable,
        boxes=[
            FeasibleBox(
                id=c.id,
                name=c.name,
                lat=c.lat,
                lng=c.lng,
                distance=c.distance,
                available=c.free,
                free_ports=[FreePort(*port) for port in c.ports],
            )
            for c in read.boxes
        ],
        not_viable=[
            NotViableBox(id=c.id, name=c.name, distance=c.distance, reason=c.reason)
            for c in read.refused
        ],
        raw=payload,
    )


class CondoOption(BaseModel):
    """A condominium that may serve the point. Reserve on ``box_id`` (the building itself, or
    the chosen box inside a horizontal condominium); ``free_ports`` is counted live."""

    kind: Literal["building", "horizontal"]
    id: str
    name: str
    address: str | None = None
    box_id: str
    free_ports: int
    distance: float = 0.0


# --- requests --------------------------------------------------------------------------------


class NewReservation(BaseModel):
    """A port reservation: a property on ``box`` with a not-implanted client (tutorial 002).

    ``auto_connect`` lets OZmap pick the first free port; ``force`` (as in the tutorial) allows
    connectors that accept clients but are not attached to a PON port."""

    model_config = ConfigDict(frozen=True)

    box: str
    lat: float
    lng: float
    address: str
    client_code: str
    client_name: str
    observation: str = ""
    client_observation: str = ""
    auto_connect: bool = True
    force: bool = True

    def to_body(self) -> dict[str, Any]:
        """The ``POST /properties`` body, in the tutorial's shape."""
        return {
            "address": self.address,
            "lat": self.lat,
            "lng": self.lng,
            "observation": self.observation,
            "box": self.box,
            "auto_connect": self.auto_connect,
            "force": self.force,
            "client": {
                "certified": False,
                "implanted": False,
                "status": int(ClientStatus.OK),
                "observation": self.client_observation,
                "code": self.client_code,
                "name": self.client_name,
            },
        }


# --- pure helpers ----------------------------------------------------------------------------


def list_rows(payload: Any) -> tuple[list[Mapping[str, Any]], int | None]:
    """The rows of a list answer and its ``total`` (None when unknown). Accepts the
    ``{total, count, start, limit, rows}`` envelope and a bare array."""
    if isinstance(payload, list):
        return [row for row in payload if isinstance(row, Mapping)], None
    if isinstance(payload, Mapping) and isinstance(payload.get("rows"), list):
        total = payload.get("total")
        rows = [row for row in payload["rows"] if isinstance(row, Mapping)]
        return rows, total if isinstance(total, int) else None
    raise ValueError("list answer has no rows")
