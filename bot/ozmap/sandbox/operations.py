"""The sandbox's write operations on a :class:`Network`, free of HTTP.

Each function validates everything first and only then mutates, so a rejected request leaves the
network untouched. They raise :class:`ApiError` (status, machine code, message naming the fix);
the app turns it into OZmap's JSON error body. Callers serialise them (one ``asyncio.Lock``).

Reservation semantics (``POST /properties``, from OZmap's tutorial 002):

* ``box`` may be a box **or a building** id; a property in a building gets ``parent`` = the
  building and no coordinates (``coords``/``lat``/``lng`` null), as OZmap shows them.
* Anywhere else the customer's location is required (``coords`` ``[lng, lat]``, or top-level
  ``lat``/``lng`` as in the tutorial): 422 without it, never the box's coordinates instead.
* ``auto_connect: true`` connects the property to the first free port (lowest splitter index,
  then lowest port) of an implanted client-facing (``isDrop``) splitter of that box. A port is
  free when its output has no fiber and it is not blocked.
* Without ``force`` the splitter must also be attached to a PON (modelled as
  ``connectables.input[0]`` non-null); ``force: true`` accepts any client-facing splitter, even
  one not attached. No suitable port: 422 ``NO_FREE_PORT``.
* ``connector`` + ``port`` (1-based) connect to that exact port instead (422 ``PORT_UNAVAILABLE``
  if it is taken or blocked).
* An embedded ``client`` object creates the FTTH client; its ``code`` must be unique (409
  ``DUPLICATE_CODE``). ``client`` may also be the id of an existing client without a property.
"""

from __future__ import annotations

from typing import Any

from bot.ozmap.sandbox.filters import FilterError, matches, parse_filter
from bot.ozmap.sandbox.network import Doc, Network, new_id, now_iso

__all__ = [
    "ApiError",
    "batch_update_clients",
    "batch_update_properties",
    "coords_of",
    "create_property",
    "delete_client",
    "delete_property",
    "invalid",
    "property_created_view",
    "refuse_unknown",
    "update_client",
    "update_property",
]

CLIENT_FIELDS = frozenset(
    {
        "implanted",
        "status",
        "onu",
        "name",
        "observation",
        "code",
        "certified",
        "tags",
        "external_id",
    }
)
BATCH_FIELDS = frozenset({"implanted", "status", "certified"})
PROPERTY_FIELDS = frozenset(
    {"address", "observation", "tags", "potencyRead", "name", "external_id", "coords", "lat", "lng"}
)
PROPERTY_BATCH_FIELDS = frozenset({"potencyRead"})
ONU_FIELDS = ("user_PPPoE", "serial_number", "mac_address")


class ApiError(Exception):
    """An error answer: HTTP ``status``, a machine ``error`` code and a human ``message``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "error": self.error, "status": self.status}


def invalid(message: str) -> ApiError:
    return ApiError(422, "INVALID_FIELD", message)


def coords_of(body: dict[str, Any]) -> list[float] | None:
    """``[lng, lat]`` from ``coords`` or top-level ``lat``/``lng``; None when neither is sent."""
    raw = body.get("coords")
    if raw is not None:
        if not (isinstance(raw, list) and len(raw) == 2):
            raise invalid("coords must be [lng, lat], e.g. [-48.5274, -27.5782]")
        lng, lat = raw
    elif body.get("lat") is not None or body.get("lng") is not None:
        lat, lng = body.get("lat"), body.get("lng")
    else:
        return None
    try:
        lat_f, lng_f = float(lat), float(lng)
    except (TypeError, ValueError):
        raise invalid("lat and lng must both be numbers in degrees") from None
    if not (-90 <= lat_f <= 90 and -180 <= lng_f <= 180):
        raise invalid("lat must be within -90..90 and lng within -180..180 (coords are [lng, lat])")
    return [lng_f, lat_f]


def _check_bool(body: dict[str, Any], key: str) -> None:
    if key in body and not isinstance(body[key], bool):
        raise invalid(f"{key} must be true or false")


def _check_client_values(body: dict[str, Any]) -> None:
    for key in ("implanted", "certified"):
        _check_bool(body, key)
    if ("status" in body and body["status"] not in (0, 1)) or isinstance(body.get("status"), bool):
        raise invalid("status must be 0 (OK) or 1 (ERROR)")
    for key in ("name", "observation", "code"):
        if key in body and not isinstance(body[key], str):
            raise invalid(f"{key} must be a string")
    if "code" in body and not body["code"].strip():
        raise invalid("code must not be empty")
    if "tags" in body and not (
        isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])
    ):
        raise invalid("tags must be an array of tag ids")
    onu = body.get("onu")
    if onu is not None and not (
        isinstance(onu, dict)
        and set(onu) <= set(ONU_FIELDS)
        and all(isinstance(v, str) for v in onu.values())
    ):
        raise invalid(f"onu must be an object with string fields among {', '.join(ONU_FIELDS)}")


def _check_unique_code(network: Network, code: str, except_id: str | None = None) -> None:
    other = network.client_by_code(code)
    if other is not None and other["_id"] != except_id:
        raise ApiError(
            409,
            "DUPLICATE_CODE",
            f"a client with code {code!r} already exists: client codes are unique, choose another",
        )


def _pick_port(network: Network, container: Doc, *, force: bool) -> tuple[Doc, int]:
    """The first free port (0-based index) on a suitable splitter of the box/building."""
    unattached_free = False
    for splitter in network.splitters_in(str(container["_id"])):
        if not (splitter.get("isDrop") and splitter.get("implanted")):
            continue
        free = [
            i
            for i in range(len(splitter["connectables"]["output"]))
            if Network.port_is_free(splitter, i)
        ]
        if not free:
            continue
        if force or Network.attached_to_pon(splitter):
            return splitter, free[0]
        unattached_free = True
    name = container.get("name", container["_id"])
    if unattached_free:
        raise ApiError(
            422,
            "NO_FREE_PORT",
            f"{name}: the only free ports are on splitters not attached to a PON; send "
            '"force": true to reserve one anyway',
        )
    raise ApiError(
        422,
        "NO_FREE_PORT",
        f"{name} has no free client port: check feasibility again and choose another box",
    )


def _explicit_port(network: Network, body: dict[str, Any], container: Doc) -> tuple[Doc, int]:
    splitter = network.get("splitters", str(body.get("connector")))
    if splitter is None or splitter.get("parent") != container["_id"]:
        raise ApiError(
            404, "NOT_FOUND", "connector must be the id of a splitter inside the given box"
        )
    port = body.get("port")
    size = len(splitter["connectables"]["output"])
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= size:
        raise invalid(f"port must be a number from 1 to {size}")
    if not Network.port_is_free(splitter, port - 1):
        raise ApiError(
            422, "PORT_UNAVAILABLE", f"port {port} is taken or blocked: choose a free port"
        )
    return splitter, port - 1


def create_property(network: Network, body: dict[str, Any]) -> Doc:
    """Create a property (and its embedded client); return the stored property document."""
    box_id = body.get("box")
    container: Doc | None = None
    if box_id is not None:
        container = network.get("boxes", str(box_id)) or network.get("buildings", str(box_id))
        if container is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"box {box_id} not found: use the id of a box or building "
                "(GET /boxes, GET /buildings or the feasibility answer)",
            )
    in_building = container is not None and container.get("kind") == "Building"
    coords = coords_of(body)
    if coords is None and not in_building:
        # the sandbox does not invent a location (at the box, say): where is the customer?
        raise invalid(
            "send the customer's location: coords as [lng, lat] (OZmap's SDK keeps only "
            "coords), or lat and lng as in OZmap's tutorial; only a property inside a building "
            "goes without"
        )
    project = body.get("project") or (container or {}).get("project")
    if project is None:
        raise invalid("project is required when no box is given")
    for key in ("auto_connect", "force"):
        _check_bool(body, key)

    client_body = body.get("client")
    existing_client: Doc | None = None
    if isinstance(client_body, dict):
        _check_client_values(client_body)
        if not isinstance(client_body.get("code"), str):
            raise invalid("client.code is required: the ISP's code for this customer")
        _check_unique_code(network, client_body["code"])
    elif isinstance(client_body, str):
        existing_client = network.get("ftth-clients", client_body)
        if existing_client is None:
            raise ApiError(404, "NOT_FOUND", f"client {client_body} not found")
        if network.properties_of_client(client_body):
            raise ApiError(409, "CLIENT_HAS_PROPERTY", "this client already has a property")
    elif client_body is not None:
        raise invalid("client must be an object (to create one) or an existing client id")

    port: tuple[Doc, int] | None = None
    if container is not None and body.get("connector") is not None:
        port = _explicit_port(network, body, container)
    elif container is not None and body.get("auto_connect"):
        port = _pick_port(network, container, force=bool(body.get("force")))

    # --- every check passed: mutate ---
    now = now_iso()
    creator = network.creator()
    client: Doc | None = existing_client
    if isinstance(client_body, dict):
        onu = {k: "" for k in ONU_FIELDS} | dict(client_body.get("onu") or {})
        client = {
            "_id": new_id(),
            "certified": client_body.get("certified", False),
            "status": client_body.get("status", 0),
            "observation": client_body.get("observation", ""),
            "tags": list(client_body.get("tags", [])),
            "implanted": client_body.get("implanted", False),
            "onu": onu,
            "kind": "ftth",
            "code": client_body["code"],
            "name": client_body.get("name", ""),
            "creatorData": creator,
            "createdAt": now,
            "updatedAt": now,
            "__v": 0,
        }
        network.collections["ftth-clients"][client["_id"]] = client
    prop_id = new_id()
    connections: list[Doc] = []
    drop: str | None = None
    if port is not None:
        splitter, index = port
        drop, fiber = new_id(), new_id()
        splitter["connectables"]["output"][index] = fiber
        connections.append(
            {
                "id": splitter["_id"],
                "kind": "Splitter",
                "port": index + 1,
                "name": splitter.get("name", ""),
                "implanted": True,
                "fiber": fiber,
            }
        )
    prop: Doc = {
        "_id": prop_id,
        "observation": body.get("observation", ""),
        "drop": drop,
        "tags": list(body.get("tags") or []),
        "cables": [],
        "kind": "Property",
        "coords": None if in_building else coords,
        "address": body.get("address", ""),
        "box": container["_id"] if container else None,
        "pole": (container or {}).get("pole"),
        "client": client["_id"] if client else None,
        "project": project,
        "creatorData": creator,
        "history": {
            "clients": [
                {"id": client["_id"], "code": client["code"], "enter_date": now, "exit_date": None}
            ]
            if client
            else []
        },
        "createdAt": now,
        "updatedAt": now,
        "__v": 0,
        "connections": connections,
    }
    if in_building and container is not None:
        prop["parent"] = container["_id"]
    network.collections["properties"][prop_id] = prop
    return prop


def property_created_view(prop: Doc) -> Doc:
    """The ``POST /properties`` answer: like OZmap's, ``client`` as an id, ``id`` instead of
    ``_id``, flattened ``lat``/``lng``, no ``connections``."""
    out = {k: v for k, v in prop.items() if k not in {"_id", "__v", "connections"}}
    coords = prop.get("coords")
    out["id"] = prop["_id"]
    out["lng"], out["lat"] = (coords[0], coords[1]) if coords else (None, None)
    out["disconnect_property"] = False
    return out


def delete_property(network: Network, prop_id: str) -> None:
    """Delete a property, free its port and remove its client (tutorial 004)."""
    prop = network.get("properties", prop_id)
    if prop is None:
        raise ApiError(404, "NOT_FOUND", f"property {prop_id} not found")
    network.free_port(prop)
    client_id = prop.get("client")
    if isinstance(client_id, str):
        network.collections["ftth-clients"].pop(client_id, None)
    del network.collections["properties"][prop_id]


def refuse_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise invalid(
            f"cannot update {', '.join(extra)}: allowed fields are {', '.join(sorted(allowed))}"
        )


def update_client(network: Network, client_id: str, body: dict[str, Any]) -> None:
    """``PATCH /ftth-clients/{id}``: partial update; ``onu`` is merged field by field."""
    client = network.get("ftth-clients", client_id)
    if client is None:
        raise ApiError(404, "NOT_FOUND", f"client {client_id} not found")
    refuse_unknown(body, CLIENT_FIELDS)
    _check_client_values(body)
    if "code" in body:
        _check_unique_code(network, body["code"], except_id=client_id)
    for key, value in body.items():
        if key == "onu":
            client["onu"] = {**client.get("onu", {}), **value}
        else:
            client[key] = value
    client["updatedAt"] = now_iso()


def batch_update_clients(network: Network, body: dict[str, Any], polygons: Any) -> int:
    """``POST /ftth-clients/batch-update`` ``{filter, update}``; returns how many changed."""
    try:
        flt = parse_filter(body.get("filter"))
    except FilterError as exc:
        raise ApiError(400, "INVALID_FILTER", str(exc)) from None
    if not flt:
        raise invalid("filter is required: batch updates never apply to every client")
    update = body.get("update")
    if not isinstance(update, dict) or not update:
        raise invalid("update must be an object with implanted, status and/or certified")
    refuse_unknown(update, BATCH_FIELDS)
    _check_client_values(update)
    targets = [
        c
        for c in network.docs("ftth-clients")
        if matches(network.view("ftth-clients", c), flt, polygons)
    ]
    now = now_iso()
    for client in targets:
        client.update(update)
        client["updatedAt"] = now
    return len(targets)


def update_property(network: Network, prop_id: str, body: dict[str, Any]) -> None:
    prop = network.get("properties", prop_id)
    if prop is None:
        raise ApiError(404, "NOT_FOUND", f"property {prop_id} not found")
    refuse_unknown(body, PROPERTY_FIELDS)
    coords = coords_of(body)
    for key in ("address", "observation", "name"):
        if key in body and not isinstance(body[key], str):
            raise invalid(f"{key} must be a string")
    power = body.get("potencyRead")
    if power is not None and (isinstance(power, bool) or not isinstance(power, int | float)):
        raise invalid("potencyRead must be a number (dBm) or null")
    for key, value in body.items():
        if key not in {"coords", "lat", "lng"}:
            prop[key] = value
    if coords is not None and "parent" not in prop:
        prop["coords"] = coords
    prop["updatedAt"] = now_iso()


def delete_client(network: Network, client_id: str) -> None:
    """``DELETE /ftth-clients/{id}``: the client goes; its property stays (the premises, still
    wired to its port), without a client, its history closed."""
    client = network.get("ftth-clients", client_id)
    if client is None:
        raise ApiError(404, "NOT_FOUND", f"client {client_id} not found")
    now = now_iso()
    for prop in network.properties_of_client(client_id):
        prop["client"] = None
        for entry in prop.get("history", {}).get("clients", []):
            if entry.get("id") == client_id and entry.get("exit_date") is None:
                entry["exit_date"] = now
        prop["updatedAt"] = now
    del network.collections["ftth-clients"][client_id]


def batch_update_properties(network: Network, body: dict[str, Any], polygons: Any) -> int:
    """``POST /properties/batch-update`` ``{filter, update: {potencyRead}}`` (the SDK's
    ``property.batchUpdate``); returns how many changed."""
    try:
        flt = parse_filter(body.get("filter"))
    except FilterError as exc:
        raise ApiError(400, "INVALID_FILTER", str(exc)) from None
    if not flt:
        raise invalid("filter is required: batch updates never apply to every property")
    update = body.get("update")
    if not isinstance(update, dict) or not update:
        raise invalid("update must be an object with potencyRead")
    refuse_unknown(update, PROPERTY_BATCH_FIELDS)
    power = update["potencyRead"]
    if power is not None and (isinstance(power, bool) or not isinstance(power, int | float)):
        raise invalid("potencyRead must be a number (dBm) or null")
    targets = [
        p
        for p in network.docs("properties")
        if matches(network.view("properties", p), flt, polygons)
    ]
    now = now_iso()
    for prop in targets:
        prop["potencyRead"] = power
        prop["updatedAt"] = now
    return len(targets)
