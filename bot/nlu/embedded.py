"""The embedded understander: the classifiers of :mod:`bot.nlu.model`, the entity rules of
:mod:`bot.nlu.entities` and the short-answer readers of :mod:`bot.nlu.answers`, on the CPU,
ready at start-up without a download.

How a message is read:

1. the classifiers score every intent and language on the folded text;
2. the rules find the entities, reading what the state ``expects`` ("900" is a house number
   where a number is asked, a unit where a unit is, an option where options were offered);
3. ``expects`` raises the intents that answer it (affirm and deny where a yes or no is asked,
   inform where data is) by a factor: enough to settle a doubt, not to hide a clear request
   ("mas quanto custa a mensalidade?" at the name prompt stays ``ask_price``);
4. a message that *is* an answer is one: a yes or no word ("blz", "👍", "s" where asked), an
   option, a lone number where one is asked, a name where a name is asked and nothing else was
   clearly meant, a message made only of data ("cep 88025-200");
5. below :data:`MIN_CONFIDENCE`, the intent is None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence

from bot.nlu import facts
from bot.nlu.answers import looks_like_full_name, looks_like_name, proper_case, reassurances
from bot.nlu.base import Entity, EntityKind, Expect, Option, Understander, Understanding
from bot.nlu.data import ExtraExamples
from bot.nlu.model import ExtraKey, Model, trained
from bot.nlu.streets import StreetIndex
from bot.nlu.text import clean, fold, words

__all__ = ["MIN_CONFIDENCE", "EmbeddedUnderstander", "freeze_extra"]

K = EntityKind

#: below this score the intent is None (the held-out report shows how often that happens)
MIN_CONFIDENCE = 0.3
#: a score this high means the customer clearly meant that intent
CLEAR = 0.5
#: confidence of an intent settled by a rule (a yes word, an option, a lone number)
RULED = 0.95
RANKING = 5

_DATA = {Expect.ADDRESS, Expect.NUMBER, Expect.UNIT, Expect.NAME, Expect.CPF, Expect.CODE}
_BIAS: dict[Expect, dict[str, float]] = {
    Expect.YES_NO: {"affirm": 2.0, "deny": 2.0, "correct": 1.5},
    Expect.OPTION: {"inform": 2.0},
    Expect.TEXT: {"inform": 2.0},
    **{e: {"inform": 2.0, "correct": 1.5} for e in _DATA},
}
# Words that carry no request around data: "meu cep é 88025-200", "my name is ..."
_FILLER = frozenset(
    [
        "meu",
        "minha",
        "o",
        "a",
        "os",
        "as",
        "e",
        "é",
        "eh",
        "de",
        "da",
        "do",
        "na",
        "em",
        "fica",
        "moro",
        "cep",
        "numero",
        "n",
        "nº",
        "endereco",
        "endereço",
        "rua",
        "cpf",
        "cnpj",
        "codigo",
        "código",
        "cliente",
        "nome",
        "aqui",
        "sou",
        "me",
        "chamo",
        "ta",
        "tá",
        "seria",
        "apto",
        "bloco",
        "casa",
        "my",
        "is",
        "the",
        "it",
        "its",
        "at",
        "i",
        "live",
        "zip",
        "code",
        "number",
        "name",
        "mi",
        "es",
        "el",
        "la",
        "vivo",
        "soy",
        "numero",
        "direccion",
    ]
)


# a word with the punctuation glued to it left out ("rocha," is "rocha")
_WORD = re.compile(r"[^\s,;:.!?()]+(?:[.'’\-][^\s,;:.!?()]+)*")


def freeze_extra(extra: ExtraExamples | None) -> ExtraKey:
    """``extra`` as a hashable key for the per-process model cache, in a stable order."""
    return tuple(
        (intent, language, tuple(texts))
        for intent, per_language in sorted((extra or {}).items())
        for language, texts in sorted(per_language.items())
    )


class EmbeddedUnderstander(Understander):
    """Reads messages with the model trained on the shipped examples plus ``extra_examples``
    (``{intent: {language: [example, ...]}}``, e.g. a provider's FAQ entries as ``faq_<id>``).
    ``known_streets`` are street names to find in text without a street type (the gazetteer's).
    Training runs once per process for each set of extra examples."""

    def __init__(
        self,
        *,
        known_streets: Sequence[str] = (),
        extra_examples: ExtraExamples | None = None,
        model: Model | None = None,
    ) -> None:
        self.model = model if model is not None else trained(freeze_extra(extra_examples))
        self._streets = StreetIndex(known_streets)

    async def understand(
        self,
        text: str,
        *,
        expects: Expect = Expect.NOTHING,
        language: str | None = None,
        options: Sequence[Option] = (),
    ) -> Understanding:
        return self.read(text, expects=expects, language=language, options=options)

    def read(
        self,
        text: str,
        *,
        expects: Expect = Expect.NOTHING,
        language: str | None = None,
        options: Sequence[Option] = (),
    ) -> Understanding:
        """What :meth:`understand` answers, called without an event loop (CLI, benchmarks)."""
        cleaned = clean(text if isinstance(text, str) else "")
        folded = fold(cleaned)
        if not folded or _only_punctuation(cleaned):  # "???", "...": nothing to act on
            return Understanding(None, 0.0)
        common = self.model.common_words
        found = facts.find(
            cleaned, expects=expects, options=options, streets=self._streets, common=common
        )
        intents, languages = self.model.scores(fold(facts.mask(cleaned, found)))
        for intent, factor in _BIAS.get(expects, {}).items():
            if intent in intents:
                intents[intent] *= factor
        total = sum(intents.values())
        intents = {k: v / total for k, v in intents.items()}
        found += self._name(cleaned, expects, intents, found)
        intents = self._answers(cleaned, expects, intents, found)
        ranking = sorted(intents.items(), key=lambda kv: -kv[1])[:RANKING]
        best, score = ranking[0]
        # a name says nothing of the language, asked for or not
        rest = "" if best == "inform" and looks_like_name(cleaned, common) else cleaned
        return Understanding(
            best if score >= MIN_CONFIDENCE else None,
            round(score, 4),
            tuple(sorted(found, key=lambda e: (e.start, e.end))),
            _language(
                fold(_blank(rest, [e for e in found if e.kind in facts.MASKED])),
                languages,
                language,
            ),
            tuple((k, round(v, 4)) for k, v in ranking),
        )

    def _name(
        self, text: str, expects: Expect, intents: Mapping[str, float], found: Sequence[Entity]
    ) -> list[Entity]:
        """The message as a name, where a name is asked, it looks like one and nothing else was
        clearly meant; other data beside it are set aside ("marcos rocha, cpf 529.982.247-25")."""
        if expects is not Expect.NAME or any(e.kind is K.PERSON_NAME for e in found):
            return []
        if _clearly_other(intents, ("inform", "correct")) and not self._full_name(text):
            return []
        span = _rest(text, found)
        if span is None:
            return []
        piece = text[span[0] : span[1]]
        common = self.model.common_words
        if not looks_like_name(piece, common) and not looks_like_full_name(piece, common):
            return []
        start, end = span
        return [Entity(K.PERSON_NAME, proper_case(text[start:end]), start, end)]

    def _full_name(self, text: str) -> bool:
        """A first name and a surname, none of their words one customers use for anything else
        ("simone batista", "otavio mesquita"): what the classifier makes of them is only how
        their letters resemble other words' ("sim", "quit"), so where a name is asked they are
        the name, however it scored them."""
        return looks_like_full_name(text, self.model.common_words)

    def _answers(
        self, text: str, expects: Expect, intents: dict[str, float], found: list[Entity]
    ) -> dict[str, float]:
        """The intents once the rules had their say (see the module docstring, step 4)."""
        whole = text.strip(" \t\n.,!;:")
        entity_of = {e.kind: e for e in found}

        def settle(intent: str) -> dict[str, float]:
            if intent not in intents:
                return intents
            rest = 1.0 - RULED
            others = sum(v for k, v in intents.items() if k != intent) or 1.0
            return {k: (RULED if k == intent else v / others * rest) for k, v in intents.items()}

        answer = entity_of.get(K.YES_NO)
        if answer is not None:
            # the answer is the whole message, but for emoji around it ("simm 👍") and a
            # reassurance ("sim, nao tenho duvida", "yes, no problem": no outage, no refusal)
            spans = [(answer.start, answer.end), *reassurances(text)]
            rest = "".join(
                " " if any(a <= i < b for a, b in spans) else ch for i, ch in enumerate(text)
            ).strip(" \t\n.,!;:")
            if not rest or _only_symbols(rest):
                return settle("affirm" if answer.value == "yes" else "deny")
        chosen = entity_of.get(K.OPTION)
        if chosen is not None and not _clearly_other(intents, ("inform", "affirm", "deny")):
            if answer is not None and expects is Expect.YES_NO:  # "sim reservar", "agora nao"
                return settle("affirm" if answer.value == "yes" else "deny")
            return settle("inform")
        if (
            K.PERSON_NAME in entity_of
            and expects is Expect.NAME
            and (not _clearly_other(intents, ("inform", "correct")) or self._full_name(text))
        ):
            return settle("inform") if _only_data(text, found) else intents
        # emoji alone that the model does not know ("🤔", "🙃"): small talk
        if _only_symbols(whole) and not _clearly_other(intents, ()):
            return settle("chitchat")
        # nothing but data: no word of a correction ("na verdade", "errei") nor of a request
        if found and _only_data(text, found):
            return settle("inform")
        # a name nobody asked for: data all the same when the model leans that way too, or
        # when it reads nothing clearly and there is a first name and a surname ("elisa
        # matos"; one unknown word alone is rather slang: "caramba", "rofl")
        best = max(intents, key=intents.__getitem__)
        if (
            best == "inform" or (intents[best] < CLEAR and len(text.split()) >= 2)
        ) and looks_like_name(text, self.model.common_words):
            return settle("inform")
        return intents


def _clearly_other(intents: Mapping[str, float], answers: Collection[str]) -> bool:
    best = max(intents, key=intents.__getitem__)
    return best not in answers and intents[best] >= CLEAR


def _only_punctuation(text: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZ" or ch.isspace() for ch in text)


def _only_symbols(text: str) -> bool:
    return bool(text) and all(unicodedata.category(ch)[0] in "SMC" or ch.isspace() for ch in text)


def _rest(text: str, found: Sequence[Entity]) -> tuple[int, int] | None:
    """The span of the one piece of ``text`` left once the entities and the filler words and
    punctuation around them are taken out, or None when none or several are left."""
    kept = []
    for start, end in facts.between(text, found):
        tokens = [(m.start() + start, m.end() + start) for m in _WORD.finditer(text[start:end])]
        while tokens and fold(text[slice(*tokens[0])]) in _FILLER:
            tokens.pop(0)
        while tokens and fold(text[slice(*tokens[-1])]) in _FILLER:
            tokens.pop()
        if tokens:
            kept.append((tokens[0][0], tokens[-1][1]))
    return kept[0] if len(kept) == 1 else None


def _blank(text: str, found: Sequence[Entity]) -> str:
    """``text`` with the entities' spans blanked: what is left to tell the language by (a name,
    a street or a code says nothing of it: "elisa matos" is no Spanish)."""
    rest = list(text)
    for e in found:
        rest[e.start : e.end] = " " * (e.end - e.start)
    return "".join(rest)


def _only_data(text: str, found: Sequence[Entity]) -> bool:
    """Whether nothing but filler words is left of ``text`` once the entities are taken out."""
    return all(w in _FILLER for w in words(fold(_blank(text, found))))


def _language(folded: str, scores: Mapping[str, float], hint: str | None) -> str | None:
    """The language ``folded`` is written in, or None when it is too short or unsure to tell;
    ``hint`` (the conversation's language) wins a near tie and settles short texts."""
    letters = sum(ch.isalpha() for ch in folded)
    if letters < 3:
        return None
    best = max(scores, key=scores.__getitem__)
    short = len(words(folded)) <= 2
    if hint in scores:
        if best == hint or scores[best] < (0.85 if short else 0.6):
            return hint
        return best
    return best if scores[best] >= (0.75 if short else 0.5) else None
