"""The understanding port: what a customer's message means, as far as the conversation needs.

From a message's text, what the current state expects and the language hint, an
:class:`Understander` returns an :class:`Understanding`: the intent with a confidence, the
entities found (with their spans in the text) and the language the text is written in. The
engine and the flows decide what to do with it; an understander never sees the conversation.

The embedded default is trained from the labelled data kept in this package (Rasa-style YAML);
another adapter (a hosted or self-hosted language model) only has to implement
:meth:`Understander.understand`. The port is async for that reason: the embedded model answers
without awaiting anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Entity", "EntityKind", "Expect", "Option", "Understander", "Understanding"]


class Expect(StrEnum):
    """What the state the conversation is in asks the customer for. It biases reading (``"s"``
    is a yes where a yes or no is asked, ``"900"`` a house number where a number is) but never
    hides an intent that was clearly meant."""

    NOTHING = "nothing"  # a menu or a finished flow: any request
    ADDRESS = "address"  # a typed address, a CEP (with or without the number) or a pin
    NUMBER = "number"  # a house number (or "s/n")
    UNIT = "unit"  # apartment, block, house in a condominium
    NAME = "name"  # a person's name
    CPF = "cpf"
    YES_NO = "yes_no"
    OPTION = "option"  # one of the options offered (see ``options``)
    CODE = "code"  # a client or reservation code
    TEXT = "text"  # free text, e.g. what a person should know


class EntityKind(StrEnum):
    """The kinds of fact a message can carry, and how :attr:`Entity.value` is normalised."""

    CEP = "cep"  # 8 digits
    HOUSE_NUMBER = "house_number"  # digits (a letter suffix upper case, "900A"), or "S/N"
    UNIT = "unit"  # tidied, canonical words: "apto 302 bloco b" (from "Ap. 302, bl B")
    ADDRESS = "address"  # the street-and-number span, as written ("rua delminda silveira 900")
    PERSON_NAME = "person_name"  # proper case: "Maria Souza"
    CPF = "cpf"  # 11 digits, check digits valid
    CNPJ = "cnpj"  # 14 digits, check digits valid
    CODE = "code"  # a client or reservation code: "OZB-..." upper case, any other as typed
    YES_NO = "yes_no"  # "yes" or "no"
    OPTION = "option"  # the chosen option's payload
    PLAN = "plan"  # a speed in Mbit/s, digits: "300", "1000"


@dataclass(frozen=True, slots=True)
class Entity:
    """One fact found in the text. ``start``/``end`` delimit it in the text as given (``text[
    start:end]``), so a caller can tell what is left once the entities are taken out."""

    kind: EntityKind
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Option:
    """An option the bot offered in its last message (what a typed "2" or a label refers to)."""

    payload: str
    label: str


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message means. ``intent`` is None when nothing was recognised with enough
    confidence; ``ranking`` lists the best intents with their scores, best first. ``language``
    is a catalog language (``pt_BR``, ``en``, ``es``) when the text shows one, None when it is
    too short to tell (``"ok"``, ``"900"``)."""

    intent: str | None
    confidence: float
    entities: tuple[Entity, ...] = ()
    language: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()

    def first(self, kind: EntityKind) -> Entity | None:
        """The first entity of ``kind``, in the order of the text."""
        return next((e for e in self.entities if e.kind == kind), None)

    def value(self, kind: EntityKind) -> str | None:
        """The value of the first entity of ``kind``, or None."""
        entity = self.first(kind)
        return entity.value if entity is not None else None

    def all(self, kind: EntityKind) -> list[Entity]:
        return [e for e in self.entities if e.kind == kind]


class Understander(ABC):
    """Reads customers' messages. Implementations must be safe to call concurrently and must
    not raise for any text (an empty or unreadable one is ``Understanding(None, 0.0)``)."""

    @abstractmethod
    async def understand(
        self,
        text: str,
        *,
        expects: Expect = Expect.NOTHING,
        language: str | None = None,
        options: Sequence[Option] = (),
    ) -> Understanding:
        """What ``text`` means where the conversation ``expects`` something; ``language`` is
        the conversation's language so far (a hint, not a rule); ``options`` are what the bot
        just offered."""
