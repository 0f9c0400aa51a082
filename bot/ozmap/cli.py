"""``ozbot ozmap ...``: the OZmap tutorials as operator commands.

* ``activate CODE``: find the reservation by client code, PATCH ``implanted: true`` (tutorial 000);
* ``status CODE... --ok|--error``: one client by PATCH, several in one batch update (tutorial 001);
* ``cancel CODE``: find the reservation by client code, DELETE its property (tutorial 004);
* ``feasibility LAT LNG [--radius M] [--raw]``: the boxes (in OZMAP_FEASIBILITY_MODE) and
  condominiums a sale would be offered;
* ``find CODE [--raw]``: the property and client OZmap holds for a code, else the prospects
  recorded with it (the bot gives those a code too).

``--raw`` prints OZmap's answer exactly as it came (JSON; credentials masked), so an integrator's
first contact with a real OZmap shows what the parser had to understand: compare it with the
command's output without ``--raw``.

They read the ``OZMAP_*`` settings through :func:`bot.settings.load_settings`. Failures are
:mod:`bot.errors` exceptions whose message names the fix; :mod:`bot.cli` prints them as one line
and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from bot.errors import OzmapNotFound
from bot.ozmap.client import OzmapClient, segment
from bot.ozmap.models import ClientStatus, FtthClient, Property
from bot.ozmap.sales import SalesDesk
from bot.settings import Settings, load_settings, mask
from bot.validation import mask_phone

__all__ = ["register"]

Action = Callable[[OzmapClient, argparse.Namespace], Awaitable[int]]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ozmap",
        help="talk to OZmap: activate, status, cancel, feasibility, find",
        description="Operator commands on the OZmap set by OZMAP_URL and OZMAP_TOKEN.",
    )
    sub = parser.add_subparsers(dest="ozmap_command", metavar="ACTION", required=True)

    activate = sub.add_parser("activate", help="mark a reservation as installed (implanted)")
    activate.add_argument("code", help="the client's code in OZmap")
    activate.set_defaults(handler=_runner(_activate))

    status = sub.add_parser("status", help="set clients' status to OK (green) or ERROR (red)")
    status.add_argument("codes", nargs="+", metavar="CODE", help="clients' codes in OZmap")
    which = status.add_mutually_exclusive_group(required=True)
    which.add_argument("--ok", dest="status", action="store_const", const=ClientStatus.OK)
    which.add_argument("--error", dest="status", action="store_const", const=ClientStatus.ERROR)
    status.set_defaults(handler=_runner(_status))

    cancel = sub.add_parser("cancel", help="cancel a reservation: delete its property and client")
    cancel.add_argument("code", help="the client's code in OZmap")
    cancel.set_defaults(handler=_runner(_cancel))

    feasibility = sub.add_parser("feasibility", help="boxes and condominiums serving a point")
    feasibility.add_argument("lat", type=_coordinate("latitude", 90.0), help="e.g. -27.5782")
    feasibility.add_argument("lng", type=_coordinate("longitude", 180.0), help="e.g. -48.5274")
    feasibility.add_argument(
        "--radius", type=float, help="search radius in metres (default: OZMAP_RADIUS)"
    )
    feasibility.add_argument("--raw", action="store_true", help=RAW_HELP)
    feasibility.set_defaults(handler=_runner(_feasibility))

    find = sub.add_parser("find", help="show the property and client of a client code")
    find.add_argument("code", help="the client's code in OZmap")
    find.add_argument("--raw", action="store_true", help=RAW_HELP)
    find.set_defaults(handler=_runner(_find))


RAW_HELP = "print OZmap's answer exactly as it came (JSON, credentials masked)"
_SECRET_KEY = re.compile(r"authori[sz]ation|token|password|senha|api_?key|secret", re.I)


def masked(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with credentials hidden: values under keys that name one, and any text that
    contains a secret in use."""
    hidden = tuple(s for s in secrets if s)

    def walk(item: Any, key: str = "") -> Any:
        if isinstance(item, dict):
            return {k: walk(v, str(k)) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, key) for v in item]
        if isinstance(item, str) and (
            (key and _SECRET_KEY.search(key)) or any(s in item for s in hidden)
        ):
            return mask(item)
        return item

    return walk(value)


def _print_raw(payload: Any, ozmap: OzmapClient) -> None:
    print(json.dumps(masked(payload, ozmap.secrets), ensure_ascii=False, indent=2))


def _coordinate(name: str, limit: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{raw!r} is not a {name}: use e.g. -27.5782"
            ) from None
        if not -limit <= value <= limit:
            raise argparse.ArgumentTypeError(f"{name} {raw} is outside ±{limit:g}")
        return value

    return parse


def _runner(action: Action) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return asyncio.run(_with_client(action, args))

    return handler


async def _with_client(action: Action, args: argparse.Namespace) -> int:
    settings = load_settings()
    async with httpx.AsyncClient() as http:
        client = OzmapClient.from_settings(settings, http)
        args.settings = settings
        return await action(client, args)


async def _client_of(client: OzmapClient, code: str) -> tuple[str, FtthClient | None]:
    """The client id (and document, when populated) holding ``code``; OzmapNotFound if none."""
    for prop in await client.properties_by_client_code(code):
        if prop.client_id:
            return prop.client_id, prop.client_obj
    raise OzmapNotFound(
        f"no OZmap property has client code {code!r}: check the code "
        "(`ozbot ozmap find CODE` shows what OZmap holds)"
    )


async def _activate(client: OzmapClient, args: argparse.Namespace) -> int:
    client_id, doc = await _client_of(client, args.code)
    if doc is not None and doc.implanted:
        print(f"{args.code}: already implanted (client {client_id})")
        return 0
    await client.update_client(client_id, implanted=True)
    print(f"{args.code}: implanted (client {client_id})")
    return 0


async def _cancel(client: OzmapClient, args: argparse.Namespace) -> int:
    properties = await client.properties_by_client_code(args.code)
    if not properties:
        raise OzmapNotFound(
            f"no OZmap property has client code {args.code!r}: check the code "
            "(`ozbot ozmap find CODE` shows what OZmap holds)"
        )
    for prop in properties:
        with contextlib.suppress(OzmapNotFound):  # deleted meanwhile: what was asked is done
            await client.delete_property(prop.id)
        print(f"{args.code}: cancelled (property {prop.id} and its client deleted, port freed)")
    return 0


async def _status(client: OzmapClient, args: argparse.Namespace) -> int:
    codes: list[str] = list(dict.fromkeys(args.codes))  # once each, in the order given
    found = await asyncio.gather(*(_client_of(client, code) for code in codes))
    status = ClientStatus(args.status)
    ids = [client_id for client_id, _ in found]
    if len(ids) == 1:
        await client.update_client(ids[0], status=status)
    else:
        await client.batch_update_clients(ids, status=status)
    for code, client_id in zip(codes, ids, strict=True):
        print(f"{code}: status {status.name} (client {client_id})")
    return 0


async def _feasibility(client: OzmapClient, args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    radius = args.radius if args.radius is not None else settings.ozmap_radius
    if args.raw:
        params = {"lat": args.lat, "lng": args.lng, "radius": radius}
        _print_raw(await client.raw("ftth-viability/radius", params), client)
        return 0
    desk = SalesDesk.from_settings(settings.replace(ozmap_radius=int(radius)), client)
    # the two feasibilities run together, as in a sales turn
    found, condos = await asyncio.gather(
        desk.finder.find(args.lat, args.lng), client.condominium_feasibility(args.lat, args.lng)
    )
    said = {True: "yes", False: "no", None: "not said"}[found.viable]
    if desk.mode == "poles":
        print(
            f"poles: {len(found.boxes)} box(es) with a free port reached from the nearest pole "
            f"(within {desk.pole_radius:g} m; drops up to {desk.max_drop:g} m)"
        )
    else:
        print(f"viable: {said} (radius {radius:g} m)")
        if found.source == "primitives":
            print("  (the answer listed no box to try: found from boxes and splitters near)")
    for box in found.boxes:
        distance = f"{box.distance:.0f} m" if box.distance is not None else "? m"
        ports = ", ".join(f"{p.splitter_id}:{p.port}" for p in box.free_ports)
        count = "?" if box.available is None else box.available
        print(
            f"  box {box.name or box.id}  {distance}  {count} free port(s)"
            f"{f'  [{ports}]' if ports else ''}  id {box.id}"
        )
    for nv in found.refused:
        distance = f"{nv.distance:.0f} m" if nv.distance is not None else "? m"
        print(f"  not viable: {nv.name or nv.id}  {distance}  {nv.reason or ''}".rstrip())
    for condo in condos:
        print(
            f"  {condo.kind} condominium {condo.name}  {condo.distance:.0f} m  "
            f"{condo.free_ports} free port(s)  reserve on {condo.box_id}"
        )
    return 0


def _describe(prop: Property, code: str) -> list[str]:
    where = f"{prop.lat}, {prop.lng}" if prop.lat is not None else "no coordinates"
    lines = [
        f"property {prop.id}  box {prop.box or '-'}  {prop.address or '(no address)'}  {where}"
    ]
    doc = prop.client_obj
    if doc is not None:
        lines.append(
            f"  client {doc.id}  code {doc.code}  name {doc.name}  "
            f"implanted {'yes' if doc.implanted else 'no'}  status {doc.status.name}"
        )
    else:
        lines.append(f"  client {prop.client_id or '-'}  code {code}")
    for conn in prop.connections:
        lines.append(
            f"  connected to {conn.kind or 'connector'} {conn.name or conn.id} port {conn.port}"
        )
    return lines


async def _find(client: OzmapClient, args: argparse.Namespace) -> int:
    if args.raw:
        if not args.code.strip():
            raise OzmapNotFound("give a client code: `ozbot ozmap find CODE --raw`")
        _print_raw(await client.raw("properties/client/" + segment(args.code)), client)
        return 0
    properties = await client.properties_by_client_code(args.code)
    for prop in properties:
        print("\n".join(_describe(prop, args.code)))
    if properties:
        return 0
    # no reservation: the bot gives prospects (no coverage) a code too
    prospects = await client.prospects_by_code(args.code)
    if not prospects:
        raise OzmapNotFound(f"no OZmap property or prospect has code {args.code!r}: check the code")
    for found in prospects:
        where = f"{found.lat}, {found.lng}" if found.lat is not None else "no coordinates"
        print(
            f"prospect {found.id}  code {found.code}  external_id {found.external_id or '-'}  "
            f"name {found.name or '-'}  phone {mask_phone(found.phone)}  "
            f"{found.address or '(no address)'}  {where}"
        )
    return 0
