"""Understanding customers: the port (:mod:`bot.nlu.base`) and its embedded adapter
(:class:`bot.nlu.embedded.EmbeddedUnderstander`, imported from there: it loads scikit-learn)."""

from bot.nlu.base import Entity, EntityKind, Expect, Option, Understander, Understanding

__all__ = ["Entity", "EntityKind", "Expect", "Option", "Understander", "Understanding"]
