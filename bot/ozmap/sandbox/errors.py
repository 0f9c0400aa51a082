"""The shapes of the sandbox's error answers.

OZmap documents its status codes but not the body of an error (docs/ozmap-api.md section 1), so
the sandbox can answer in several plausible shapes, and the client must read each. Every shape
carries the same message; only some carry the error code (``NO_FREE_PORT``...):

``full``     ``{"message": ..., "error": "NO_FREE_PORT", "status": 422}`` (the default)
``error``    ``{"error": "<the message>"}``, as many Express applications answer
``errors``   ``{"errors": [{"message": ..., "code": "NO_FREE_PORT"}]}``, validation style
``nested``   ``{"error": {"code": "NO_FREE_PORT", "message": ...}}``
``text``     the message as ``text/plain``
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

__all__ = ["ERROR_SHAPES", "reshape_error"]

ERROR_SHAPES = ("full", "error", "errors", "nested", "text")


def _body(response: Response) -> dict[str, Any] | None:
    try:
        body = json.loads(bytes(response.body))
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("message"), str) else None


def reshape_error(response: Response, shape: str) -> Response:
    """``response`` as ``shape`` says when it is one of the sandbox's own error answers (4xx/5xx
    with ``message``); any other response as it is."""
    if shape == "full" or response.status_code < 400:
        return response
    body = _body(response)
    if body is None:
        return response
    status, message, code = response.status_code, body["message"], body.get("error")
    if shape == "text":
        return PlainTextResponse(message, status_code=status)
    shaped: dict[str, Any]
    if shape == "error":
        shaped = {"error": message}
    elif shape == "errors":
        shaped = {"errors": [{"message": message, "code": code}]}
    else:
        shaped = {"error": {"code": code, "message": message}}
    return JSONResponse(shaped, status_code=status)
