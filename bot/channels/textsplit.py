"""Shaping replies into the messages a messenger accepts: consecutive replies joined into one
(:func:`merge_replies`), long texts split (Telegram 4,096, Twilio 1,600)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Reply

__all__ = ["merge_replies", "numbered", "split_text"]


def merge_replies(replies: Sequence[Reply], limit: int) -> list[Reply]:
    """``replies`` with each plain one (no buttons, no location request) joined to the next,
    a blank line between them, while the joined text stays within ``limit`` characters.

    A step often says something, then asks ("Good news: the fibre reaches you!" then "What is
    your full name?"): one message reads as well as two, and costs one request to the
    messenger instead of two. A reply carrying buttons or a location request ends a message,
    since what it offers belongs under its own text."""
    merged: list[Reply] = []
    for reply in replies:
        last = merged[-1] if merged else None
        if (
            last is not None
            and not last.buttons
            and not last.ask_location
            and len(last.text) + 2 + len(reply.text) <= limit
        ):
            merged[-1] = Reply(
                f"{last.text}\n\n{reply.text}",
                buttons=reply.buttons,
                ask_location=reply.ask_location,
            )
        else:
            merged.append(reply)
    return merged


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
