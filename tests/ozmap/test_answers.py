"""Feasibility answers in every plausible shape: only ``viable`` is documented, so the reader
must find the boxes to try (nearest first) whatever the lists are called, and never take a box
OZmap refused, nor turn a box it says nothing about into a full one."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ozmap.models import FreePort, parse_feasibility
from bot.ozmap.sandbox.feasibility import SHAPES, shaped

POINT = (-27.5763, -48.5277)
# OZmap's ids are 24 hex digits (what a bare list of ids is recognised by)
NEAR, FAR, NV1, NV2 = (f"5da62201493d9c000666550{i}" for i in range(4))
# the sandbox's own answer, before shaping: two viable boxes, two refused ones
FULL = {
    "viable": True,
    "lat": POINT[0],
    "lng": POINT[1],
    "radius": 250,
    "boxes": [
        {
            "id": FAR,
            "name": "CTO-02",
            "kind": "Box",
            "coords": [-48.5273, -27.5785],
            "lat": -27.5785,
            "lng": -48.5273,
            "distance": 248.3,
            "implanted": True,
            "project": "p",
            "capacity": 8,
            "busyDoors": 7,
            "availableDoors": 1,
            "splitters": [{"id": "s9", "name": "Splitter 1", "availablePorts": [3]}],
        },
        {
            "id": NEAR,
            "name": "CTO-01",
            "kind": "Box",
            "coords": [-48.5275, -27.5770],
            "lat": -27.5770,
            "lng": -48.5275,
            "distance": 84.2,
            "implanted": True,
            "project": "p",
            "capacity": 16,
            "busyDoors": 13,
            "availableDoors": 3,
            "splitters": [
                {"id": "s1", "name": "Splitter 1", "availablePorts": [2, 5]},
                {"id": "s2", "name": "Splitter 2", "availablePorts": [8]},
            ],
        },
    ],
    "not_viable_boxes": [
        {"id": NV2, "name": "CTO-09", "distance": 230.0, "reason": "NO_AVAILABLE_PORTS"}
        | {"_coords": [-48.5290, -27.5780], "_available": 0},
        {"id": NV1, "name": "CTO-08", "distance": 100.0, "reason": "NOT_IMPLANTED"}
        | {"_coords": [-48.5280, -27.5770], "_available": 2},
    ],
}


def read(payload: Any) -> tuple[bool | None, list[str], list[str]]:
    result = parse_feasibility(payload, *POINT)
    return result.viable, [b.id for b in result.boxes], [b.id for b in result.not_viable]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_sandbox_shape_gives_the_same_boxes(shape: str) -> None:
    viable, boxes, refused = read(shaped(FULL, shape))
    assert viable is True
    if shape == "bare":
        assert boxes == refused == []  # nothing listed: the caller must look by itself
        return
    # "ids" gives no distance: the answer's own order (the sandbox's is nearest first)
    assert boxes == ([FAR, NEAR] if shape == "ids" else [NEAR, FAR])
    if shape in {"full", "mixed", "nested", "wrapped"}:
        assert sorted(refused) == [NV1, NV2]


def test_the_full_shape_names_ports_and_counts() -> None:
    result = parse_feasibility(shaped(FULL, "full"), *POINT)
    near, far = result.boxes
    assert near.free_ports == [FreePort("s1", 2), FreePort("s1", 5), FreePort("s2", 8)]
    assert (near.available, far.available) == (3, 1)
    assert (far.lat, far.lng, far.distance) == (-27.5785, -48.5273, 248.3)
    assert [(b.id, b.reason) for b in result.not_viable] == [
        (NV1, "NOT_IMPLANTED"),
        (NV2, "NO_AVAILABLE_PORTS"),
    ]
    assert result.best is near and result.raw == shaped(FULL, "full")


def test_the_issues_example_is_a_box_to_try() -> None:
    """``{"viable": true, "boxes": [{"id", "name", "distance"}]}``: no port count is no reason
    to turn the customer away."""
    result = parse_feasibility(
        {"viable": True, "boxes": [{"id": "b1", "name": "CTO-01", "distance": 40}]}, *POINT
    )
    [box] = result.boxes
    assert (box.id, box.name, box.distance, box.available, box.may_serve) == (
        "b1",
        "CTO-01",
        40.0,
        None,
        True,
    )


@pytest.mark.parametrize(
    ("payload", "viable", "boxes", "refused"),
    [
        # only `viable` is certain
        ({"viable": False}, False, [], []),
        ({}, None, [], []),
        ({"viable": "true"}, True, [], []),
        # a list of every box found, a list of viable ones and one of the others (OZmap's prose)
        (
            {
                "viable": True,
                "boxes": [{"id": "a", "distance": 10}, {"id": "b", "distance": 5}],
                "viable_boxes": [{"id": "a", "distance": 10}],
                "not_viable_boxes": [{"id": "b", "distance": 5, "reason": "FULL"}],
            },
            True,
            ["a"],
            ["b"],
        ),
        # per-entry verdicts in one list, a reason without a verdict is a refusal
        (
            {"boxes": [{"id": "a", "viable": False}, {"id": "b", "reason": "x"}, {"id": "c"}]},
            None,
            ["c"],
            ["a", "b"],
        ),
        # refused lists under other names
        (
            {
                "caixasViaveis": [{"_id": "a"}],
                "caixasSemViabilidade": [{"_id": "b"}],
                "inviaveis": [{"_id": "c"}],
                "unavailableBoxes": [{"_id": "d"}],
                "boxesWithoutViability": [{"_id": "e"}],
                "rejected": [{"_id": "f"}],
                "nonViable": [{"_id": "g"}],
            },
            None,
            ["a"],
            ["b", "c", "d", "e", "f", "g"],
        ),
        # "no"/"in" in a name do not make a list negative ("boxes in the radius")
        ({"caixas_no_raio": [{"id": "a"}], "boxes_in_radius": [{"id": "b"}]}, None, ["a", "b"], []),
        # an explicit zero is full; a boolean says some or none
        (
            {"boxes": [{"id": "a", "availableDoors": 0}, {"id": "b", "available": False}]}
            | {"more": [{"id": "c", "available": True}, {"id": "d", "freePorts": "2"}]},
            None,
            ["c", "d"],
            ["a", "b"],
        ),
        # an empty list of named ports is full; a splitter without figures leaves it unknown
        (
            {
                "boxes": [
                    {"id": "a", "splitters": [{"id": "s", "availablePorts": []}]},
                    {"id": "b", "splitters": [{"id": "s", "name": "Splitter 1"}]},
                ]
            },
            None,
            ["b"],
            ["a"],
        ),
        # the box nested, or only its id, or the answer a bare array
        (
            {"viable": True, "results": [{"box": {"_id": "a", "name": "CTO"}, "distance": 3}]}
            | {"data": {"items": [{"box": "b", "distance": 1}]}},
            True,
            ["b", "a"],
            [],
        ),
        ([{"id": "a", "distance": 9}, {"id": "b", "distance": 2}], None, ["b", "a"], []),
        # entries that are no box are skipped, duplicates counted once
        (
            {"boxes": [7, None, "x", {"name": "no id"}, {"id": "a"}, {"id": "a"}, NV1]},
            None,
            ["a", NV1],
            [],
        ),
        # the verdict inside a wrapper
        ({"result": {"isViable": False, "boxes": []}}, False, [], []),
        ("not an object", None, [], []),
    ],
)
def test_shapes_read_defensively(
    payload: Any, viable: bool | None, boxes: list[str], refused: list[str]
) -> None:
    got_viable, got_boxes, got_refused = read(payload)
    assert (got_viable, got_boxes, sorted(got_refused)) == (viable, boxes, refused)


def test_distances_come_from_the_answer_or_from_coordinates() -> None:
    result = parse_feasibility(
        {
            "boxes": [
                {"id": "geo", "location": {"type": "Point", "coordinates": [-48.0, -27.001]}},
                {"id": "latlng", "latitude": "-27.0005", "longitude": "-48.0"},
                {"id": "told", "distancia": "30,5"},
                {"id": "unknown"},
            ]
        },
        -27.0,
        -48.0,
    )
    assert [b.id for b in result.boxes] == ["told", "latlng", "geo", "unknown"]
    told, latlng, geo, unknown = (b.distance for b in result.boxes)
    assert told == 30.5 and unknown is None
    assert latlng is not None and 55 < latlng < 56 and geo is not None and 110 < geo < 112
