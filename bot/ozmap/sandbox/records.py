"""The sandbox's prospects and pendencies: what a chatbot, CRM or ERP records in OZmap besides
reservations (``/prospects`` and ``/pendencies``, as the official SDK's ``Prospect`` and
``Pendency`` proxies call them), free of HTTP.

Like :mod:`bot.ozmap.sandbox.operations`, every function checks everything before changing
anything and raises :class:`~bot.ozmap.sandbox.operations.ApiError`.

* A prospect takes ``name, phone, code, address, observation, viable, coords`` (or ``lat`` and
  ``lng``), ``tags`` and ``external_id``; every field may be changed by ``PATCH``.
* A pendency needs ``owner`` (a user), ``project``, ``pendencyType`` and ``coords``, as the
  SDK's ``CreatePendencyDTO`` does; ``solved`` starts false. ``convertedTo`` is OZmap's own.
"""

from __future__ import annotations

from typing import Any

from bot.ozmap.sandbox.network import Doc, Network, new_id, now_iso
from bot.ozmap.sandbox.operations import ApiError, coords_of, invalid, refuse_unknown

__all__ = [
    "create_pendency",
    "create_prospect",
    "delete_pendency",
    "delete_prospect",
    "update_pendency",
    "update_prospect",
]

PROSPECT_FIELDS = frozenset(
    {
        "name",
        "phone",
        "code",
        "address",
        "observation",
        "viable",
        "coords",
        "lat",
        "lng",
        "tags",
        "external_id",
    }
)
PENDENCY_FIELDS = frozenset(
    {
        "owner",
        "project",
        "pendencyType",
        "color",
        "tags",
        "responsibles",
        "solved",
        "name",
        "description",
        "coords",
        "external_id",
    }
)


def _texts(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise invalid(f"{key} must be a string or null")


def _ids(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        value = body.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise invalid(f"{key} must be an array of ids")


def _prospect_values(body: dict[str, Any]) -> None:
    refuse_unknown(body, PROSPECT_FIELDS)
    _texts(body, "name", "phone", "code", "address", "observation")
    _ids(body, "tags")
    if body.get("viable") is not None and not isinstance(body["viable"], bool):
        raise invalid("viable must be true, false or null")


def create_prospect(network: Network, body: dict[str, Any]) -> Doc:
    """``POST /prospects``: a lead where there was no feasibility."""
    _prospect_values(body)
    coords = coords_of(body)
    now = now_iso()
    doc: Doc = {
        "_id": new_id(),
        "tags": list(body.get("tags") or []),
        "name": body.get("name"),
        "phone": body.get("phone"),
        "code": body.get("code"),
        "address": body.get("address"),
        "observation": body.get("observation"),
        "viable": body.get("viable"),
        "coords": coords,
        "creatorData": network.creator(),
        "createdAt": now,
        "updatedAt": now,
        "__v": 0,
    }
    if "external_id" in body:
        doc["external_id"] = body["external_id"]
    network.collections["prospects"][doc["_id"]] = doc
    return doc


def _existing(network: Network, collection: str, doc_id: str, what: str) -> Doc:
    doc = network.get(collection, doc_id)
    if doc is None:
        raise ApiError(404, "NOT_FOUND", f"{what} {doc_id} not found")
    return doc


def update_prospect(network: Network, prospect_id: str, body: dict[str, Any]) -> None:
    """``PATCH /prospects/{id}``: any of the create fields."""
    doc = _existing(network, "prospects", prospect_id, "prospect")
    _prospect_values(body)
    coords = coords_of(body)
    for key, value in body.items():
        if key not in ("coords", "lat", "lng"):
            doc[key] = list(value or []) if key == "tags" else value
    if coords is not None:
        doc["coords"] = coords
    doc["updatedAt"] = now_iso()


def delete_prospect(network: Network, prospect_id: str) -> None:
    _existing(network, "prospects", prospect_id, "prospect")
    del network.collections["prospects"][prospect_id]


def _pendency_values(network: Network, body: dict[str, Any]) -> None:
    refuse_unknown(body, PENDENCY_FIELDS)
    _texts(body, "name", "description", "color")
    _ids(body, "tags", "responsibles")
    if "solved" in body and not isinstance(body["solved"], bool | None):
        raise invalid("solved must be true or false")
    if "owner" in body and body["owner"] not in {u["_id"] for u in network.users}:
        raise invalid("owner must be the id of a user (the sandbox's is in GET /authenticated)")
    if "project" in body and network.get("projects", str(body["project"])) is None:
        raise invalid("project must be the id of a project (GET /projects)")
    if "pendencyType" in body and network.get("pendency-types", str(body["pendencyType"])) is None:
        raise invalid("pendencyType must be the id of a pendency type (GET /pendency-types)")


def create_pendency(network: Network, body: dict[str, Any]) -> Doc:
    """``POST /pendencies``: owner, project, pendencyType and coords are required."""
    _pendency_values(network, body)
    missing = [k for k in ("owner", "project", "pendencyType") if not body.get(k)]
    coords = coords_of(body)
    if coords is None:
        missing.append("coords")
    if missing:
        raise invalid(f"a pendency needs {', '.join(missing)} (coords as [lng, lat])")
    now = now_iso()
    doc: Doc = {
        "_id": new_id(),
        "owner": body["owner"],
        "project": body["project"],
        "pendencyType": body["pendencyType"],
        "color": body.get("color"),
        "tags": list(body.get("tags") or []),
        "responsibles": list(body.get("responsibles") or []),
        "solved": bool(body.get("solved") or False),
        "name": body.get("name"),
        "description": body.get("description"),
        "coords": coords,
        "convertedTo": None,
        "creatorData": network.creator(),
        "createdAt": now,
        "updatedAt": now,
        "__v": 0,
    }
    if "external_id" in body:
        doc["external_id"] = body["external_id"]
    network.collections["pendencies"][doc["_id"]] = doc
    return doc


def update_pendency(network: Network, pendency_id: str, body: dict[str, Any]) -> None:
    doc = _existing(network, "pendencies", pendency_id, "pendency")
    _pendency_values(network, body)
    coords = coords_of(body)
    for key, value in body.items():
        if key not in ("coords", "lat", "lng"):
            doc[key] = value
    if coords is not None:
        doc["coords"] = coords
    doc["updatedAt"] = now_iso()


def delete_pendency(network: Network, pendency_id: str) -> None:
    _existing(network, "pendencies", pendency_id, "pendency")
    del network.collections["pendencies"][pendency_id]
