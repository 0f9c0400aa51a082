"""Generate the sandbox's seed network (``network.json``) and gazetteer (``addresses.json``).

Run from the repository root after editing the tables below::

    .venv/bin/python bot/ozmap/sandbox/data/make_network.py

The output is deterministic (ids are hashes of names, dates are fixed), so a diff of the JSON
shows exactly what an edit changed. The script checks its own promises before writing: the
tutorial addresses sit at the tutorials' coordinates, the "covered" sample has a sellable port
within 250 m, the "not covered" sample has no box at all within 250 m, and the concurrency box
has exactly three free ports.

Geography: Agronômica (around R. Delminda Silveira, where OZmap's tutorials place their
examples) is densely covered; a few boxes serve Centro and the west end of Trindade (the latter
under a tagged mass outage); Santa Mônica / Pantanal (Av. Madre Benvenuta, R. Dep. Antônio Edu
Vieira) have no network at all.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

from geopy.distance import geodesic

from bot.ozmap.sandbox.network import BOX_900, COLLECTIONS, SPLITTER_900

HERE = Path(__file__).resolve().parent

# --- fixed ids (from OZmap's tutorials / fixtures) --------------------------------------------
PROJECT_MAIN = "5d9f3ff9200141000647f814"
PROJECT_902 = "62bc9b89a17d2b0030bddc0c"
SUPPORT_USER = {"id": "5d9f3fb8200141000647f768", "name": "Support OZmap", "username": "devoz"}

POLE_900 = "5da62201493d9c00066655b1"
# the box the concurrency test reserves on: exactly three free ports
THREE_FREE_PORTS_BOX = hashlib.md5(b"box:CTO-AGR-07").hexdigest()[:24]  # noqa: S324

CREATED = "2023-01-10T12:00:00.000Z"
UPDATED = "2023-01-10T12:00:00.000Z"

M_PER_DEG_LAT = 110_850.0


def oid(*parts: object) -> str:
    """A stable 24-hex ObjectId-like id derived from a name (not a secret: md5 is fine)."""
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()[:24]  # noqa: S324


def offset(lng: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    m_per_deg_lng = M_PER_DEG_LAT * math.cos(math.radians(lat))
    return (round(lng + east_m / m_per_deg_lng, 7), round(lat + north_m / M_PER_DEG_LAT, 7))


# --- streets (the offline gazetteer) -----------------------------------------------------------
# anchors: [house number, lng, lat]; a number is placed by linear interpolation between anchors
STREETS: list[dict[str, Any]] = [
    {
        "name": "Rua Delminda Silveira",
        "aliases": ["R. Delminda Silveira"],
        "neighbourhood": "Agronômica",
        "ceps": [{"cep": "88025-500", "from": 1, "to": 2000}],
        "anchors": [
            [1, -48.5301, -27.5801],
            [900, -48.527442812919624, -27.5782336721312],
            [2000, -48.5240, -27.5760],
        ],
    },
    {
        "name": "Rua Rui Barbosa",
        "aliases": ["R. Rui Barbosa"],
        "neighbourhood": "Agronômica",
        "ceps": [
            {"cep": "88025-300", "from": 1, "to": 700},
            {"cep": "88025-301", "from": 701, "to": 1500},
        ],
        "anchors": [[1, -48.5345, -27.5830], [800, -48.5300, -27.5795], [1500, -48.5262, -27.5770]],
    },
    {
        "name": "Rua Frei Caneca",
        "aliases": ["R. Frei Caneca"],
        "neighbourhood": "Agronômica",
        "ceps": [
            {"cep": "88025-000", "from": 1, "to": 600},
            {"cep": "88025-001", "from": 601, "to": 1200},
        ],
        "anchors": [[1, -48.5330, -27.5862], [600, -48.5290, -27.5838], [1200, -48.5250, -27.5815]],
    },
    {
        "name": "Avenida Governador Irineu Bornhausen",
        "aliases": ["Av. Gov. Irineu Bornhausen", "Beira-Mar Norte"],
        "neighbourhood": "Agronômica",
        "ceps": [
            {"cep": "88025-200", "from": 1, "to": 2999},
            {"cep": "88025-202", "from": 3000, "to": 5000},
        ],
        "anchors": [
            [1, -48.5372, -27.5790],
            [2500, -48.5290, -27.5722],
            [5000, -48.5205, -27.5662],
        ],
    },
    {
        "name": "Rua Lauro Linhares",
        "aliases": ["R. Lauro Linhares"],
        "neighbourhood": "Trindade",
        "ceps": [
            {"cep": "88036-001", "from": 1, "to": 1099},
            {"cep": "88036-002", "from": 1100, "to": 2200},
        ],
        "anchors": [
            [1, -48.5235, -27.5872],
            [1000, -48.5190, -27.5898],
            [2200, -48.5135, -27.5930],
        ],
    },
    {
        "name": "Avenida Madre Benvenuta",
        "aliases": ["Av. Madre Benvenuta"],
        "neighbourhood": "Santa Mônica",
        "ceps": [
            {"cep": "88035-000", "from": 1, "to": 1399},
            {"cep": "88035-001", "from": 1400, "to": 2800},
        ],
        "anchors": [
            [1, -48.5120, -27.5862],
            [1500, -48.5060, -27.5842],
            [2800, -48.5005, -27.5812],
        ],
    },
    {
        "name": "Rua Deputado Antônio Edu Vieira",
        "aliases": ["R. Dep. Antônio Edu Vieira"],
        "neighbourhood": "Pantanal",
        "ceps": [{"cep": "88040-000", "from": 1, "to": 1500}],
        "anchors": [[1, -48.5180, -27.6010], [1500, -48.5110, -27.6075]],
    },
    {
        "name": "Avenida Mauro Ramos",
        "aliases": ["Av. Mauro Ramos"],
        "neighbourhood": "Centro",
        "ceps": [
            {"cep": "88020-300", "from": 1, "to": 999},
            {"cep": "88020-301", "from": 1000, "to": 2000},
        ],
        "anchors": [
            [1, -48.5420, -27.6000],
            [1000, -48.5445, -27.5950],
            [2000, -48.5410, -27.5895],
        ],
    },
    {
        "name": "Rua Felipe Schmidt",
        "aliases": ["R. Felipe Schmidt"],
        "neighbourhood": "Centro",
        "ceps": [
            {"cep": "88010-000", "from": 1, "to": 799},
            {"cep": "88010-001", "from": 800, "to": 1500},
        ],
        "anchors": [[1, -48.5520, -27.5965], [800, -48.5475, -27.5960], [1500, -48.5440, -27.5955]],
    },
    {
        "name": "Rua Bocaiúva",
        "aliases": ["R. Bocaiúva", "Rua Bocaiuva"],
        "neighbourhood": "Centro",
        "ceps": [{"cep": "88015-530", "from": 1, "to": 2000}],
        "anchors": [[1, -48.5520, -27.5900], [2000, -48.5410, -27.5870]],
    },
    {
        "name": "Avenida Trompowsky",
        "aliases": ["Av. Trompowsky"],
        "neighbourhood": "Centro",
        "ceps": [{"cep": "88015-300", "from": 1, "to": 500}],
        "anchors": [[1, -48.5440, -27.5920], [500, -48.5395, -27.5880]],
    },
    {
        "name": "Rua Esteves Júnior",
        "aliases": ["R. Esteves Júnior", "Rua Esteves Junior"],
        "neighbourhood": "Centro",
        "ceps": [{"cep": "88015-130", "from": 1, "to": 1000}],
        "anchors": [[1, -48.5500, -27.5930], [1000, -48.5430, -27.5905]],
    },
    {
        "name": "Rua Menino Deus",
        "aliases": ["R. Menino Deus"],
        "neighbourhood": "Centro",
        "ceps": [{"cep": "88020-210", "from": 1, "to": 600}],
        "anchors": [[1, -48.5455, -27.5985], [600, -48.5420, -27.5970]],
    },
]
for _street in STREETS:
    _street["city"] = "Florianópolis"
    _street["state"] = "SC"

STREET_BY_NAME = {s["name"]: s for s in STREETS}


def locate(street: str, number: int) -> tuple[float, float]:
    """``(lng, lat)`` of a house number, by linear interpolation between the street's anchors."""
    anchors = STREET_BY_NAME[street]["anchors"]
    if number <= anchors[0][0]:
        return anchors[0][1], anchors[0][2]
    for (n0, x0, y0), (n1, x1, y1) in itertools.pairwise(anchors):
        if n0 <= number <= n1:
            t = (number - n0) / (n1 - n0)
            return x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    return anchors[-1][1], anchors[-1][2]


def cep_of(street: str, number: int) -> str:
    for rng in STREET_BY_NAME[street]["ceps"]:
        if rng["from"] <= number <= rng["to"]:
            return str(rng["cep"])
    return str(STREET_BY_NAME[street]["ceps"][-1]["cep"])


def address_of(street: str, number: int) -> str:
    s = STREET_BY_NAME[street]
    short = s["aliases"][0] if s["aliases"] else s["name"]
    return f"{short}, {number} - {s['neighbourhood']}, Florianópolis - SC, {cep_of(street, number)}"


# --- boxes -------------------------------------------------------------------------------------
# (name, street, number, metres off the street to the north, project, state, occupied ports,
#  blocked ports, attached to a PON, tags)
# state: "ok" (implanted), "draft" (Em projeto), "planned" (not implanted, not draft)
BOX_TABLE: list[tuple[str, str, int, float, str, str, list[int], list[int], bool, list[str]]] = [
    ("CTO-AGR-01", "Rua Delminda Silveira", 930, 12, PROJECT_902, "ok", [1, 2, 3, 6], [], True, []),
    (
        "CTO-AGR-02",
        "Rua Delminda Silveira",
        700,
        -10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5, 6, 7, 8],
        [],
        True,
        [],
    ),
    ("CTO-AGR-03", "Rua Delminda Silveira", 1150, 10, PROJECT_MAIN, "draft", [], [], True, []),
    ("CTO-AGR-04", "Rua Delminda Silveira", 1400, -12, PROJECT_MAIN, "ok", [1, 3, 4], [], True, []),
    (
        "CTO-AGR-05",
        "Rua Delminda Silveira",
        1750,
        10,
        PROJECT_MAIN,
        "ok",
        [2, 4, 5, 6, 8],
        [],
        True,
        [],
    ),
    (
        "CTO-AGR-06",
        "Rua Delminda Silveira",
        400,
        10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5, 6],
        [7, 8],
        True,
        [],
    ),
    ("CTO-AGR-07", "Rua Rui Barbosa", 600, 10, PROJECT_MAIN, "ok", [1, 2, 3, 4, 5], [], True, []),
    ("CTO-AGR-08", "Rua Rui Barbosa", 950, -10, PROJECT_MAIN, "planned", [], [], True, []),
    ("CTO-AGR-09", "Rua Rui Barbosa", 1300, 10, PROJECT_MAIN, "ok", [1, 2], [], True, ["MASSIVA"]),
    (
        "CTO-AGR-10",
        "Rua Rui Barbosa",
        250,
        -10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 4, 5, 6, 7, 8],
        [],
        True,
        [],
    ),
    ("CTO-AGR-11", "Rua Frei Caneca", 150, 10, PROJECT_MAIN, "ok", [1], [], True, []),
    ("CTO-AGR-12", "Rua Frei Caneca", 450, 10, PROJECT_MAIN, "ok", [1, 2, 3], [], False, []),
    ("CTO-AGR-13", "Rua Frei Caneca", 750, -10, PROJECT_MAIN, "ok", [2, 3, 5], [], True, []),
    (
        "CTO-AGR-14",
        "Rua Frei Caneca",
        1100,
        10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5, 6, 7, 8],
        [],
        True,
        [],
    ),
    (
        "CTO-AGR-15",
        "Avenida Governador Irineu Bornhausen",
        1500,
        -15,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4],
        [],
        True,
        [],
    ),
    (
        "CTO-AGR-16",
        "Avenida Governador Irineu Bornhausen",
        2200,
        -15,
        PROJECT_902,
        "ok",
        [1, 5],
        [],
        True,
        [],
    ),
    (
        "CTO-AGR-17",
        "Avenida Governador Irineu Bornhausen",
        3600,
        -15,
        PROJECT_902,
        "ok",
        [1, 2, 3, 4, 5, 6],
        [],
        True,
        [],
    ),
    (
        "CTO-AGR-18",
        "Avenida Governador Irineu Bornhausen",
        4400,
        -15,
        PROJECT_902,
        "draft",
        [],
        [],
        False,
        [],
    ),
    ("CTO-TRI-01", "Rua Lauro Linhares", 150, 10, PROJECT_MAIN, "ok", [1, 2, 3, 4], [], True, []),
    (
        "CTO-TRI-02",
        "Rua Lauro Linhares",
        500,
        -10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 5, 6],
        [],
        True,
        [],
    ),
    ("CTO-TRI-03", "Rua Lauro Linhares", 850, 10, PROJECT_MAIN, "ok", [1, 2], [], True, []),
    ("CTO-CEN-01", "Avenida Mauro Ramos", 1200, 10, PROJECT_MAIN, "ok", [1, 2, 3], [], True, []),
    (
        "CTO-CEN-02",
        "Avenida Mauro Ramos",
        1700,
        10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5, 6, 7],
        [],
        True,
        [],
    ),
    ("CTO-CEN-03", "Rua Felipe Schmidt", 400, 8, PROJECT_MAIN, "ok", [1, 2, 4], [], True, []),
    (
        "CTO-CEN-04",
        "Rua Felipe Schmidt",
        1100,
        8,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5, 6, 7, 8],
        [],
        True,
        [],
    ),
    ("CTO-CEN-05", "Rua Bocaiúva", 900, 8, PROJECT_MAIN, "ok", [3, 4], [], True, []),
    ("CTO-CEN-06", "Rua Esteves Júnior", 500, -8, PROJECT_MAIN, "planned", [], [], True, []),
    (
        "CTO-CEN-07",
        "Avenida Trompowsky",
        300,
        10,
        PROJECT_MAIN,
        "ok",
        [1, 2, 3, 4, 5],
        [],
        True,
        [],
    ),
]

# The two boxes of the tutorial fixtures keep their ids and sit beside their clients' coordinates.
RESERVA_123_PROPERTY = (-48.52405115962029, -27.580520760129144)
TEST_STATUS_PROPERTY = (-48.52836683392526, -27.576685937919645)
FIXTURE_BOXES: list[dict[str, Any]] = [
    {
        "_id": "5da752a411450e0006947fad",
        "name": "CTO-AGR-20",
        "pole": "5da74b5a11450e0006947e9a",
        "splitter": "5da752a511450e0006947fb0",
        "coords": list(offset(*RESERVA_123_PROPERTY, 18, 14)),
        "project": PROJECT_MAIN,
        "occupied": [1, 2, 7],
    },
    {
        "_id": "5da728dd11450e0006947cbb",
        "name": "CTO-AGR-21",
        "pole": "5da728dd11450e0006947cbd",
        "splitter": "5da728dd11450e0006947cbf",
        "coords": list(offset(*TEST_STATUS_PROPERTY, -15, 20)),
        "project": PROJECT_MAIN,
        "occupied": [1, 2, 3, 6],
    },
]

FIRST_NAMES = [
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elisa",
    "Fábio",
    "Gabriela",
    "Heitor",
    "Isabela",
    "João",
    "Larissa",
    "Marcos",
    "Natália",
    "Otávio",
    "Paula",
    "Rafael",
    "Sofia",
    "Tiago",
    "Vanessa",
    "William",
]
LAST_NAMES = [
    "Silva",
    "Souza",
    "Oliveira",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nunes",
    "Machado",
    "Ramos",
    "Schmitt",
    "Vieira",
    "Martins",
    "Cardoso",
]

TAG_TYPES = [
    "box",
    "region",
    "property",
    "client",
    "building",
    "splitter.ports",
    "horizontalCondominium",
    "cable",
    "pole",
]


class Builder:
    def __init__(self) -> None:
        self.col: dict[str, list[dict[str, Any]]] = {name: [] for name in COLLECTIONS}
        self.filler = 0

    def meta(self, doc: dict[str, Any], creator: dict[str, str] = SUPPORT_USER) -> dict[str, Any]:
        doc.setdefault("creatorData", dict(creator))
        doc.setdefault("createdAt", CREATED)
        doc.setdefault("updatedAt", UPDATED)
        doc.setdefault("__v", 0)
        return doc

    def tag_id(self, name: str) -> str:
        return str(next(t["_id"] for t in self.col["tags"] if t["name"] == name))

    def pole(self, pole_id: str, name: str, coords: list[float], project: str) -> None:
        self.col["poles"].append(
            self.meta(
                {
                    "_id": pole_id,
                    "kind": "Pole",
                    "name": name,
                    "project": project,
                    "usable": True,
                    "observation": "",
                    "tags": [],
                    "coords": coords,
                    "adjacents": [],
                    "licensing": {"status": 2, "protocol": ""},
                }
            )
        )

    def splitter(
        self,
        sid: str,
        parent: str,
        project: str,
        *,
        implanted: bool,
        attached: bool,
        blocked: list[int],
        index: int = 0,
    ) -> dict[str, Any]:
        doc = self.meta(
            {
                "_id": sid,
                "kind": "Splitter",
                "name": f"Splitter {index + 1}",
                "label": "",
                "observation": "",
                "parent": parent,
                "project": project,
                "splitterType": "5d9f3ffb200141000647f83b",
                "ratio": {"input": 1, "output": 8},
                "isDrop": True,
                "implanted": implanted,
                "isBalanced": True,
                "orientation": "right",
                "attenuation": [10.5] * 8,
                "index": index,
                "connectables": {
                    "input": [oid("pon-fiber", sid) if attached else None],
                    "output": [None] * 8,
                },
                "ports": [
                    {
                        "_id": oid("port", sid, i),
                        "index": i,
                        "blocked": (i + 1) in blocked,
                        "tags": [],
                        "observation": "Porta bloqueada" if (i + 1) in blocked else "",
                    }
                    for i in range(8)
                ],
                "currentPower": [None] * 8,
                "installPower": [None] * 8,
            }
        )
        self.col["splitters"].append(doc)
        return doc

    def client(
        self,
        cid: str,
        code: str,
        name: str,
        *,
        implanted: bool,
        status: int = 0,
        observation: str = "",
        created: str = CREATED,
        updated: str = UPDATED,
        tags: list[str] | None = None,
        creator: dict[str, str] = SUPPORT_USER,
    ) -> dict[str, Any]:
        doc = self.meta(
            {
                "_id": cid,
                "certified": False,
                "status": status,
                "observation": observation,
                "tags": tags or [],
                "implanted": implanted,
                "onu": {"user_PPPoE": "", "serial_number": "", "mac_address": ""},
                "kind": "ftth",
                "code": code,
                "name": name,
                "creatorData": dict(creator),
                "createdAt": created,
                "updatedAt": updated,
            }
        )
        self.col["ftth-clients"].append(doc)
        return doc

    def connect(
        self,
        *,
        splitter: dict[str, Any],
        port: int,
        box: str,
        pole: str | None,
        project: str,
        client: dict[str, Any],
        coords: list[float] | None,
        address: str,
        pid: str | None = None,
        drop: str | None = None,
        fiber: str | None = None,
        history_code: str | None = None,
        observation: str = "",
        created: str = CREATED,
        updated: str = UPDATED,
        enter_date: str | None = None,
        parent: str | None = None,
        creator: dict[str, str] = SUPPORT_USER,
    ) -> None:
        pid = pid or oid("property", client["code"])
        drop = drop or oid("drop", client["code"])
        fiber = fiber or oid("fiber", client["code"])
        assert splitter["connectables"]["output"][port - 1] is None, (box, port)
        splitter["connectables"]["output"][port - 1] = fiber
        doc: dict[str, Any] = {
            "_id": pid,
            "observation": observation,
            "drop": drop,
            "tags": [],
            "cables": [],
            "kind": "Property",
            "coords": coords,
            "address": address,
            "box": box,
            "pole": pole,
            "client": client["_id"],
            "project": project,
            "creatorData": dict(creator),
            "history": {
                "clients": [
                    {
                        "id": client["_id"],
                        "code": history_code or client["code"],
                        "enter_date": enter_date or created,
                        "exit_date": None,
                    }
                ]
            },
            "createdAt": created,
            "updatedAt": updated,
            "__v": 0,
            "connections": [
                {
                    "id": splitter["_id"],
                    "kind": "Splitter",
                    "port": port,
                    "name": splitter["name"],
                    "implanted": True,
                    "fiber": fiber,
                }
            ],
        }
        if parent is not None:
            doc["parent"] = parent
        self.col["properties"].append(doc)

    def filler_client(
        self,
        *,
        splitter: dict[str, Any],
        port: int,
        box: str,
        pole: str | None,
        project: str,
        near: tuple[float, float] | None,
        street: str | None,
        number: int,
        parent: str | None = None,
        address: str | None = None,
    ) -> None:
        self.filler += 1
        n = self.filler
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n * 7) % len(LAST_NAMES)]}"
        client = self.client(oid("client", n), f"cli-{n:04d}", name, implanted=True)
        coords = None if near is None else list(offset(*near, (n % 5 - 2) * 9, (n % 3 - 1) * 7))
        if address is None:
            assert street is not None
            address = address_of(street, number)
        self.connect(
            splitter=splitter,
            port=port,
            box=box,
            pole=pole,
            project=project,
            client=client,
            coords=coords,
            address=address,
            parent=parent,
        )

    def box(
        self,
        *,
        box_id: str,
        name: str,
        pole_id: str,
        coords: list[float],
        project: str,
        state: str,
        tags: list[str],
        address: str,
    ) -> dict[str, Any]:
        self.pole(pole_id, f"P_{name}", coords, project)
        doc = self.meta(
            {
                "_id": box_id,
                "kind": "Box",
                "name": name,
                "project": project,
                "pole": pole_id,
                "boxType": "5d9f3ffa200141000647f81c",
                "hierarchyLevel": 3,
                "implanted": state == "ok",
                "draft": state == "draft",
                "certified": False,
                "shared": False,
                "default_reserve": 0,
                "underground": False,
                "address": address,
                "observation": "",
                "color": "#0000FF",
                "fill_color": "#FFFFFF",
                "tags": [self.tag_id(t) for t in tags],
                "cables": [],
                "coords": coords,
            }
        )
        self.col["boxes"].append(doc)
        return doc


# --- poles: a line along every street, each box's pole hung on the nearest one ---------------
POLE_SPACING_M = 40.0
BOX_POLE_LINK_M = 60.0  # a box's pole joins the street line when a street pole is this near
CROSSING_M = 35.0  # street poles of two streets this close are joined (a crossing)


def _metres(a: list[float], b: list[float]) -> float:
    return float(geodesic((a[1], a[0]), (b[1], b[0])).meters)


def street_poles(b: Builder) -> list[dict[str, Any]]:
    """Poles every ~40 m along each street's anchors, each adjacent to the next."""
    made: list[dict[str, Any]] = []
    for street in STREETS:
        points: list[list[float]] = []
        for (_, x0, y0), (_, x1, y1) in itertools.pairwise(street["anchors"]):
            steps = max(1, round(_metres([x0, y0], [x1, y1]) / POLE_SPACING_M))
            points.extend(
                [round(x0 + (x1 - x0) * i / steps, 7), round(y0 + (y1 - y0) * i / steps, 7)]
                for i in range(steps)
            )
        last = street["anchors"][-1]
        points.append([last[1], last[2]])
        line = []
        for i, coords in enumerate(points):
            pole_id = oid("pole", street["name"], i)
            b.pole(pole_id, f"P_{street['name']}_{i:02d}", coords, PROJECT_MAIN)
            line.append(b.col["poles"][-1])
        for here, there in itertools.pairwise(line):
            here["adjacents"].append(there["_id"])
            there["adjacents"].append(here["_id"])
        made.extend(line)
    for here, there in itertools.combinations(made, 2):
        crossing = here["name"].rsplit("_", 1)[0] != there["name"].rsplit("_", 1)[0]
        near = all(abs(a - c) < 0.001 for a, c in zip(here["coords"], there["coords"], strict=True))
        if crossing and near and _metres(here["coords"], there["coords"]) <= CROSSING_M:
            here["adjacents"].append(there["_id"])
            there["adjacents"].append(here["_id"])
    return made


def hang_box_poles(b: Builder, line: list[dict[str, Any]]) -> None:
    """Each box's own pole becomes adjacent to the nearest street pole (within 60 m)."""
    on_line = {pole["_id"] for pole in line}
    for box in b.col["boxes"]:
        pole = next(p for p in b.col["poles"] if p["_id"] == box["pole"])
        if pole["_id"] in on_line:
            continue
        nearest = min(line, key=lambda p: (_metres(p["coords"], pole["coords"]), p["_id"]))
        if _metres(nearest["coords"], pole["coords"]) <= BOX_POLE_LINK_M:
            pole["adjacents"].append(nearest["_id"])
            nearest["adjacents"].append(pole["_id"])
    for pole in b.col["poles"]:
        pole["adjacents"] = sorted(set(pole["adjacents"]))


def polygon(points: list[tuple[float, float]]) -> dict[str, Any]:
    ring = [[round(x, 7), round(y, 7)] for x, y in points]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def build() -> tuple[dict[str, Any], dict[str, Any]]:
    b = Builder()
    # projects
    for pid, name, ident, centre in (
        (PROJECT_MAIN, "Florianópolis - Ilha", "FLN", (-48.5300, -27.5820)),
        (PROJECT_902, "Florianópolis - Agronômica Norte", "FLN-AGN", (-48.5280, -27.5760)),
    ):
        b.col["projects"].append(
            b.meta(
                {
                    "_id": pid,
                    "name": name,
                    "identifier": ident,
                    "parents": [],
                    "lng": centre[0],
                    "lat": centre[1],
                    "area": polygon(
                        [
                            (-48.5600, -27.6100),
                            (-48.4950, -27.6100),
                            (-48.4950, -27.5600),
                            (-48.5600, -27.5600),
                        ]
                    ),
                    "hierarchyLevels": {
                        "box": {"POP": 1, "CE": 2, "CTO": 3},
                        "cable": {"Backbone": 1, "Distribuição": 2, "Drop": 3},
                    },
                    "drop": {"defaults": {"cableType": "5d9f3ffa200141000647f820"}, "maxSize": 250},
                    "defaultPonPotency": 5,
                    "hasLogo": False,
                }
            )
        )
    # tags
    for name in ("MASSIVA", "ROMPIMENTO", "MANUTENCAO"):
        b.col["tags"].append(
            b.meta({"_id": oid("tag", name), "name": name, "allowedTypes": list(TAG_TYPES)})
        )
    # pendency types (what an ERP files a pendency under)
    for name, color in (
        ("Manutenção", "#FF9900"),
        ("Ajuste de cliente", "#3366FF"),
        ("Rompimento", "#FF0000"),
    ):
        b.col["pendency-types"].append(
            b.meta({"_id": oid("pendency-type", name), "name": name, "color": color})
        )
    # region under a mass outage: the west end of R. Lauro Linhares (Trindade)
    outage_region = oid("region", "rompimento-trindade")
    b.col["regions"].append(
        b.meta(
            {
                "_id": outage_region,
                "name": "Trindade - rompimento de cabo",
                "observation": "Cabo de distribuição rompido; equipe em campo.",
                "regionType": "5d9f3ffa200141000647f830",
                "color": "#FF0000",
                "borderColor": "#990000",
                "tags": [b.tag_id("MASSIVA"), b.tag_id("ROMPIMENTO")],
                "projects": [PROJECT_MAIN],
                "polygon": polygon(
                    [
                        (-48.5250, -27.5895),
                        (-48.5170, -27.5895),
                        (-48.5170, -27.5855),
                        (-48.5250, -27.5855),
                    ]
                ),
            }
        )
    )
    b.col["regions"].append(
        b.meta(
            {
                "_id": oid("region", "cobertura-agronomica"),
                "name": "Cobertura Agronômica",
                "observation": "",
                "regionType": "5d9f3ffa200141000647f831",
                "color": "#00AA00",
                "borderColor": "#006600",
                "tags": [],
                "projects": [PROJECT_MAIN, PROJECT_902],
                "polygon": polygon(
                    [
                        (-48.5380, -27.5880),
                        (-48.5200, -27.5880),
                        (-48.5200, -27.5650),
                        (-48.5380, -27.5650),
                    ]
                ),
            }
        )
    )

    splitters: dict[str, dict[str, Any]] = {}
    box_info: dict[str, dict[str, Any]] = {}
    for name, street, number, north, project, state, occupied, blocked, attached, tags in BOX_TABLE:
        lng, lat = locate(street, number)
        coords = list(offset(lng, lat, 0, north))
        if name == "CTO-AGR-01":
            box_id, pole_id, sid = BOX_900, POLE_900, SPLITTER_900
        else:
            box_id, pole_id, sid = oid("box", name), oid("pole", name), oid("splitter", name)
        b.box(
            box_id=box_id,
            name=name,
            pole_id=pole_id,
            coords=coords,
            project=project,
            state=state,
            tags=tags,
            address=address_of(street, number),
        )
        spl = b.splitter(
            sid, box_id, project, implanted=state == "ok", attached=attached, blocked=blocked
        )
        splitters[box_id] = spl
        box_info[box_id] = {
            "pole": pole_id,
            "project": project,
            "street": street,
            "number": number,
            "coords": coords,
            "occupied": occupied,
        }
    for fb in FIXTURE_BOXES:
        b.box(
            box_id=fb["_id"],
            name=fb["name"],
            pole_id=fb["pole"],
            coords=fb["coords"],
            project=fb["project"],
            state="ok",
            tags=[],
            address="",
        )
        spl = b.splitter(
            fb["splitter"], fb["_id"], fb["project"], implanted=True, attached=True, blocked=[]
        )
        splitters[fb["_id"]] = spl
        box_info[fb["_id"]] = {
            "pole": fb["pole"],
            "project": fb["project"],
            "street": None,
            "number": 0,
            "coords": fb["coords"],
            "occupied": fb["occupied"],
        }

    # --- the tutorials' clients, exactly as in the fixtures ---
    reserva = b.client(
        "63ed056d7112800014c1c72e",
        "reserva_123",
        "Cliente teste",
        implanted=True,
        created="2023-02-15T16:16:45.926Z",
        updated="2023-02-15T17:37:29.597Z",
    )
    b.connect(
        splitter=splitters["5da752a411450e0006947fad"],
        port=1,
        box="5da752a411450e0006947fad",
        pole="5da74b5a11450e0006947e9a",
        project=PROJECT_MAIN,
        client=reserva,
        coords=list(RESERVA_123_PROPERTY),
        address="",
        pid="63ed056e7112800014c1c731",
        drop="63ed056e7112800014c1c733",
        fiber="63ed056e7112800014c1c734",
        history_code="Reserva_123",
        created="2023-02-15T16:16:46.017Z",
        updated="2023-02-15T17:37:29.614Z",
        enter_date="2023-02-15T16:16:46.011Z",
    )
    status = b.client(
        "643d32be7112800014c3873f",
        "test-status",
        "Cliente Teste Status",
        implanted=True,
        created="2023-04-17T11:51:26.981Z",
        updated="2023-04-17T11:51:26.981Z",
    )
    b.connect(
        splitter=splitters["5da728dd11450e0006947cbb"],
        port=6,
        box="5da728dd11450e0006947cbb",
        pole="5da728dd11450e0006947cbd",
        project=PROJECT_MAIN,
        client=status,
        coords=list(TEST_STATUS_PROPERTY),
        address="",
        pid="643d32bf7112800014c38742",
        drop="643d32bf7112800014c38744",
        fiber="643d32bf7112800014c38745",
        history_code="teste-status",
        created="2023-04-17T11:51:27.072Z",
        updated="2023-04-17T11:51:27.493Z",
        enter_date="2023-04-17T11:51:27.067Z",
    )
    box_info["5da752a411450e0006947fad"]["occupied"].remove(1)
    box_info["5da728dd11450e0006947cbb"]["occupied"].remove(6)

    # special clients, each on a named box: (code, name, box name, port, implanted, status, id)
    special = [
        ("reservation_123", "Cliente Reserva", "CTO-AGR-04", 1, False, 0, None),
        ("cliente-erro", "Marta Schmitt", "CTO-AGR-13", 2, True, 1, None),
        ("cliente-massiva-caixa", "Renato Vieira", "CTO-AGR-09", 1, True, 0, None),
        ("cliente-massiva-regiao", "Luana Cardoso", "CTO-TRI-02", 1, True, 1, None),
        ("cliente-lote-1", "Cliente Lote Um", "CTO-AGR-05", 2, True, 0, "6400e9c18a21020d261e7df1"),
        (
            "cliente-lote-2",
            "Cliente Lote Dois",
            "CTO-AGR-05",
            4,
            True,
            0,
            "6400e9e28a21020d261e7e32",
        ),
    ]
    by_name = {d["name"]: d["_id"] for d in b.col["boxes"]}
    for code, cname, box_name, port, implanted, st, cid in special:
        box_id = by_name[box_name]
        info = box_info[box_id]
        client = b.client(
            cid or oid("client", code),
            code,
            cname,
            implanted=implanted,
            status=st,
            observation="" if implanted else "Reserva de porta via chatbot",
        )
        number = info["number"] + 6
        coords = list(offset(*locate(info["street"], number), 0, -8))
        b.connect(
            splitter=splitters[box_id],
            port=port,
            box=box_id,
            pole=info["pole"],
            project=info["project"],
            client=client,
            coords=coords,
            address=address_of(info["street"], number),
        )
        info["occupied"].remove(port)

    # every other occupied port feeds an ordinary implanted client living near its box
    for box_id, info in box_info.items():
        for port in info["occupied"]:
            b.filler_client(
                splitter=splitters[box_id],
                port=port,
                box=box_id,
                pole=info["pole"],
                project=info["project"],
                near=tuple(info["coords"]),
                street=info["street"],
                number=info["number"] + 2 * port,
                address=None if info["street"] else "",
            )

    # --- vertical condominiums (buildings), each with one drop splitter inside ---
    building_ids = []
    for bname, street, number, occupied in (
        ("Edifício Solar da Agronômica", "Rua Rui Barbosa", 1200, [1, 2, 3, 4, 5]),
        ("Residencial Beira-Mar Norte", "Avenida Governador Irineu Bornhausen", 3000, [1, 2]),
    ):
        bid = oid("building", bname)
        building_ids.append(bid)
        coords = list(offset(*locate(street, number), 0, 20))
        b.col["buildings"].append(
            b.meta(
                {
                    "_id": bid,
                    "kind": "Building",
                    "name": bname,
                    "address": address_of(street, number),
                    "implanted": True,
                    "hasProblem": False,
                    "buildingType": "5d9f3ffa200141000647f840",
                    "color": "#3366FF",
                    "tags": [],
                    "project": PROJECT_MAIN,
                    "cables": [],
                    "coords": coords,
                    "pole": None,
                    "observation": "",
                }
            )
        )
        spl = b.splitter(
            oid("splitter", bname), bid, PROJECT_MAIN, implanted=True, attached=True, blocked=[]
        )
        for port in occupied:
            b.filler_client(
                splitter=spl,
                port=port,
                box=bid,
                pole=None,
                project=PROJECT_MAIN,
                near=None,
                street=None,
                number=0,
                parent=bid,
                address=f"{address_of(street, number)} - apto {100 * port + 1}",
            )

    # --- horizontal condominium with two boxes inside (south-west Agronômica) ---
    hc_id = oid("horizontal-condominium", "Jardim das Palmeiras")
    # the condominium's gate is its street address, so the polygon reaches the street: a typed
    # "R. Frei Caneca, 300" geocodes inside it, as a pin at the gate would
    hc_centre = offset(*locate("Rua Frei Caneca", 300), 0, -50)
    cx, cy = hc_centre
    b.col["horizontal-condominiums"].append(
        b.meta(
            {
                "_id": hc_id,
                "name": "Condomínio Jardim das Palmeiras",
                "observation": "",
                "address": address_of("Rua Frei Caneca", 300),
                "color": "#AA66CC",
                "tags": [],
                "project": PROJECT_MAIN,
                "polygon": polygon(
                    [
                        offset(cx, cy, -90, -70),
                        offset(cx, cy, 90, -70),
                        offset(cx, cy, 90, 70),
                        offset(cx, cy, -90, 70),
                    ]
                ),
            }
        )
    )
    for i, (east, north, occ) in enumerate(((-40, -20, [1, 2, 3]), (45, 25, [1]))):
        name = f"CTO-JDP-0{i + 1}"
        coords = list(offset(cx, cy, east, north))
        box_id = oid("box", name)
        b.box(
            box_id=box_id,
            name=name,
            pole_id=oid("pole", name),
            coords=coords,
            project=PROJECT_MAIN,
            state="ok",
            tags=[],
            address=b.col["horizontal-condominiums"][0]["address"],
        )
        spl = b.splitter(
            oid("splitter", name), box_id, PROJECT_MAIN, implanted=True, attached=True, blocked=[]
        )
        for port in occ:
            b.filler_client(
                splitter=spl,
                port=port,
                box=box_id,
                pole=oid("pole", name),
                project=PROJECT_MAIN,
                near=(coords[0], coords[1]),
                street=None,
                number=0,
                address=f"Condomínio Jardim das Palmeiras, casa {port * 3}",
            )

    # a prospect recorded where there was no network
    far = locate("Avenida Madre Benvenuta", 1500)
    b.col["prospects"].append(
        b.meta(
            {
                "_id": oid("prospect", "exemplo"),
                "name": "Prospect Exemplo",
                "phone": None,
                "code": None,
                "address": address_of("Avenida Madre Benvenuta", 1500),
                "observation": "Sem viabilidade no raio de 250 m",
                "viable": False,
                "coords": [far[0], far[1]],
                "tags": [],
            }
        )
    )

    hang_box_poles(b, street_poles(b))

    samples = make_samples(b, building_ids[0], hc_id, (cx, cy), outage_region)
    check(b, samples)
    network = {
        "about": (
            "Seed network of the ozbot OZmap sandbox, generated by make_network.py. "
            "Documents use OZmap's shapes: coords are [lng, lat]."
        ),
        "users": [
            {
                "_id": SUPPORT_USER["id"],
                "name": SUPPORT_USER["name"],
                "username": SUPPORT_USER["username"],
            }
        ],
        "samples": samples,
        **b.col,
    }
    addresses = {
        "streets": [
            {
                k: s[k]
                for k in ("name", "aliases", "neighbourhood", "city", "state", "ceps", "anchors")
            }
            for s in STREETS
        ]
    }
    return network, addresses


def make_samples(
    b: Builder, building: str, hc: str, hc_centre: tuple[float, float], region: str
) -> dict[str, Any]:
    def at(street: str, number: int) -> dict[str, Any]:
        lng, lat = locate(street, number)
        return {"address": address_of(street, number), "lat": lat, "lng": lng}

    bdoc = next(d for d in b.col["buildings"] if d["_id"] == building)
    hc_doc = b.col["horizontal-condominiums"][0]
    return {
        "covered": {
            **at("Rua Delminda Silveira", 900),
            "box": BOX_900,
            "note": "Tutorial 002's address; box 5da62201493d9c00066655b8 has port 4 free",
        },
        "not_covered": {
            **at("Avenida Madre Benvenuta", 1500),
            "note": "no box within 250 m (nor within 600 m)",
        },
        "building": {
            "address": bdoc["address"],
            "lng": bdoc["coords"][0],
            "lat": bdoc["coords"][1],
            "building": building,
            "name": bdoc["name"],
        },
        "horizontal_condominium": {
            "address": hc_doc["address"],
            "lng": hc_centre[0],
            "lat": hc_centre[1],
            "horizontalCondominium": hc,
            "name": hc_doc["name"],
        },
        "outage_region": {
            **at("Rua Lauro Linhares", 500),
            "region": region,
            "note": "inside a region tagged MASSIVA",
        },
        "three_free_ports_box": {"box": THREE_FREE_PORTS_BOX, "name": "CTO-AGR-07"},
    }


def sellable(b: Builder, box: dict[str, Any]) -> int:
    if not box["implanted"] or box["draft"]:
        return 0
    free = 0
    for s in b.col["splitters"]:
        if s["parent"] == box["_id"] and s["isDrop"] and s["implanted"]:
            free += sum(
                1
                for out, port in zip(s["connectables"]["output"], s["ports"], strict=True)
                if out is None and not port["blocked"]
            )
    return free


def check(b: Builder, samples: dict[str, Any]) -> None:
    assert locate("Rua Delminda Silveira", 900) == (-48.527442812919624, -27.5782336721312)

    def dist(box: dict[str, Any], s: dict[str, Any]) -> float:
        return float(geodesic((s["lat"], s["lng"]), (box["coords"][1], box["coords"][0])).meters)

    cov = samples["covered"]
    assert any(dist(x, cov) <= 250 and sellable(b, x) for x in b.col["boxes"])
    nc = samples["not_covered"]
    assert min(dist(x, nc) for x in b.col["boxes"]) > 600
    hc_ring = b.col["horizontal-condominiums"][0]["polygon"]["coordinates"][0]
    gate_lng, gate_lat = locate("Rua Frei Caneca", 300)
    xs, ys = [p[0] for p in hc_ring], [p[1] for p in hc_ring]
    assert min(xs) < gate_lng < max(xs) and min(ys) < gate_lat < max(ys)  # an upright rectangle
    three = next(x for x in b.col["boxes"] if x["_id"] == THREE_FREE_PORTS_BOX)
    assert sellable(b, three) == 3
    box900 = next(x for x in b.col["boxes"] if x["_id"] == BOX_900)
    s900 = next(s for s in b.col["splitters"] if s["_id"] == SPLITTER_900)
    assert s900["connectables"]["output"].index(None) == 3 and sellable(b, box900) > 0
    codes = [c["code"] for c in b.col["ftth-clients"]]
    assert len(codes) == len(set(codes)) and "123|123" not in codes
    ids = [d["_id"] for col in b.col.values() for d in col]
    assert len(ids) == len(set(ids))


def main() -> None:
    network, addresses = build()
    for name, data in (("network.json", network), ("addresses.json", addresses)):
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
