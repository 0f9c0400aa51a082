"""Feasibility by radius (``GET /ftth-viability/radius``), as a pure function of the network.

A box is **viable** when it lies within ``radius`` metres (geodesic) of the point, is implanted,
is not a draft ("Em projeto"), and holds an implanted client-facing (``isDrop``) splitter with at
least one port that has no fiber (``connectables.output[i] is None``) and is not blocked
(``ports[i].blocked``). Boxes in the radius that fail are listed in ``not_viable_boxes`` with the
first failing reason, checked in this order: ``DRAFT``, ``NOT_IMPLANTED``, ``NO_DROP_SPLITTER``,
``NO_AVAILABLE_PORTS``. Both lists are sorted by distance, nearest first.

OZmap documents only ``viable`` in this answer (docs/ozmap-api.md section 2.3), so the sandbox
can answer in more than one shape (``ozbot sandbox --feasibility-shape``), and a client must read
them all (:mod:`bot.ozmap.answers`). :data:`SHAPES`:

* ``full`` (the default): ``viable``, the point, ``radius``, ``boxes`` (each with coordinates,
  ``distance``, ``capacity``/``busyDoors``/``availableDoors`` and ``splitters[].availablePorts``)
  and ``not_viable_boxes`` (``reason``), as OZmap's prose suggests;
* ``minimal``: ``viable`` and ``boxes`` of ``{id, name, distance}`` only;
* ``bare``: ``viable`` and nothing else;
* ``mixed``: one ``boxes`` list of every box in the radius, each with its own ``viable`` and,
  when not viable, ``reason``;
* ``nested``: ``viableBoxes``/``notViableBoxes`` of ``{box: {_id, name, coords}, distance,
  freePorts}``;
* ``ids``: ``boxes`` as a list of box ids, nearest first;
* ``wrapped``: in Portuguese under ``data``: ``{data: {viavel, caixas: [{_id, nome,
  distancia, portasLivres}], caixasInviaveis: [{_id, nome, motivo}]}}``.

Buildings and horizontal condominiums are not considered here (their sales go through
``/buildings``, ``/horizontal-condominiums`` and ``/splitters``).
"""

from __future__ import annotations

from typing import Any

from bot.ozmap.sandbox.filters import distance_m
from bot.ozmap.sandbox.network import Doc, Network

__all__ = ["DEFAULT_RADIUS_M", "SHAPES", "feasibility", "shaped"]

DEFAULT_RADIUS_M = 250.0
SHAPES = ("full", "minimal", "bare", "mixed", "nested", "ids", "wrapped")


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
                    # kept for the other shapes, left out of the full one
                    "_coords": list(coords),
                    "_available": report["availableDoors"],
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


def shaped(answer: dict[str, Any], shape: str = "full") -> Any:
    """The :func:`feasibility` answer in one of :data:`SHAPES`."""
    boxes: list[Doc] = answer["boxes"]
    refused: list[Doc] = answer["not_viable_boxes"]
    viable = answer["viable"]
    if shape == "full":
        public = [{k: v for k, v in b.items() if not k.startswith("_")} for b in refused]
        return {**answer, "not_viable_boxes": public}
    if shape == "minimal":
        return {
            "viable": viable,
            "boxes": [{"id": b["id"], "name": b["name"], "distance": b["distance"]} for b in boxes],
        }
    if shape == "bare":
        return {"viable": viable}
    if shape == "mixed":
        every = [
            {"id": b["id"], "name": b["name"], "distance": b["distance"], "coords": b["coords"]}
            | {"viable": True, "availableDoors": b["availableDoors"]}
            for b in boxes
        ] + [
            {"id": b["id"], "name": b["name"], "distance": b["distance"], "coords": b["_coords"]}
            | {"viable": False, "reason": b["reason"], "availableDoors": b["_available"]}
            for b in refused
        ]
        return {"viable": viable, "boxes": sorted(every, key=lambda b: (b["distance"], b["id"]))}
    if shape == "nested":

        def box(b: Doc, coords: list[float]) -> Doc:
            return {"_id": b["id"], "name": b["name"], "coords": coords}

        return {
            "viable": viable,
            "viableBoxes": [
                {"box": box(b, b["coords"]), "distance": b["distance"]}
                | {"freePorts": b["availableDoors"]}
                for b in boxes
            ],
            "notViableBoxes": [
                {"box": box(b, b["_coords"]), "distance": b["distance"], "reason": b["reason"]}
                for b in refused
            ],
        }
    if shape == "ids":
        return {"viable": viable, "boxes": [b["id"] for b in boxes]}
    if shape == "wrapped":
        return {
            "data": {
                "viavel": viable,
                "caixas": [
                    {"_id": b["id"], "nome": b["name"], "distancia": b["distance"]}
                    | {"portasLivres": b["availableDoors"]}
                    for b in boxes
                ],
                "caixasInviaveis": [
                    {"_id": b["id"], "nome": b["name"], "motivo": b["reason"]} for b in refused
                ],
            }
        }
    raise ValueError(f"unknown feasibility shape {shape!r}: use one of {', '.join(SHAPES)}")
