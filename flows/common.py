"""What the flows share: reading a yes or a no, reading a client or reservation code, and the
two ways out every flow offers (a person, the menu).

A yes or no comes from a tapped button, from what the understander found (``"blz"``, ``"pode
reservar pfv"``, ``"👍"``: :attr:`Turn.understanding`), or, without an understander, from a short
list of words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.engine import Turn, normalize
from bot.messages import Button
from bot.nlu.answers import confused, doubts
from bot.nlu.base import EntityKind

__all__ = [
    "CODE_PREFIX",
    "NO",
    "WORD",
    "YES",
    "answer",
    "code_buttons",
    "human_and_menu",
    "looks_like_code",
    "menu_button",
    "offer_places",
    "typed_codes",
]

# Without an understander: the words a customer answers yes or no with (normalised).
YES = frozenset(
    {
        "sim", "s", "ss", "isso", "isso mesmo", "correto", "certo", "ok", "confirmo", "pode",
        "pode sim", "claro", "exato", "e esse", "sim e esse", "reservar", "quero",
        "yes", "y", "yep", "right", "correct", "si", "claro que si", "correcto",
    }
)  # fmt: skip
NO = frozenset(
    {"nao", "n", "errado", "incorreto", "nao e esse", "nenhum", "no", "nope", "wrong", "ninguno"}
)

#: how many words may follow a leading "não" for it to be the answer
_SHORT = 2
#: button payloads that carry a code ("code:OZB-7KQ2MX")
CODE_PREFIX = "code:"
#: a word as a code is spelled (checked further with :func:`looks_like_code`)
WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-|./]{2,}")


def answer(turn: Turn) -> str | None:
    """``"yes"``, ``"no"`` or a button payload: a tapped (or typed-number) button first, then a
    yes or no the understander found in the message, then the word lists."""
    if turn.button is not None:
        return turn.button
    understood = turn.understanding
    if understood is not None:
        said = understood.value(EntityKind.YES_NO)
        if said is not None:
            return said
        if "?" in turn.text or confused(turn.text):
            return None  # "se eu falar sim ja reserva?": a yes asked about is none said
        if understood.intent == "affirm":
            # "pode ser, mas nao tenho certeza ainda": a yes doubted is none
            return None if doubts(turn.text) else "yes"
        if understood.intent == "deny":
            return "no"
    said = normalize(turn.text)
    if said in YES:
        return "yes"
    if said in NO:
        return "no"
    first, *rest = said.split() or [""]
    if first in NO and len(rest) <= _SHORT:
        return "no"  # "nao, deixa", "não obrigado"
    return None


def looks_like_code(word: str) -> bool:
    """A code has a digit or a joining mark in it ("OZB-7KQ2MX", "cliente_42"); "internet" or
    "caiu" are words."""
    return any(ch.isdigit() or ch in "-_|" for ch in word)


def typed_codes(turn: Turn) -> list[str]:
    """The codes the customer chose (a ``code:`` button) or typed, in the order of the text."""
    if turn.button is not None and turn.button.startswith(CODE_PREFIX):
        return [turn.button.removeprefix(CODE_PREFIX)]
    found: list[str] = []
    if turn.understanding is not None:
        found = [e.value for e in turn.understanding.all(EntityKind.CODE)]
    found += [w for w in WORD.findall(turn.text) if looks_like_code(w)]
    return list(dict.fromkeys(found))


def code_buttons(codes: list[str]) -> list[Button]:
    return [Button(CODE_PREFIX + code, code) for code in codes]


def human_and_menu(turn: Turn) -> tuple[Button, Button]:
    """A person (the handoff flow) and the menu, as buttons."""
    t = turn.t
    return (
        Button("intent:handoff", t("menu.option.human")),
        Button("intent:menu", t("menu.option.menu")),
    )


def menu_button(turn: Turn) -> Button:
    return Button("intent:menu", turn.t("menu.option.menu"))


def offer_places(turn: Turn, candidates: Sequence[Mapping[str, Any]], none_label: str) -> None:
    """Ask which of the addresses found is the customer's: one ``place:<i>`` button per
    candidate, a "none of these" button (``none``) and the location button."""
    turn.say(
        turn.t("geo.address_choose"),
        *(Button(f"place:{i}", c["address"]) for i, c in enumerate(candidates)),
        Button("none", none_label),
        ask_location=True,
    )
