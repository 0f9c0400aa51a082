"""Text as the understander reads it: made safe, then folded for the models.

:func:`clean` makes any string safe to read (lone surrogates, NUL and other control characters
become spaces) *without changing its length*, so the spans of entities found in the cleaned
text are spans of the text as given. :func:`fold` is the form the classifiers see: lower case,
no accents, digits as ``0`` (which number it is does not change what a message means, its shape
does), letters repeated for emphasis cut to two ("oiiii" → "oii", "simmm" → "simm"), "?" kept as
a word of its own (questions are digressions), emoji kept, other punctuation dropped.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["MAX_CHARS", "clean", "fold", "squeeze", "words"]

#: what is read of a message; the rest of a 10 kB paste changes nothing about what it asks for
MAX_CHARS = 1000

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_REPEATS = re.compile(r"(\D)\1{2,}")
_DIGITS = re.compile(r"\d")
_WORD = re.compile(r"\w+|\?|[^\w\s]", re.UNICODE)
# variation selectors, skin tones and the zero-width joiner only dress up an emoji
_EMOJI_DRESS = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")


def clean(text: str) -> str:
    """``text`` with what cannot be read (lone surrogates, NUL, control characters) as spaces,
    cut to :data:`MAX_CHARS`. Same characters at the same offsets otherwise."""
    return _UNSAFE.sub(" ", text[:MAX_CHARS])


def _symbol(ch: str) -> bool:
    return unicodedata.category(ch) in {"So", "Sk", "Sm"}


def fold(text: str, *, digits: bool = False) -> str:
    """The form the classifiers read (see the module docstring). ``"Oiii, tá CAINDO a net?? 😡"``
    → ``"oii ta caindo a net ? 😡"``. With ``digits`` the digits are kept as they are (to
    compare with option labels: "300 Mega" is not "500 Mega")."""
    return _fold(text, digits)


@functools.lru_cache(maxsize=4096)
def _fold(text: str, digits: bool) -> str:
    # kept: reading one message folds the same pieces several times (the message, its words,
    # the entities' text), and the short words and answers come back message after message
    decomposed = unicodedata.normalize("NFKD", _EMOJI_DRESS.sub("", text.casefold()))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = _REPEATS.sub(r"\1\1", bare if digits else _DIGITS.sub("0", bare))
    out: list[str] = []
    for piece in _WORD.findall(bare):
        if piece == "?" or piece[0].isalnum() or piece[0] == "_" or _symbol(piece):
            out.append(piece)
    return " ".join(out)


def squeeze(text: str) -> str:
    """A folded text with every repeated letter cut to one and repeated words to one, for
    matching short answers against a word list: "simmm" → "sim", "nao nao" → "nao", "isso" →
    "iso" (the list is squeezed the same way)."""
    letters = re.sub(r"(\D)\1+", r"\1", text)
    result: list[str] = []
    for word in letters.split():
        if not result or result[-1] != word:
            result.append(word)
    return " ".join(result)


def words(folded: str) -> list[str]:
    """The words of a folded text, without "?" and emoji."""
    return [w for w in folded.split() if w[0].isalnum()]
