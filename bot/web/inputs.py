"""Reading what a request carries without letting its oddities turn into a 500.

``json.loads`` raises RecursionError (not ValueError) on deeply nested input, and it accepts
``"\\ud800"``, a lone surrogate no encoder can write: both went on to fail far from the route,
as 500s. :func:`load_json` answers both as a ValueError the routes already turn into a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from bot.messages import clean_text

__all__ = ["MAX_DEPTH", "load_json"]

#: deeper than any payload we accept (a Telegram update nests about 5 levels)
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
#: what a document's text must hold for its decoded strings to carry a NUL or a lone surrogate:
#: a ``\u0000`` or ``\ud800``-``\udfff`` escape, or a surrogate itself (the body is decoded with
#: ``surrogatepass``); texts without either skip the walk over every string, 25 us of a
#: Telegram update (an escaped backslash before a ``u`` only costs the walk)
_MAYBE_UNWRITABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\ud800-\udfff]")


def _depth_exceeded(body: bytes) -> bool:
    """Whether brackets outside strings nest deeper than :data:`MAX_DEPTH`: checked before
    parsing, in one pass over the bytes, so the parser never recurses far."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False  # the usual case, at C speed
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _clean(value: Any, refuse: bool) -> Any:
    if isinstance(value, str):
        if refuse and _SURROGATE.search(value):
            raise ValueError("text holds a lone surrogate (broken UTF-16)")
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(item, refuse) for item in value]
    if isinstance(value, dict):
        return {_clean(k, refuse): _clean(v, refuse) for k, v in value.items()}
    return value


def load_json(body: bytes, *, surrogates: Literal["replace", "refuse"] = "replace") -> Any:
    """The JSON document in ``body``, every string in it passed through
    :func:`bot.messages.clean_text` (NULs dropped, lone surrogates replaced by U+FFFD, or, with
    ``surrogates="refuse"``, a ValueError). ValueError (``json.JSONDecodeError`` among them)
    for a body that is not JSON, not UTF-8, or nested deeper than :data:`MAX_DEPTH`."""
    if _depth_exceeded(body):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    # decoded here, not by json.loads, which also takes UTF-16 and UTF-32: the check below reads
    # the text (a UnicodeDecodeError is a ValueError); a UTF-8 BOM is allowed, as json.loads did
    text = body.decode("utf-8-sig", "surrogatepass")
    try:
        data = json.loads(text)
    except RecursionError:  # unreachable after the depth check; kept as the last word
        raise ValueError("JSON nested too deeply") from None
    if _MAYBE_UNWRITABLE.search(text) is None:
        return data
    return _clean(data, surrogates == "refuse")
