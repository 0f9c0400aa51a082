"""How the sandbox pages, sorts and trims list answers (pure functions on document views).

The envelope is the official SDK's ``Pagination`` type (``src/interface/Pagination.ts``)::

    {"total": 124, "count": 100, "start": 0, "limit": 100, "rows": [...],
     "hasNextPage": true, "nextUrl": "/api/v2/ftth-clients?start=100&limit=100"}

``nextUrl`` is there only when ``hasNextPage`` is. The position travels in ``start`` (an
offset), not in ``page``: the SDK's ``findAll`` re-sends ``nextUrl``'s parameters but drops
``page`` and sets ``limit`` itself, so a ``page`` in ``nextUrl`` would bring it back to the first
page forever. ``page`` (1-based) is still honoured when no ``start`` is sent; ``limit=-1`` means
every row. ``nextUrl`` also carries the filter and sort in effect (as query JSON), so a client
that fetches it as it is, without the GET body the filter may have come in, gets the same rows.

OZmap does not say which parameter ``nextUrl`` carries the position in, so the sandbox can page
in three ways (:data:`PAGING_STYLES`, its ``paging_style`` knob): ``start`` (the above, what the
SDK can follow), ``page`` (``nextUrl`` carries ``page=N+1``: the SDK's ``findAll`` would loop
on the first page, a client that fetches ``nextUrl`` as it is reads on) and ``total`` (no
``hasNextPage`` nor ``nextUrl``: the client must ask ``page`` by ``page`` while ``total`` says
rows are left).

``select`` keeps only the named fields (separated by spaces or commas, dotted paths allowed;
``-field`` leaves a field out instead); ``id`` and ``_id`` always stay, as Mongoose keeps
``_id``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from bot.ozmap.sandbox.filters import values_at
from bot.ozmap.sandbox.network import Doc

__all__ = [
    "DEFAULT_LIMIT",
    "PAGING_STYLES",
    "PagingError",
    "page_of",
    "paging",
    "select_fields",
    "sort_rows",
]

DEFAULT_LIMIT = 100  # the SDK's batch size
PAGING_STYLES = ("start", "page", "total")


class PagingError(ValueError):
    """``page``, ``start`` or ``limit`` cannot be read; the message says what to send."""


def _integer(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise PagingError(f"{name} must be an integer, e.g. {name}=100") from None


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``(start, limit)`` from ``start`` (else ``page``) and ``limit``."""
    limit = _integer(query, "limit", DEFAULT_LIMIT)
    page = _integer(query, "page", 1)
    start = _integer(query, "start", None)
    assert limit is not None and page is not None
    if limit < 1 and limit != -1:
        raise PagingError("limit must be positive, or -1 for every row")
    if page < 1:
        raise PagingError("page starts at 1")
    if start is not None and start < 0:
        raise PagingError("start is an offset: 0 or more")
    if start is None:
        start = 0 if limit == -1 else (page - 1) * limit
    return start, limit


def sort_rows(rows: list[Doc], sort: Sequence[Any]) -> None:
    """Sort in place by ``[{property, direction}]`` (1 ascending, -1 descending), the first
    rule deciding first; missing values last."""
    for rule in reversed(sort):
        if not isinstance(rule, Mapping):
            continue
        prop = str(rule.get("property", ""))
        descending = rule.get("direction", 1) in (-1, "-1", "desc", "DESC")

        def key(row: Doc, prop: str = prop) -> tuple[int, str, float]:
            values = values_at(row, prop)
            v = values[0] if values else None
            if v is None:
                return (1, "", 0.0)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return (0, "", float(v))
            return (0, str(v).casefold(), 0.0)

        rows.sort(key=key, reverse=descending)


def _pick(doc: Any, path: list[str]) -> Any:
    """The sub-document holding only ``path`` (lists fan out), or a marker when missing."""
    if not path:
        return copy.deepcopy(doc)
    if isinstance(doc, list):
        return [_pick(item, path) for item in doc]
    if isinstance(doc, dict) and path[0] in doc:
        return {path[0]: _pick(doc[path[0]], path[1:])}
    return _MISSING


_MISSING = object()


def _merge(into: dict[str, Any], part: Any) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _drop(doc: dict[str, Any], path: list[str]) -> None:
    if len(path) == 1:
        doc.pop(path[0], None)
    elif isinstance(doc.get(path[0]), dict):
        _drop(doc[path[0]], path[1:])


def select_fields(doc: Doc, select: str | None) -> Doc:
    """``doc`` trimmed to ``select`` (None or empty: whole)."""
    fields = [f for f in (select or "").replace(",", " ").split() if f]
    if not fields:
        return doc
    excluded = [f[1:] for f in fields if f.startswith("-")]
    if excluded and len(excluded) == len(fields):
        out = copy.deepcopy(doc)
        for name in excluded:
            if name not in ("id", "_id"):
                _drop(out, name.split("."))
        return out
    kept: dict[str, Any] = {k: doc[k] for k in ("id", "_id") if k in doc}
    for name in fields:
        if name.startswith("-"):
            continue
        part = _pick(doc, name.split("."))
        if isinstance(part, dict):
            _merge(kept, part)
    return kept


def page_of(
    rows: list[Doc],
    *,
    path: str,
    query: Mapping[str, str],
    flt: list[Any],
    sort: list[Any],
    style: str = "start",
) -> dict[str, Any]:
    """The envelope for one page of ``rows`` (already filtered and sorted), answered at
    ``path`` (``/api/v2/<collection>``) for a request with ``query``, paged in ``style``."""
    start, limit = paging(query)
    chunk = rows[start:] if limit == -1 else rows[start : start + limit]
    chunk = [select_fields(row, query.get("select")) for row in chunk]
    more = limit != -1 and start + len(chunk) < len(rows)
    envelope: dict[str, Any] = {
        "total": len(rows),
        "count": len(chunk),
        "start": start,
        "limit": limit,
        "rows": chunk,
        "hasNextPage": more,
    }
    if style == "total":
        del envelope["hasNextPage"]
        return envelope
    if more:
        params = (
            {"page": str(start // limit + 2), "limit": str(limit)}
            if style == "page"
            else {"start": str(start + len(chunk)), "limit": str(limit)}
        )
        params.update(
            (k, v)
            for k, v in query.items()
            if k not in ("page", "start", "limit", "filter", "sort")
        )
        if flt:
            params["filter"] = json.dumps(flt, separators=(",", ":"))
        if sort:
            params["sort"] = json.dumps(sort, separators=(",", ":"))
        envelope["nextUrl"] = f"{path}?{urlencode(params)}"
    return envelope
