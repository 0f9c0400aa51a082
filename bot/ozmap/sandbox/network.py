"""The sandbox's in-memory OZmap network: collections of OZmap-shaped documents.

Documents are stored as OZmap stores them (``_id``, ``coords`` as ``[lng, lat]``, references as id
strings, a property's ``client`` as the client's id). :meth:`Network.view` adds what the API adds
on the way out (``id``, flattened ``lat``/``lng``). The model is plain data plus a few lookups and
the two mutations that must keep the network consistent (connect a property to a port, free it);
HTTP concerns live in :mod:`bot.ozmap.sandbox.app`.

Not thread-safe on its own: the app serialises every mutation under one ``asyncio.Lock``.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.resources import package_path

__all__ = [
    "BOX_900",
    "COLLECTIONS",
    "DEFAULT_NETWORK_FILE",
    "SPLITTER_900",
    "THREE_FREE_PORTS_BOX",
    "Doc",
    "Network",
    "new_id",
    "now_iso",
]

Doc = dict[str, Any]

DEFAULT_NETWORK_FILE = package_path("bot.ozmap.sandbox", "data", "network.json")

# Collections, named as their API routes.
COLLECTIONS: tuple[str, ...] = (
    "projects",
    "tags",
    "regions",
    "poles",
    "boxes",
    "buildings",
    "horizontal-condominiums",
    "splitters",
    "ftth-clients",
    "properties",
    "prospects",
    "pendency-types",
    "pendencies",
)

# Well-known elements of the seed network (see data/make_network.py).
BOX_900 = "5da62201493d9c00066655b8"  # tutorial 002's box, R. Delminda Silveira 900; port 4 free
SPLITTER_900 = "5da6220df003e8132800001e"
THREE_FREE_PORTS_BOX = "6bd22aa79a877600e5001272"  # CTO-AGR-07: exactly three free ports


def now_iso() -> str:
    """The current time as OZmap writes it: ISO 8601, milliseconds, ``Z``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_id() -> str:
    """A fresh ObjectId-like id: 4 bytes of seconds then 8 random bytes, as 24 hex digits."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


class Network:
    """A whole OZmap network. ``collections[name][id]`` is the stored document.

    ``samples`` and ``users`` come from the seed file unchanged (the demo shows the samples).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self._pristine = json.dumps(data)
        self._load(copy.deepcopy(data))

    def _load(self, data: dict[str, Any]) -> None:
        self.about: str = str(data.get("about", ""))
        self.samples: dict[str, Any] = dict(data.get("samples", {}))
        self.users: list[Doc] = list(data.get("users", []))
        self.collections: dict[str, dict[str, Doc]] = {
            name: {str(doc["_id"]): doc for doc in data.get(name, [])} for name in COLLECTIONS
        }

    @classmethod
    def load(cls, path: Path | None = None) -> Network:
        """Read a network file (the seed by default). Raises ``OSError``/``ValueError``."""
        source = path or DEFAULT_NETWORK_FILE
        return cls(json.loads(source.read_text(encoding="utf-8")))

    def reset(self) -> None:
        """Restore the state this network was created with (tests use it between cases)."""
        self._load(json.loads(self._pristine))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"about": self.about, "users": self.users, "samples": self.samples}
        for name in COLLECTIONS:
            data[name] = list(self.collections[name].values())
        return data

    def save(self, path: Path) -> None:
        """Write the state atomically: a temporary file in the same directory, then a rename."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- lookups ------------------------------------------------------------------------------
    def get(self, collection: str, doc_id: str) -> Doc | None:
        return self.collections[collection].get(doc_id)

    def docs(self, collection: str) -> Iterator[Doc]:
        return iter(list(self.collections[collection].values()))

    def client_by_code(self, code: str) -> Doc | None:
        return next((c for c in self.docs("ftth-clients") if c.get("code") == code), None)

    def properties_of_client(self, client_id: str) -> list[Doc]:
        return [p for p in self.docs("properties") if p.get("client") == client_id]

    def splitters_in(self, parent_id: str) -> list[Doc]:
        """The splitters inside a box or building, in their ``index`` order."""
        found = [s for s in self.docs("splitters") if s.get("parent") == parent_id]
        return sorted(found, key=lambda s: (int(s.get("index", 0)), str(s["_id"])))

    def creator(self) -> Doc:
        """``creatorData`` for documents created through the API (the sandbox's one user)."""
        user = self.users[0] if self.users else {"_id": "000000000000000000000000"}
        return {
            "id": user["_id"],
            "name": user.get("name", "Sandbox"),
            "username": user.get("username", "sandbox"),
        }

    # --- views --------------------------------------------------------------------------------
    def view(self, collection: str, doc: Doc, *, populate: bool = True, deep: bool = True) -> Doc:
        """A document as the list/get endpoints return it: ``id`` added, ``lat``/``lng``
        flattened from ``coords`` (null when there are none), a property's ``client``
        populated. ``deep=False`` shares the nested values with the stored document (cheap:
        lists filter hundreds of views per request); only read such a view, and answer it
        before the next mutation."""
        out = copy.deepcopy(doc) if deep else dict(doc)
        out["id"] = doc["_id"]
        if "coords" in doc:
            coords = doc["coords"]
            out["lng"], out["lat"] = (coords[0], coords[1]) if coords else (None, None)
        if collection == "properties" and populate and isinstance(doc.get("client"), str):
            client = self.get("ftth-clients", doc["client"])
            out["client"] = (
                self.view("ftth-clients", client, deep=deep) if client else doc["client"]
            )
        return out

    # --- ports --------------------------------------------------------------------------------
    @staticmethod
    def port_is_free(splitter: Doc, index: int) -> bool:
        """Port ``index`` (0-based) has no fiber and is not blocked."""
        output = splitter["connectables"]["output"]
        ports = splitter.get("ports") or []
        blocked = bool(ports[index].get("blocked")) if index < len(ports) else False
        return output[index] is None and not blocked

    @staticmethod
    def attached_to_pon(splitter: Doc) -> bool:
        inputs = splitter["connectables"].get("input") or []
        return bool(inputs) and inputs[0] is not None

    def free_port(self, property_doc: Doc) -> None:
        """Disconnect a property from its splitter ports (their outputs become null)."""
        for conn in property_doc.get("connections") or []:
            splitter = self.get("splitters", str(conn.get("id")))
            if splitter is None or conn.get("kind") != "Splitter":
                continue
            output = splitter["connectables"]["output"]
            index = int(conn["port"]) - 1
            if 0 <= index < len(output) and output[index] == conn.get("fiber"):
                output[index] = None
