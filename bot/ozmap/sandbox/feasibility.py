"""Feasibility by radius (``GET /ftth-viability/radius``), as a pure function of the network.

A box is **viable** when it lies within ``radius`` metres (geodesic) of the point, is implanted,
is not a draft ("Em projeto"), and holds an implanted client-facing (``isDrop``) splitter with at
least one port that has no fiber (``connectables.output[i] is None``) and is not blocked
(``ports[i].blocked``). Boxes in the radius that fail are listed in ``not_viable_boxes`` with the
first failing reason, checked in this order: ``DRAFT``, ``NOT_IMPLANTED``, ``NO_DROP_SPLITTER``,
``NO_AVAILABLE_PORTS``. Both lists are sorted by distance, nearest first.

The answer follows the shape recommended in ``ozmap-api.md`` §2.3. Buildings and horizontal
condominiums are not considered here (their sales go through ``/buildings`` and ``/splitters``).
"""

from __future__ import annotations

from typing import Any

from bot.ozmap.sandbox.filters import distance_m
from bot.ozmap.sandbox.network import Doc, Network

__all__ = ["DEFAULT_RADIUS_M", "feasibility"]

DEFAULT_RADIUS_M = 250.0


def _box_report(network: Network, box: Doc) -> tuple[str | None, Doc]:
    splitters_out: list[Doc] = []
    capacity = busy = available = 0
    drop_splitters = [
        s for s in network.splitters_in(str(box["_id"])) if s.get("isDrop") and s.get("implanted")
    ]
    for s in drop_splitters:
        output = s["connectables"]["output"]
        ports = [i + 1 for i in range(len(output)) if Network.port_is_free(s, i)]
        capacity += len(output)
        busy += sum(1 for o in output if o is not None)
        available += len(ports)
        splitters_out.append(
            {
                "id": s["_id"],
                "name": s.get("name", ""),
                "ratio": s.get("ratio"),
                "availablePorts": ports,
            }
        )
    report = {
        "capacity": capacity,
        "busyDoors": busy,
        "availableDoors": available,
        "splitters": splitters_out,
    }
    if box.get("draft"):
        return "DRAFT", report
    if not box.get("implanted"):
        return "NOT_IMPLANTED", report
    if not drop_splitters:
        return "NO_DROP_SPLITTER", report
    if available == 0:
        return "NO_AVAILABLE_PORTS", report
    return None, report


def feasibility(
    network: Network, lat: float, lng: float, radius: float = DEFAULT_RADIUS_M
) -> dict[str, Any]:
    """The ``ftth-viability/radius`` answer for a point; ``radius`` in metres."""
    viable: list[Doc] = []
    not_viable: list[Doc] = []
    for box in network.docs("boxes"):
        coords = box.get("coords")
        if not coords:
            continue
        distance = distance_m((lat, lng), (coords[1], coords[0]))
        if distance > radius:
            continue
        reason, report = _box_report(network, box)
        rounded = round(distance, 1)
        if reason is None:
            viable.append(
                {
                    "id": box["_id"],
                    "name": box.get("name", ""),
                    "kind": box.get("kind", "Box"),
                    "coords": list(coords),
                    "lat": coords[1],
                    "lng": coords[0],
                    "distance": rounded,
                    "implanted": bool(box.get("implanted")),
                    "project": box.get("project"),
                    **report,
                }
            )
        else:
            not_viable.append(
                {
                    "id": box["_id"],
                    "name": box.get("name", ""),
                    "distance": rounded,
                    "reason": reason,
                }
            )
    viable.sort(key=lambda b: (b["distance"], b["id"]))
    not_viable.sort(key=lambda b: (b["distance"], b["id"]))
    return {
        "viable": bool(viable),
        "lat": lat,
        "lng": lng,
        "radius": radius,
        "boxes": viable,
        "not_viable_boxes": not_viable,
    }
