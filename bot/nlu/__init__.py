"""Understanding customers: the port (:mod:`bot.nlu.base`) and its embedded adapter."""

from bot.nlu.base import Entity, EntityKind, Expect, Option, Understander, Understanding

__all__ = ["Entity", "EntityKind", "Expect", "Option", "Understander", "Understanding"]
