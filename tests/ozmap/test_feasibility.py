"""Finding the boxes to try, against the real sandbox over loopback: by radius in every shape the
sandbox answers in (falling back to boxes and splitters when the answer lists none), and by
poles; what each costs in requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.ozmap import OzmapClient
from bot.ozmap.feasibility import PolesFinder, RadiusFinder, walk
from bot.ozmap.models import Pole
from bot.ozmap.sandbox import BOX_900, SHAPES, RunningSandbox
from tests.ozmap.fake_ozmap import FakeOzmap, client_for, filter_of

POINT_DOC = {"coords": [-48.5001, -27.5001]}


class Counting:
    """The paths of the requests that go out (an httpx event hook, not a fake)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path.removeprefix("/api/v2/"))


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
async def ozmap(sandbox: RunningSandbox, counting: Counting) -> AsyncIterator[OzmapClient]:
    async with httpx.AsyncClient(event_hooks={"request": [counting]}) as http:
        yield OzmapClient(http, sandbox.url, sandbox.token, backoff=0.0)


def sample(sandbox: RunningSandbox, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.network.samples[name]
    return found


def sellable_boxes_within(sandbox: RunningSandbox, lat: float, lng: float, m: float) -> set[str]:
    """What the sandbox's own rules say is viable around the point."""
    from bot.ozmap.sandbox.feasibility import feasibility

    return {b["id"] for b in feasibility(sandbox.network, lat, lng, m)["boxes"]}


@pytest.mark.parametrize("shape", SHAPES)
async def test_radius_finds_the_boxes_in_every_shape(
    sandbox: RunningSandbox, ozmap: OzmapClient, counting: Counting, shape: str
) -> None:
    sandbox.sandbox.feasibility_shape = shape
    covered = sample(sandbox, "covered")
    found = await RadiusFinder(ozmap, 250).find(covered["lat"], covered["lng"])
    assert found.viable is True
    assert found.boxes[0].id == BOX_900
    assert {b.id for b in found.boxes} == sellable_boxes_within(
        sandbox, covered["lat"], covered["lng"], 250
    )
    if shape == "bare":  # nothing listed: boxes near the point, then their splitters
        assert found.source == "primitives"
        assert counting.paths == ["ftth-viability/radius", "boxes", "splitters"]
        assert all(b.available and b.free_ports for b in found.boxes)
    else:
        assert found.source == "answer"
        assert counting.paths == ["ftth-viability/radius"]  # one round trip


@pytest.mark.parametrize("shape", SHAPES)
async def test_radius_not_covered_in_every_shape(
    sandbox: RunningSandbox, ozmap: OzmapClient, counting: Counting, shape: str
) -> None:
    sandbox.sandbox.feasibility_shape = shape
    far = sample(sandbox, "not_covered")
    found = await RadiusFinder(ozmap, 250).find(far["lat"], far["lng"])
    assert (found.boxes, found.viable) == ((), False)
    assert counting.paths == ["ftth-viability/radius"]  # OZmap said no: nothing else asked


async def test_a_yes_without_usable_boxes_is_checked_with_the_primitives() -> None:
    """OZmap says viable but names no box worth trying: the primitives decide, and a full box
    near the point gives no box rather than a false "yes" (a scripted OZmap: the sandbox's
    answers are never self-contradictory)."""
    fake = FakeOzmap()
    fake.on("GET", "ftth-viability/radius", {"viable": True, "boxes": [{"id": "b1", "free": 0}]})
    fake.on("GET", "boxes", {"total": 1, "rows": [{"id": "b1", "implanted": True} | POINT_DOC]})
    full = {"id": "s1", "parent": "b1", "isDrop": True, "implanted": True}
    full["connectables"] = {"input": ["pon"], "output": ["f1", "f2"]}
    fake.on("GET", "splitters", {"total": 1, "rows": [full]})
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        found = await RadiusFinder(client_for(fake, http), 250).find(-27.5, -48.5)
    assert (found.boxes, found.viable, found.source) == ((), True, "primitives")
    assert fake.paths() == ["ftth-viability/radius", "boxes", "splitters"]
    near, implanted = filter_of(fake.requests[1])
    assert near == {
        "property": "coords",
        "operator": "near",
        "value": {"lat": -27.5, "lng": -48.5, "radius": 250},
    }
    assert implanted == {"property": "implanted", "operator": "=", "value": True}
    assert filter_of(fake.requests[2]) == [
        {"property": "parent", "operator": "in", "value": ["b1"]},
        {"property": "isDrop", "operator": "=", "value": True},
    ]


async def test_poles_from_the_nearest_pole_along_its_neighbours(
    sandbox: RunningSandbox, ozmap: OzmapClient, counting: Counting
) -> None:
    covered = sample(sandbox, "covered")
    found = await PolesFinder(ozmap, pole_radius=100, max_drop=250).find(
        covered["lat"], covered["lng"]
    )
    assert found.source == "poles" and found.boxes[0].id == BOX_900
    drops = [b.distance or 0 for b in found.boxes]
    assert drops == sorted(drops) and drops[-1] <= 250
    assert all(b.available and b.free_ports for b in found.boxes)
    # poles and boxes near the point together, then the splitters of the boxes reached
    assert sorted(counting.paths[:2]) == ["boxes", "poles"] and counting.paths[2:] == ["splitters"]
    # a shorter drop reaches fewer boxes, all among the first ones
    short = await PolesFinder(ozmap, pole_radius=100, max_drop=120).find(
        covered["lat"], covered["lng"]
    )
    assert 0 < len(short.boxes) < len(found.boxes)
    assert {b.id for b in short.boxes} <= {b.id for b in found.boxes}


async def test_poles_not_covered(sandbox: RunningSandbox, ozmap: OzmapClient) -> None:
    far = sample(sandbox, "not_covered")  # a street with poles and no box
    finder = PolesFinder(ozmap, pole_radius=100, max_drop=250)
    assert (await finder.find(far["lat"], far["lng"])).boxes == ()
    nowhere = await finder.find(-27.4300, -48.3900)  # no pole within 100 m
    assert nowhere.boxes == ()


async def test_poles_a_box_off_the_pole_line_is_not_reached(
    sandbox: RunningSandbox, ozmap: OzmapClient
) -> None:
    covered = sample(sandbox, "covered")
    box = sandbox.network.get("boxes", BOX_900)
    pole = sandbox.network.get("poles", str(box and box["pole"]))
    assert pole is not None
    for other_id in pole["adjacents"]:
        other = sandbox.network.get("poles", other_id)
        assert other is not None
        other["adjacents"].remove(pole["_id"])
    pole["adjacents"] = []
    found = await PolesFinder(ozmap).find(covered["lat"], covered["lng"])
    assert found.boxes and BOX_900 not in [b.id for b in found.boxes]


def test_walk_takes_adjacency_both_ways_and_stops_at_the_budget() -> None:
    line = [
        Pole(id="a", coords=(-48.0, -27.0), adjacents=["b"]),
        Pole(id="b", coords=(-48.0, -27.0005), adjacents=[]),  # lists no neighbour back
        Pole(id="c", coords=(-48.0, -27.001), adjacents=["b", "zz"]),  # zz: not fetched
        Pole(id="d", coords=(-48.0, -27.01), adjacents=["c"]),  # far
    ]
    reached = walk(line, line[0], budget=120)
    assert set(reached) == {"a", "b", "c"}
    assert reached["a"] == 0 and 55 < reached["b"] < 56 and 110 < reached["c"] < 112
