"""Splitting long replies into the pieces a messenger accepts (Telegram 4,096, Twilio 1,600)."""

from __future__ import annotations

__all__ = ["numbered", "split_text"]


def split_text(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, preferring to cut after a
    paragraph, then a line, then a word; a word longer than ``limit`` is cut where it must.
    Only the whitespace at a cut is dropped: the words come out whole and in order. An empty
    text is one empty piece."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > 0:
                cut = at
                break
        if cut <= 0:
            pieces.append(window)
            rest = rest[limit:]
            continue
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    pieces.append(rest)
    return [piece for piece in pieces if piece] or [""]


def numbered(text: str, labels: list[str], intro: str | None = None) -> str:
    """A reply's options as text, for messengers without buttons: ``intro`` (e.g. "Reply with
    the number of an option:") then one numbered line per option. The customer answers with the
    number; the engine's routing maps it back to the option."""
    if not labels:
        return text
    options = "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    head = f"{text}\n\n{intro}" if intro else text
    return f"{head}\n{options}"
