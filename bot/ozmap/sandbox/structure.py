"""Inside a box or building: ``GET /base-boxes/{id}/topology`` and ``/design``, as the SDK's
``box.getStructure`` / ``building.getStructure`` read them (``BoxStructure/Topology.ts``,
``BoxDesign.ts``). Pure functions of the network.

The topology maps each element by id: ``splitters`` (with ``connectables``, ``ports`` and the
SDK's required fields), ``drops`` (one per property wired to a splitter here: its fibre and
``propertyData`` with the client), and the element kinds the sandbox does not model (cables,
connectors, fusions, passings, dios, switches, cords) as empty maps. ``checksum`` changes when
anything in it does. The design places each splitter and drop on a grid (OZmap's editor would
have its own positions).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.ozmap.sandbox.network import Doc, Network

__all__ = ["design", "topology"]

_EMPTY = ("cables", "connectors", "fusions", "passings", "dios", "switches", "cords")


def _splitter(doc: Doc) -> Doc:
    attenuation = doc.get("attenuation") or [0.0]
    return {
        "id": doc["_id"],
        "name": doc.get("name", ""),
        "isDrop": bool(doc.get("isDrop")),
        "implanted": bool(doc.get("implanted")),
        "observation": doc.get("observation", ""),
        "connectables": {
            "input": list(doc["connectables"].get("input") or []),
            "output": list(doc["connectables"]["output"]),
        },
        "ports": [
            {
                "id": str(port.get("_id") or port.get("id") or ""),
                "index": int(port.get("index", i)),
                "blocked": bool(port.get("blocked")),
                "tags": list(port.get("tags") or []),
                "observation": port.get("observation") or "",
            }
            for i, port in enumerate(doc.get("ports") or [])
        ],
        "isBalanced": bool(doc.get("isBalanced", True)),
        "orientation": doc.get("orientation", "right"),
        "mostAttenuatedPort": attenuation.index(max(attenuation)),
        "inputConnectionType": 0,
        "outputConnectionType": 1,
        "code": doc.get("label") or doc.get("name", ""),
    }


def _drop(network: Network, prop: Doc, fibre: str) -> Doc:
    client = network.get("ftth-clients", str(prop.get("client"))) if prop.get("client") else None
    coords = prop.get("coords")
    data: Doc = {
        "id": prop["_id"],
        "address": prop.get("address"),
        "observation": prop.get("observation") or "",
        "client": None
        if client is None
        else {
            "_id": client["_id"],
            "certified": bool(client.get("certified")),
            "implanted": bool(client.get("implanted")),
            "status": int(client.get("status", 0)),
            "observation": client.get("observation", ""),
            "kind": client.get("kind", "ftth"),
            "code": client.get("code", ""),
            "name": client.get("name"),
        },
    }
    if coords:
        data |= {"coords": list(coords), "lng": coords[0], "lat": coords[1]}
    return {
        "id": prop.get("drop") or prop["_id"],
        "name": f"Drop {(client or {}).get('code', prop['_id'])}",
        "looseNumber": 1,
        "orientation": "left",
        "observation": "",
        "implanted": bool(client and client.get("implanted")),
        "fibersColourMap": ["#00FF00"],
        "groupsColourMap": ["#FFFFFF"],
        "defaultFiberColor": "#00FF00",
        "defaultTubeColor": "#FFFFFF",
        "fibers": [fibre],
        "project": prop.get("project", ""),
        "propertyData": data,
    }


def topology(network: Network, box: Doc) -> Doc:
    """The box's (or building's) inside: its splitters and the drops to its properties."""
    splitters = network.splitters_in(str(box["_id"]))
    ids = {s["_id"] for s in splitters}
    drops: dict[str, Doc] = {}
    for prop in network.docs("properties"):
        for conn in prop.get("connections") or []:
            if conn.get("id") in ids and conn.get("fiber"):
                drop = _drop(network, prop, str(conn["fiber"]))
                drops[drop["id"]] = drop
    out: Doc = {
        "id": box["_id"],
        "box": box["_id"],
        "project": box.get("project", ""),
        "splitters": {s["_id"]: _splitter(s) for s in splitters},
        "drops": drops,
        **{kind: {} for kind in _EMPTY},
    }
    out["checksum"] = hashlib.sha1(  # noqa: S324 - a change marker, not security
        json.dumps(out, sort_keys=True).encode()
    ).hexdigest()
    return out


def design(network: Network, box: Doc) -> Doc:
    """Where the editor draws the box's elements: splitters in a column, drops beside them."""
    inside = topology(network, box)
    positions: dict[str, Any] = {kind: {} for kind in ("cables", "connectors", "dios", "fusions")}
    positions |= {"switches": {}, "fibers": {}, "cords": {}, "passings": {}}
    positions["splitters"] = {
        sid: {"x": 200, "y": 80 * i} for i, sid in enumerate(inside["splitters"])
    }
    positions["drops"] = {did: {"x": 420, "y": 40 * i} for i, did in enumerate(inside["drops"])}
    positions["postits"] = []
    positions["children"] = []
    return {
        "id": None,
        "box": box["_id"],
        "project": box.get("project", ""),
        "isTemplate": False,
        "template": None,
        "positions": positions,
    }
