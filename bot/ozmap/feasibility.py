"""Which boxes can serve a point, in the order to try them: by radius or by poles.

**Radius** asks ``GET /ftth-viability/radius`` and trusts its ``viable``: ``false`` is a "no".
When the answer says yes (or says nothing) but lists no box that may serve, the boxes are found
with the documented primitives instead of turning the customer away: implanted boxes ``near``
the point (``GET /boxes``), then their client-facing splitters' free outputs (``GET
/splitters``, ``isDrop``, ``connectables.output[i] is None`` and the port not blocked).

**Poles** is OZmap's default mode for its own tools (docs/ozmap-api.md section 2.2): the
nearest pole within ``pole_radius`` metres, then the boxes reached from it along the poles'
``adjacents``, the drop (point to pole, pole to pole, pole to box) no longer than ``max_drop``.
Its path in the API is not documented, so it is built from the same primitives: poles and boxes
``near`` the point in one round trip (none can be farther than ``max_drop``), the walk here,
then the splitters of the boxes reached.

Both return a :class:`Found`; neither decides condominiums (see :mod:`bot.ozmap.sales`).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.ozmap.client import OzmapClient
from bot.ozmap.models import (
    Box,
    FeasibleBox,
    FreePort,
    NotViableBox,
    Pole,
    Splitter,
    distance_m,
)

__all__ = ["MODES", "BoxFinder", "Found", "PolesFinder", "RadiusFinder", "free_ports_by_parent"]

MODES = ("radius", "poles")


@dataclass(frozen=True)
class Found:
    """``boxes``: those that may serve, in the order to try them; ``viable``: OZmap's own word
    when it gave one; ``source``: where the boxes came from (``answer``: the feasibility answer,
    ``primitives``: boxes and splitters, ``poles``: the poles' walk); ``refused``: the boxes the
    answer listed as not viable."""

    boxes: tuple[FeasibleBox, ...]
    viable: bool | None
    source: Literal["answer", "primitives", "poles"]
    refused: tuple[NotViableBox, ...] = ()  # what the answer listed as not viable


class BoxFinder(Protocol):
    async def find(self, lat: float, lng: float) -> Found: ...


def free_ports_by_parent(splitters: Sequence[Splitter]) -> dict[str, list[FreePort]]:
    """Free ports of client-facing splitters, grouped by the box or building they sit in."""
    free: dict[str, list[FreePort]] = {}
    for splitter in splitters:
        if splitter.parent:
            ports = [FreePort(splitter.id, port) for port in splitter.free_ports()]
            free.setdefault(splitter.parent, []).extend(ports)
    return free


def _sellable(box: Box) -> bool:
    return box.implanted and not box.draft and box.lat is not None and box.lng is not None


async def _with_free_ports(
    ozmap: OzmapClient, boxes: Sequence[tuple[float, Box]]
) -> tuple[FeasibleBox, ...]:
    """The boxes (each with the distance it is tried by) that have a free port, nearest first."""
    free = free_ports_by_parent(await ozmap.drop_splitters([box.id for _, box in boxes]))
    found = [
        FeasibleBox(
            id=box.id,
            name=box.name,
            lat=box.lat,
            lng=box.lng,
            distance=round(distance, 1),
            available=len(free.get(box.id, [])),
            free_ports=free.get(box.id, []),
        )
        for distance, box in boxes
        if free.get(box.id)
    ]
    return tuple(sorted(found, key=lambda b: (b.distance or 0.0, b.id)))


class RadiusFinder:
    """Feasibility by radius (``radius`` metres; None: OZmap's configured default)."""

    def __init__(self, ozmap: OzmapClient, radius: float | None = None) -> None:
        self.ozmap = ozmap
        self.radius = radius

    async def find(self, lat: float, lng: float) -> Found:
        answer = await self.ozmap.feasibility(lat, lng, self.radius)
        refused = tuple(answer.not_viable)
        if answer.viable is False:
            return Found((), False, "answer", refused)  # OZmap said no: that is the answer
        listed = tuple(box for box in answer.boxes if box.may_serve)
        if listed:
            return Found(listed, answer.viable, "answer", refused)
        return Found(await self.primitives(lat, lng), answer.viable, "primitives", refused)

    async def primitives(self, lat: float, lng: float) -> tuple[FeasibleBox, ...]:
        """The boxes near the point with a free port, from boxes and splitters alone."""
        radius = self.radius if self.radius is not None else 250.0
        boxes = [
            (distance_m(lat, lng, box.lat, box.lng), box)
            for box in await self.ozmap.boxes_near(lat, lng, radius)
            if _sellable(box) and box.lat is not None and box.lng is not None
        ]
        return await _with_free_ports(self.ozmap, [(d, b) for d, b in boxes if d <= radius])


def walk(poles: Sequence[Pole], start: Pole, budget: float) -> dict[str, float]:
    """Metres along the poles' ``adjacents`` from ``start`` to each pole reached within
    ``budget`` (adjacency is taken both ways: a pole may list its neighbour and not back)."""
    by_id = {pole.id: pole for pole in poles if pole.lat is not None and pole.lng is not None}
    edges: dict[str, set[str]] = {pid: set() for pid in by_id}
    for pole in by_id.values():
        for other in pole.adjacents:
            if other in by_id and other != pole.id:
                edges[pole.id].add(other)
                edges[other].add(pole.id)
    best = {start.id: 0.0}
    queue = [(0.0, start.id)]
    while queue:
        metres, pid = heapq.heappop(queue)
        if metres > best.get(pid, float("inf")):
            continue
        here = by_id[pid]
        for other_id in sorted(edges.get(pid, ())):
            there = by_id[other_id]
            assert here.lat is not None and here.lng is not None
            assert there.lat is not None and there.lng is not None
            step = metres + distance_m(here.lat, here.lng, there.lat, there.lng)
            if step <= budget and step < best.get(other_id, float("inf")):
                best[other_id] = step
                heapq.heappush(queue, (step, other_id))
    return best


class PolesFinder:
    """Feasibility by poles: the nearest pole within ``pole_radius`` metres, boxes reached from
    it with a drop of at most ``max_drop`` metres."""

    def __init__(
        self, ozmap: OzmapClient, *, pole_radius: float = 100.0, max_drop: float = 250.0
    ) -> None:
        self.ozmap = ozmap
        self.pole_radius = pole_radius
        self.max_drop = max_drop

    async def find(self, lat: float, lng: float) -> Found:
        poles, boxes = await asyncio.gather(
            self.ozmap.poles_near(lat, lng, self.max_drop),
            self.ozmap.boxes_near(lat, lng, self.max_drop),
        )
        located = [p for p in poles if p.lat is not None and p.lng is not None]
        distances = {
            p.id: distance_m(lat, lng, p.lat, p.lng)
            for p in located
            if p.lat is not None and p.lng is not None
        }
        nearest = min(located, key=lambda p: (distances[p.id], p.id), default=None)
        if nearest is None or distances[nearest.id] > self.pole_radius:
            return Found((), None, "poles")
        to_pole = distances[nearest.id]
        along = walk(located, nearest, self.max_drop - to_pole)
        pole_at = {p.id: p for p in located}
        reached: list[tuple[float, Box]] = []
        for box in boxes:
            pole = pole_at.get(box.pole or "")
            if not _sellable(box) or pole is None or pole.id not in along:
                continue
            assert box.lat is not None and box.lng is not None
            assert pole.lat is not None and pole.lng is not None
            drop = to_pole + along[pole.id] + distance_m(pole.lat, pole.lng, box.lat, box.lng)
            if drop <= self.max_drop:
                reached.append((drop, box))
        if not reached:
            return Found((), None, "poles")
        return Found(await _with_free_ports(self.ozmap, reached), None, "poles")
