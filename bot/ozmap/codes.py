"""Reservation codes an ERP can match: OZmap integrators identify a client by the ERP's code
(the ``code`` of the FTTH client), so the provider chooses how the bot makes it.

A template is text with fields in braces (``str.format`` syntax)::

    OZB-{random}               the default: OZB- and 6 characters no one misreads (no 0/O, 1/I)
    ISP-{date:%Y%m%d}-{seq:05d} ISP-20260310-00042: the date, then a durable sequence
    {cpf}-{seq}                 12345678909-7: the CPF's digits (``{cpf:4}``: the last four)

Fields: ``random`` (``{random:8}``: that many characters), ``date`` (a ``strftime`` format,
``%Y%m%d`` by default, in the provider's time zone), ``seq`` (a counter kept in the store, never
handed out twice; an int format spec) and ``cpf``. OZmap client codes must be unique, so a
template needs ``{random}`` or ``{seq}``; ``{cpf}`` only where the bot asks for the CPF.
A code with no CPF to fill in (a prospect) drops the field and the separator it leaves doubled.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.errors import ConfigError

__all__ = ["DEFAULT_TEMPLATE", "CodeTemplate", "Counter"]

DEFAULT_TEMPLATE = "OZB-{random}"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
FIELDS = frozenset({"random", "date", "seq", "cpf"})
# a code travels in a URL path segment and in ERPs: keep it to what both take as it is (the
# tutorials' own codes have a "|")
_SAFE = re.compile(r"[A-Za-z0-9._|-]*")
_DOUBLED = re.compile(r"([-_.|])\1+")

#: the next value of a named durable counter (the store's ``next_value``)
Counter = Callable[[str], Awaitable[int]]


@dataclass(frozen=True)
class _Field:
    name: str
    spec: str


class CodeTemplate:
    """A parsed template; :meth:`render` makes one code. Raises ConfigError on a bad template
    (naming ``setting``, the variable it came from)."""

    def __init__(
        self,
        template: str = DEFAULT_TEMPLATE,
        *,
        counter: Counter | None = None,
        cpf_known: bool = False,
        setting: str = "OZMAP_CODE_TEMPLATE",
    ) -> None:
        self.template = template
        self._counter = counter
        self._parts: list[str | _Field] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ConfigError(f"{setting}={template!r} is not a template ({exc})") from None
        for literal, name, spec, conversion in parsed:
            if literal:
                self._parts.append(literal)
            if name is None:
                continue
            if name not in FIELDS or conversion:
                raise ConfigError(
                    f"{setting}={template!r}: unknown field {{{name}}}; use "
                    "{random}, {date}, {seq} or {cpf}"
                )
            self._parts.append(_Field(name, spec or ""))
        names = {part.name for part in self._parts if isinstance(part, _Field)}
        if not names & {"random", "seq"}:
            raise ConfigError(
                f"{setting}={template!r}: OZmap client codes must be unique; add {{seq}} or "
                "{random}"
            )
        if "seq" in names and counter is None:
            raise ConfigError(f"{setting}={template!r}: {{seq}} needs the bot's store")
        if "cpf" in names and not cpf_known:
            raise ConfigError(
                f"{setting}={template!r} uses {{cpf}}: set OZBOT_REQUIRE_CPF=true so the bot "
                "asks for it"
            )
        literal_text = "".join(part for part in self._parts if isinstance(part, str))
        if not _SAFE.fullmatch(literal_text):
            raise ConfigError(
                f"{setting}={template!r}: use letters, digits and - _ . | outside the fields"
            )
        for part in self._parts:
            if isinstance(part, _Field):
                self._check_spec(part, setting)

    def _check_spec(self, part: _Field, setting: str) -> None:
        try:
            if part.name == "random" and part.spec and not 4 <= int(part.spec) <= 32:
                raise ValueError("{random:N} takes N from 4 to 32")
            if part.name == "cpf" and part.spec and not 1 <= int(part.spec) <= 11:
                raise ValueError("{cpf:N} takes N from 1 to 11")
            if part.name == "seq":
                format(1, part.spec)
            if part.name == "date":
                datetime(2026, 1, 1).strftime(part.spec or "%Y%m%d")
        except ValueError as exc:
            raise ConfigError(f"{setting}={self.template!r}: {exc}") from None

    @property
    def uses_sequence(self) -> bool:
        return any(isinstance(p, _Field) and p.name == "seq" for p in self._parts)

    async def render(self, now: datetime, cpf: str | None = None) -> str:
        """A new code. ``now`` is the local time of the provider (for ``{date}``); ``cpf`` the
        11 digits, or None when the bot has none (the field is then left out)."""
        out: list[str] = []
        dropped = False
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
            elif part.name == "random":
                size = int(part.spec) if part.spec else 6
                out.append("".join(secrets.choice(ALPHABET) for _ in range(size)))
            elif part.name == "date":
                out.append(now.strftime(part.spec or "%Y%m%d"))
            elif part.name == "seq":
                assert self._counter is not None  # checked in __init__
                out.append(format(await self._counter("reservation-code"), part.spec))
            else:
                digits = "".join(ch for ch in cpf or "" if ch.isdigit())
                dropped = dropped or not digits
                out.append(digits[-int(part.spec) :] if part.spec and digits else digits)
        code = "".join(out)
        if dropped:
            code = _DOUBLED.sub(r"\1", code).strip("-_.|")
        return code
