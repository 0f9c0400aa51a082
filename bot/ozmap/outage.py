"""Is a customer under a known mass outage? Read from OZmap's tags.

Providers tag what an outage affects (a client, a property, a box, one splitter port, or a
region drawn around it) with tags such as MASSIVA, ROMPIMENTO, MANUTENCAO. :class:`OutageReader`
finds a client's property by its code and looks for the configured tags on all of those
(:meth:`~OutageReader.status`), or, for a customer who knows no code, looks at a point: the
regions around it and the implanted boxes that can serve it (:meth:`~OutageReader.area`; see
docs/ozmap-api.md section 6).

Tag names are matched without case or accents and turned into ids once, then reused for ``ttl``
seconds (a list of every tag is one request, not one per turn). Nothing personal leaves this
module: the :class:`OutageStatus` holds no name or address.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.errors import OzmapError, OzmapNotFound
from bot.ozmap.answers import distance_m
from bot.ozmap.client import OzmapClient
from bot.ozmap.models import Box, ClientStatus, Property, Splitter, Tag
from bot.ozmap.sales import BUILDING_AT_POINT_M
from bot.validation import fold

__all__ = ["AreaStatus", "OutageReader", "OutageStatus", "tag_ids"]

_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def tag_ids(tags: Iterable[str | Tag]) -> set[str]:
    """The ids of a ``tags`` field, whether OZmap sent ids or populated tags."""
    return {tag.id if isinstance(tag, Tag) else tag for tag in tags}


@dataclass(frozen=True)
class OutageStatus:
    """What OZmap says about one client code: ``outage_on`` names the elements carrying an
    outage tag (``client``, ``property``, ``box``, ``splitter_port``, ``region``); ``error`` is
    the client's red status; ``implanted`` whether it is installed (not a reservation)."""

    outage_on: tuple[str, ...]
    error: bool
    implanted: bool

    @property
    def outage(self) -> bool:
        return bool(self.outage_on)


@dataclass(frozen=True)
class AreaStatus:
    """What OZmap says about a point, without a client: ``outage_on`` names what carries an
    outage tag there (``region``: a region around the point; ``condominium``: the horizontal
    condominium it is in; ``building``: the building standing at it; ``box``: the nearest box
    that can serve it, the one a drop from there is most likely plugged into);
    ``tagged_nearby`` counts the other boxes in reach that carry one (they may be the
    customer's); ``boxes`` how many implanted boxes can serve the point at all (0: the
    provider's network is not there)."""

    outage_on: tuple[str, ...]
    tagged_nearby: int
    boxes: int

    @property
    def outage(self) -> bool:
        return bool(self.outage_on)


class OutageReader:
    """Reads outage status through ``ozmap``. ``names`` are the configured outage tags (names,
    or 24-hex ids taken as they are). Raises what the client raises (OzmapUnavailable...)."""

    def __init__(
        self,
        ozmap: OzmapClient,
        names: Sequence[str],
        *,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ozmap = ozmap
        self._ids = frozenset(n for n in names if _OBJECT_ID.fullmatch(n))
        self._names = frozenset(fold(n) for n in names if n not in self._ids)
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[frozenset[str], float] | None = None
        self._lock = asyncio.Lock()

    async def outage_tag_ids(self) -> frozenset[str]:
        """The configured tags' ids; the tag list is read at most once per ``ttl``. When OZmap
        fails and an older answer exists, the older answer is used."""
        if not self._names:
            return self._ids
        async with self._lock:  # concurrent turns wait for one read instead of each making one
            now = self._clock()
            if self._cached is not None and now - self._cached[1] < self._ttl:
                return self._cached[0]
            try:
                tags = await self._ozmap.tags()
            except OzmapError:
                if self._cached is None:
                    raise
                return self._cached[0]
            found = self._ids | {t.id for t in tags if fold(t.name) in self._names}
            self._cached = (frozenset(found), now)
            return self._cached[0]

    async def status(
        self, code: str, *, property_id: str | None = None, address: str | None = None
    ) -> OutageStatus | None:
        """The outage status of the client with ``code``; None when OZmap has no such code.

        ``property_id`` (or, without it, the ``address`` the reservation was made with) names
        the property a reservation of this contact's made: a code handed out twice also names
        another client's, whose state is not this customer's to be told (None then)."""
        properties = await self._ozmap.properties_by_client_code(code)
        if property_id:
            properties = [p for p in properties if p.id == property_id]
        elif address is not None:
            properties = [p for p in properties if fold(p.address) == fold(address)]
        if not properties:
            return None
        prop = properties[0]
        client = prop.client_obj
        if client is None:
            try:
                client = await self._ozmap.client_by_code(code)
            except OzmapNotFound:
                return None
        wanted = await self.outage_tag_ids()
        box, port_tags = await asyncio.gather(self._box(prop), self._port_tags(prop))
        # a property inside a building has no point of its own: its box stands for it
        point = prop if prop.coords else box
        regions = []
        if point is not None and point.lat is not None and point.lng is not None:
            regions = await self._ozmap.regions_at(point.lat, point.lng)
        places: list[tuple[str, set[str]]] = [
            ("client", tag_ids(client.tags)),
            ("property", tag_ids(prop.tags)),
            ("box", tag_ids(box.tags) if box else set()),
            ("splitter_port", port_tags),
            ("region", set().union(*(tag_ids(r.tags) for r in regions)) if regions else set()),
        ]
        return OutageStatus(
            outage_on=tuple(name for name, ids in places if ids & wanted),
            error=client.status == ClientStatus.ERROR,
            implanted=client.implanted,
        )

    async def area(self, lat: float, lng: float, radius: float) -> AreaStatus:
        """The outage status of the point: the tags of its regions, of the horizontal
        condominium it is in, of a building standing at it, and of the implanted boxes within
        ``radius`` metres (the reach of a drop), nearest first; inside a horizontal condominium
        with boxes of its own, only those. Five requests, sent together;
        nothing about any client is read."""
        wanted, boxes, regions, (buildings, condominiums) = await asyncio.gather(
            self.outage_tag_ids(),
            self._ozmap.boxes_near(lat, lng, radius),
            self._ozmap.regions_at(lat, lng),
            self._ozmap.condominiums_at(lat, lng),
        )
        located = [b for b in boxes if b.lat is not None and b.lng is not None]
        located.sort(key=lambda b: distance_m(lat, lng, b.lat or 0.0, b.lng or 0.0))
        # inside a gated community only its own boxes serve (docs section 3), when it has any
        inside = [
            b for b in located if any(c.contains(b.lat or 0.0, b.lng or 0.0) for c in condominiums)
        ]
        if inside:
            located = inside
        tagged = [bool(tag_ids(b.tags) & wanted) for b in located]
        # a building counts where it stands at the point (as for a sale: docs section 3)
        at_point = [b for d, b in buildings if d <= BUILDING_AT_POINT_M]
        places: list[tuple[str, bool]] = [
            ("region", any(tag_ids(r.tags) & wanted for r in regions)),
            ("condominium", any(tag_ids(c.tags) & wanted for c in condominiums)),
            ("building", any(tag_ids(b.tags) & wanted for b in at_point)),
            ("box", bool(tagged) and tagged[0]),
        ]
        on = [name for name, hit in places if hit]
        return AreaStatus(outage_on=tuple(on), tagged_nearby=sum(tagged[1:]), boxes=len(located))

    async def _box(self, prop: Property) -> Box | None:
        if not prop.box:
            return None
        try:
            return await self._ozmap.box(prop.box)
        except OzmapNotFound:
            return None  # a box removed since: nothing to read on it

    async def _port_tags(self, prop: Property) -> set[str]:
        connection = next((c for c in prop.connections if c.id and c.port), None)
        if connection is None or connection.port is None:
            return set()
        try:
            splitter: Splitter = await self._ozmap.splitter(connection.id)
        except OzmapNotFound:
            return set()
        index = connection.port - 1  # OZmap's ports are 1-based; ``ports`` is a list
        if not 0 <= index < len(splitter.ports):
            return set()
        return tag_ids(splitter.ports[index].tags)
