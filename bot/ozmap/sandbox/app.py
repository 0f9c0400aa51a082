"""The OZmap-compatible HTTP API (Starlette), mounted under ``/api/v2``.

Every answer has OZmap's shapes (the tutorials' and the official SDK's, see docs/ozmap-api.md);
every error is JSON ``{"message", "error", "status"}`` with a message that
names the fix. Requests need ``Authorization: <token>`` or ``Authorization: Bearer <token>``
(except ``POST /users/login``, which hands the token out for the configured login/password).

Knobs, applied to every API request before anything else: ``latency`` seconds of delay, and an
``error_rate`` fraction of requests answered 503 (a seeded RNG, so a test's sequence of failures
is reproducible). Mutations run under one ``asyncio.Lock`` (two reservations never get the same
port) and, with a ``state_file``, are written to it atomically before the answer is sent.

What a reservation does (``auto_connect``, ``force``, buildings, errors) is documented in
:mod:`bot.ozmap.sandbox.operations`; what feasibility means, in
:mod:`bot.ozmap.sandbox.feasibility`; the filter language, in :mod:`bot.ozmap.sandbox.filters`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.ozmap.sandbox.errors import reshape_error
from bot.ozmap.sandbox.feasibility import DEFAULT_RADIUS_M, SHAPES, feasibility, shaped
from bot.ozmap.sandbox.filters import FilterError, matches, parse_filter
from bot.ozmap.sandbox.lists import PagingError, page_of, select_fields, sort_rows
from bot.ozmap.sandbox.network import Doc, Network
from bot.ozmap.sandbox.operations import (
    ApiError,
    batch_update_clients,
    batch_update_properties,
    create_property,
    delete_client,
    delete_property,
    property_created_view,
    update_client,
    update_property,
)
from bot.ozmap.sandbox.records import (
    create_pendency,
    create_prospect,
    delete_pendency,
    delete_prospect,
    update_pendency,
    update_prospect,
)
from bot.ozmap.sandbox.structure import design, topology

__all__ = ["API_PREFIX", "DEFAULT_LOGIN", "DEFAULT_PASSWORD", "Sandbox", "create_app"]

API_PREFIX = "/api/v2"
# The sandbox's documented demo credentials (OZmap's own sandbox user is "devoz").
DEFAULT_LOGIN = "devoz"
DEFAULT_PASSWORD = "devoz"  # noqa: S105 -- a public demo password, overridable by --password
# collections served by the generic list and get-by-id routes (writes, where there are any,
# have their own routes)
READABLE = (
    "boxes",
    "buildings",
    "horizontal-condominiums",
    "splitters",
    "regions",
    "tags",
    "projects",
    "poles",
    "properties",
    "ftth-clients",
    "prospects",
    "pendencies",
    "pendency-types",
)
POLYGON_MODELS = {
    "horizontalCondominium": ("horizontal-condominiums", "polygon"),
    "region": ("regions", "polygon"),
    "project": ("projects", "area"),
}

Handler = Callable[[Request], Awaitable[Response]]
#: a mutation: (the path's id, the JSON body) -> the created document, or None
Change = Callable[[str, dict[str, Any]], Doc | None]


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "error": error, "status": status}, status_code=status)


def _no_content() -> Response:
    return Response(status_code=204)


class Sandbox:
    """The state behind one app: the network, the credentials, the knobs and the write lock."""

    def __init__(
        self,
        network: Network,
        token: str,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        seed: int | None = None,
        state_file: Path | None = None,
        login: str = DEFAULT_LOGIN,
        password: str = DEFAULT_PASSWORD,
        feasibility_shape: str = "full",
    ) -> None:
        if not token:
            raise ValueError("the sandbox needs a non-empty token")
        if feasibility_shape not in SHAPES:
            raise ValueError(f"feasibility_shape must be one of {', '.join(SHAPES)}")
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.network = network
        self.token = token
        self.latency = latency
        self.error_rate = error_rate
        self.state_file = state_file
        self.login = login
        self.password = password
        #: the shape of the feasibility answer (see bot.ozmap.sandbox.feasibility.SHAPES); a
        #: test may change it between requests
        self.feasibility_shape = feasibility_shape
        #: requests ("POST /properties": method and path under /api/v2) whose next one is
        #: applied and its answer lost: a 504, as from a gateway whose upstream was too slow.
        #: Each entry is used once. ``error_rate_after_loss`` (None: unchanged) is the error
        #: rate from then on (1.0: OZmap goes down right after, so nobody can ask it)
        self.lose_answers: list[str] = []
        self.error_rate_after_loss: float | None = None
        #: the shape of error answers (bot.ozmap.sandbox.errors.ERROR_SHAPES); a test may
        #: change it between requests
        self.error_shape = "full"
        #: how lists page (bot.ozmap.sandbox.lists.PAGING_STYLES); a test may change it
        self.paging_style = "start"
        self.lock = asyncio.Lock()
        self._rng = random.Random(seed)  # noqa: S311 -- simulated failures, not security

    # --- plumbing -------------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        value = request.headers.get("authorization", "").strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        return bool(value) and hmac.compare_digest(value.encode(), self.token.encode())

    def wrap(self, handler: Handler, *, auth: bool = True) -> Handler:
        async def endpoint(request: Request) -> Response:
            return reshape_error(await answer(request), self.error_shape)

        async def answer(request: Request) -> Response:
            if self.latency:
                await asyncio.sleep(self.latency)
            if self.error_rate and self._rng.random() < self.error_rate:
                return _error(
                    503,
                    "SERVICE_UNAVAILABLE",
                    "sandbox: simulated outage (error_rate knob); retry later",
                )
            if auth and not self._authorised(request):
                return _error(
                    401,
                    "UNAUTHORIZED",
                    "missing or invalid API key: send it in the Authorization header "
                    "(raw or as 'Bearer <key>'), or get one from POST /api/v2/users/login",
                )
            try:
                response = await handler(request)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            return self._maybe_lost(request, response)

        return endpoint

    def _maybe_lost(self, request: Request, response: Response) -> Response:
        """``response``, or a 504 in its place when the request is one ``lose_answers`` names
        (the request has been applied all the same)."""
        name = f"{request.method} {request.url.path.removeprefix(API_PREFIX)}"
        if name not in self.lose_answers:
            return response
        self.lose_answers.remove(name)
        if self.error_rate_after_loss is not None:
            self.error_rate = self.error_rate_after_loss
        return _error(
            504,
            "GATEWAY_TIMEOUT",
            "sandbox: the request was applied but its answer lost (lose_answers knob)",
        )

    async def _persist(self) -> None:
        if self.state_file is not None:
            await asyncio.to_thread(self.network.save, self.state_file)

    def polygon(self, doc_id: str, model: str) -> dict[str, Any] | None:
        """The polygon of a ``within`` filter's ``{id, model}``."""
        collection, field = POLYGON_MODELS.get(model, ("", ""))
        doc = self.network.get(collection, doc_id) if collection else None
        value = doc.get(field) if doc else None
        return value if isinstance(value, dict) else None

    @staticmethod
    async def _body(request: Request, *, required: bool = True) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise ApiError(400, "INVALID_JSON", "send a JSON object as the request body")
            return {}
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "INVALID_JSON", "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "INVALID_JSON", "the request body must be a JSON object")
        return data

    # --- lists ----------------------------------------------------------------------------------
    async def _list(self, request: Request, *collections: str, path: str = "") -> Response:
        """A list answer over ``collections`` (answered at ``path``, the first collection's
        route by default): filter and sort from the query string and/or the GET body (as the
        SDK sends them), paged and trimmed as :mod:`bot.ozmap.sandbox.lists` says."""
        body = await self._body(request, required=False)
        query = request.query_params
        try:
            flt = parse_filter(query.get("filter")) + parse_filter(body.get("filter"))
            sort = parse_filter(query.get("sort") or body.get("sort"))
        except FilterError as exc:
            raise ApiError(400, "INVALID_FILTER", str(exc)) from None
        # shallow views: filtered here and serialised into the answer at once, before the
        # next mutation can run (mutations take the lock; this does not await in between)
        rows = [
            self.network.view(collection, d, deep=False)
            for collection in collections
            for d in self.network.docs(collection)
        ]
        rows = [r for r in rows if matches(r, flt, self.polygon)]
        sort_rows(rows, sort)
        route = f"{API_PREFIX}/{path or collections[0]}"
        try:
            envelope = page_of(
                rows, path=route, query=query, flt=flt, sort=sort, style=self.paging_style
            )
        except PagingError as exc:
            raise ApiError(400, "INVALID_PAGE", str(exc)) from None
        return JSONResponse(envelope)

    def _get_one(self, collection: str, doc_id: str, select: str | None = None) -> Doc:
        doc = self.network.get(collection, doc_id)
        if doc is None:
            raise ApiError(404, "NOT_FOUND", f"no {collection} element with id {doc_id}")
        return select_fields(self.network.view(collection, doc), select)

    def _one(self, request: Request, collection: str) -> Response:
        doc_id = request.path_params["id"]
        return JSONResponse(self._get_one(collection, doc_id, request.query_params.get("select")))

    def generic_routes(self, collection: str) -> list[BaseRoute]:
        async def list_docs(request: Request) -> Response:
            return await self._list(request, collection)

        async def get_doc(request: Request) -> Response:
            return self._one(request, collection)

        return [
            Route(f"/{collection}", self.wrap(list_docs), methods=["GET"]),
            Route(f"/{collection}/{{id}}", self.wrap(get_doc), methods=["GET"]),
        ]

    # --- auth -----------------------------------------------------------------------------------
    async def users_login(self, request: Request) -> Response:
        body = await self._body(request)
        login_ok = hmac.compare_digest(str(body.get("login", "")).encode(), self.login.encode())
        pw_ok = hmac.compare_digest(str(body.get("password", "")).encode(), self.password.encode())
        if not (login_ok and pw_ok):
            return _error(401, "INVALID_CREDENTIALS", "wrong login or password for this sandbox")
        return JSONResponse({"authorization": self.token, "user": self.network.creator()})

    async def authenticated(self, request: Request) -> Response:
        return JSONResponse({"authenticated": True, "user": self.network.creator()})

    # --- feasibility ----------------------------------------------------------------------------
    async def viability_radius(self, request: Request) -> Response:
        q = request.query_params
        try:
            lat, lng = float(q["lat"]), float(q["lng"])
        except (KeyError, ValueError):
            raise ApiError(
                400,
                "INVALID_COORDINATES",
                "lat and lng are required numbers in degrees, e.g. ?lat=-27.5782&lng=-48.5274",
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ApiError(
                400, "INVALID_COORDINATES", "lat must be within -90..90 and lng within -180..180"
            )
        try:
            radius = float(q.get("radius") or DEFAULT_RADIUS_M)
        except ValueError:
            radius = -1.0
        if not 0 < radius <= 10_000:
            raise ApiError(400, "INVALID_RADIUS", "radius must be metres between 1 and 10000")
        answer = feasibility(self.network, lat, lng, radius)
        return JSONResponse(shaped(answer, self.feasibility_shape))

    # --- properties, clients, prospects, pendencies, base boxes -------------------------------
    async def properties_by_client_code(self, request: Request) -> Response:
        client = self.network.client_by_code(request.path_params["code"])
        if client is None:
            return JSONResponse([])
        out = []
        for prop in self.network.properties_of_client(str(client["_id"])):
            item = {k: v for k, v in prop.items()}
            item["client"] = {k: v for k, v in client.items()}
            out.append(item)
        return JSONResponse(out)

    def write(self, change: Change, *, created: str | None = None) -> Handler:
        """A mutation under the lock, persisted before answering: 201 with the view of what
        ``change`` returns when ``created`` names its collection, else 204 with no body (as the
        tutorials show PATCH and DELETE answering)."""

        async def endpoint(request: Request) -> Response:
            body = await self._body(request) if request.method in ("POST", "PATCH") else {}
            async with self.lock:
                doc = change(request.path_params.get("id", ""), body)
                await self._persist()
            if created is None or doc is None:
                return _no_content()
            if created == "properties":
                return JSONResponse(property_created_view(doc), status_code=201)
            return JSONResponse(self.network.view(created, doc), status_code=201)

        return endpoint

    def base_box(self, request: Request) -> Doc:
        box_id = request.path_params["id"]
        doc = self.network.get("boxes", box_id) or self.network.get("buildings", box_id)
        if doc is None:
            raise ApiError(404, "NOT_FOUND", f"no box or building with id {box_id}")
        return doc

    async def base_boxes(self, request: Request) -> Response:
        return await self._list(request, "boxes", "buildings", path="base-boxes")

    async def base_box_get(self, request: Request) -> Response:
        doc = self.base_box(request)
        collection = "buildings" if doc.get("kind") == "Building" else "boxes"
        return self._one(request, collection)

    async def base_box_topology(self, request: Request) -> Response:
        return JSONResponse(topology(self.network, self.base_box(request)))

    async def base_box_design(self, request: Request) -> Response:
        return JSONResponse(design(self.network, self.base_box(request)))

    def routes(self) -> list[BaseRoute]:
        w, write, net = self.wrap, self.write, self.network

        def route(path: str, method: str, handler: Handler) -> Route:
            return Route(path, w(handler), methods=[method])

        routes: list[BaseRoute] = [
            Route("/users/login", w(self.users_login, auth=False), methods=["POST"]),
            route("/authenticated", "GET", self.authenticated),
            route("/ftth-viability/radius", "GET", self.viability_radius),
            route("/properties/client/{code:path}", "GET", self.properties_by_client_code),
            # (each path's specific routes before its /{id} routes)
            route(
                "/properties",
                "POST",
                write(lambda _, b: create_property(net, b), created="properties"),
            ),
            route(
                "/properties/batch-update",
                "POST",
                write(lambda _, b: _none(batch_update_properties(net, b, self.polygon))),
            ),
            route("/properties/{id}", "PATCH", write(lambda i, b: update_property(net, i, b))),
            route("/properties/{id}", "DELETE", write(lambda i, _: delete_property(net, i))),
            route(
                "/ftth-clients/batch-update",
                "POST",
                write(lambda _, b: _none(batch_update_clients(net, b, self.polygon))),
            ),
            route("/ftth-clients/{id}", "PATCH", write(lambda i, b: update_client(net, i, b))),
            route("/ftth-clients/{id}", "DELETE", write(lambda i, _: delete_client(net, i))),
            route(
                "/prospects",
                "POST",
                write(lambda _, b: create_prospect(net, b), created="prospects"),
            ),
            route("/prospects/{id}", "PATCH", write(lambda i, b: update_prospect(net, i, b))),
            route("/prospects/{id}", "DELETE", write(lambda i, _: delete_prospect(net, i))),
            route(
                "/pendencies",
                "POST",
                write(lambda _, b: create_pendency(net, b), created="pendencies"),
            ),
            route("/pendencies/{id}", "PATCH", write(lambda i, b: update_pendency(net, i, b))),
            route("/pendencies/{id}", "DELETE", write(lambda i, _: delete_pendency(net, i))),
            route("/base-boxes", "GET", self.base_boxes),
            route("/base-boxes/{id}/topology", "GET", self.base_box_topology),
            route("/base-boxes/{id}/design", "GET", self.base_box_design),
            route("/base-boxes/{id}", "GET", self.base_box_get),
        ]
        for collection in READABLE:
            routes.extend(self.generic_routes(collection))
        return routes


def _none(_: object) -> None:
    return None


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _error(
            404, "NOT_FOUND", f"no such endpoint: {request.url.path} (see docs/ozmap-api.md)"
        )
    if status == 405:
        return _error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return _error(status, "HTTP_ERROR", str(detail))


def create_app(
    network: Network,
    token: str,
    *,
    latency: float = 0.0,
    error_rate: float = 0.0,
    seed: int | None = None,
    state_file: Path | None = None,
    login: str = DEFAULT_LOGIN,
    password: str = DEFAULT_PASSWORD,
    feasibility_shape: str = "full",
) -> Starlette:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its :class:`Sandbox`.

    Raises ``ValueError`` for an empty token or knobs out of range.
    """
    sandbox = Sandbox(
        network,
        token,
        latency=latency,
        error_rate=error_rate,
        seed=seed,
        state_file=state_file,
        login=login,
        password=password,
        feasibility_shape=feasibility_shape,
    )
    app = Starlette(
        routes=[Mount(API_PREFIX, routes=sandbox.routes())],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app
