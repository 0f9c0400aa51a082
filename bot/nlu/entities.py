"""Entities that rules find exactly: CEP, CPF, CNPJ, codes, units, house numbers, addresses,
plans. Pure functions over the text as given; every entity carries its span in it.

Names, yes/no and chosen options live in :mod:`bot.nlu.answers` (they depend on what the bot
asked). The CPF check is :mod:`bot.validation`'s and the CEP and CPF patterns are its patterns, so
the bot reads a CEP or a CPF the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from bot.nlu.base import Entity, EntityKind
from bot.validation import NO_NUMBER, fold, normalize_cpf

__all__ = [
    "STREET_TYPES",
    "addresses",
    "ceps",
    "changes_plan",
    "cnpjs",
    "codes",
    "cpfs",
    "free_numbers",
    "house_numbers",
    "looks_like_unit",
    "overlaps",
    "plans",
    "put_off",
    "unit_kinds",
    "units",
    "units_after",
]

K = EntityKind

# As bot.validation reads them (digits not glued to other digits, dots or dashes, so a CEP is
# not found inside a CPF or a phone number); here with spans.
_CEP = re.compile(r"(?<![\d.\-])(\d{2})\.?(\d{3})[-\s]?(\d{3})(?![\d]|[.\-]\d)")
_CPF = re.compile(r"(?<![\d.\-])(\d{3})\.?(\d{3})\.?(\d{3})[-\s]?(\d{2})(?![\d]|[.\-]\d)")

_CNPJ = re.compile(r"(?<![\d.\-/])(\d{2})\.?(\d{3})\.?(\d{3})/?(\d{4})-?(\d{2})(?![\d]|[.\-/]\d)")
# OZmap client codes this bot makes ("OZB-7K2M9Q"), and any code-like word: letters and digits
# joined by "_", "-" or "|" ("reservation_123", "cliente_42", "123|123"), as flows/outage.py's
# WORD and looks_like_code accept them.
_OZB_CODE = re.compile(r"\bozb-[0-9a-z]{4,10}\b", re.IGNORECASE)
_CODE_WORD = re.compile(r"(?<![\w\-|./])[0-9A-Za-z][0-9A-Za-z_\-|./]{2,}")
_JOINED = re.compile(r"^[0-9A-Za-z]+(?:[_|\-][0-9A-Za-z]+)+$")
# what introduces a code: "meu codigo é", "código de cliente:", "my code is", "mi codigo es"
_CODE_MARKER = re.compile(
    r"\b(?:c[oó]d(?:igo)?|code|reserva|reservation)(?:\s+(?:de|do|da|of)\s+"
    r"(?:cliente|reserva|client|customer|reservation))?\s*(?:[eé]|eh|is|es|:|=)?\s*$",
    re.IGNORECASE,
)

# Unit parts: "apto 302", "bloco b", "casa 3", "torre 2", "sala 5", "lote 4", "quadra c".
_UNIT_WORDS = {
    "apto": "apto", "apt": "apto", "ap": "apto", "apartamento": "apto", "apart": "apto",
    "depto": "apto", "dpto": "apto", "departamento": "apto", "apartment": "apto",
    "bloco": "bloco", "bl": "bloco", "bloque": "bloco", "block": "bloco",
    "casa": "casa", "cs": "casa", "house": "casa",
    "torre": "torre", "tower": "torre",
    "sala": "sala", "sl": "sala", "room": "sala",
    "lote": "lote", "lt": "lote",
    "quadra": "quadra", "qd": "quadra",
    "andar": "andar", "floor": "andar",
}  # fmt: skip
_LETTER_UNITS = frozenset({"bloco", "torre", "quadra", "lote"})
_UNIT_PART = re.compile(
    r"\b(" + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True)) + r")\b\.?\s*"
    # "o bloco é b", "the apartment is 302", "bloque: c"
    r"((?:é|eh|es|is|:)\s*)?"
    r"(?:n[º°o]?\.?\s*)?(\d{1,5}(?:-?[a-z])?\b|[a-z]\b)",
    re.IGNORECASE,
)
# what may stand between the parts of one unit: "apto 302, bloco b", "casa 7 da quadra b"
_PLACES = r"fundos|frente|t[eé]rreo|cobertura|sobreloja|loja|kitnet|penthouse|[aá]tico"
# a unit alone where one is asked: "302", "é o 302", "eh a 12b", "cobertura", "no terreo"
_BARE_UNIT = re.compile(
    r"\s*(?:(?:[eé]h?|e|fica|moro|sou)\s+)?(?:(?:o|a|no|na|do|da)\s+)?"
    r"(\d{1,5}[a-z]?|" + _PLACES + r")\s*[.!]?\s*",
    re.IGNORECASE,
)
_UNIT_WORD = re.compile(
    r"\b(?:" + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True)) + "|" + _PLACES + r")\b",
    re.IGNORECASE,
)
_UNIT_JOIN = re.compile(r"^[\s,/\-]*(?:(?:d[aoe]|n[ao]|e)\s+)?$", re.IGNORECASE)
# where on the lot a unit is, said after it: "casa 2 fundos", "casa 3 - frente", "apto 1 terreo"
_UNIT_WHERE = re.compile(
    r"[\s,\-]*(?:d[oa]s?\s+|de\s+)?(fundos|frente|t[eé]rreo|cima|baixo)\b", re.IGNORECASE
)

STREET_TYPES = (
    "rua", "r", "avenida", "av", "avda", "travessa", "tv", "trav", "alameda", "al", "rodovia",
    "rod", "estrada", "estr", "praca", "praça", "pca", "servidao", "servidão", "srv", "largo",
    "beco", "viela", "calle", "street",
)  # fmt: skip
# A street's name runs on over words and particles until one of these (or punctuation).
_STREET_STOP = frozenset(
    [
        "e", "cep", "bairro", "perto", "proximo", "próximo", "esquina", "quero", "queria", "pfv",
        "por", "tem", "vcs", "voces", "vocês", "pra", "para", "com", "que", "se", "mas", "ou",
        "obrigado", "obrigada", "porque", "pq", "ai", "aí", "la", "lá", "aqui", "n", "nº", "n°",
        "no", "numero", "número", "nro", "num", "apto", "apt", "ap", "apartamento", "bloco", "bl",
        "casa", "torre", "sala", "fundos", "km", "sn", "tel", "telefone", "cpf", "meu", "minha",
        "fica", "moro", "centro",
        # what is said of a street, not its name: "la calle correcta es rua frei caneca"
        "es", "is", "é", "eh", "correcta", "correcto", "correta", "correto", "certa", "certo",
        "correct", "right", "nueva", "nova", "new", "vieja", "velha", "old", "errada", "errado",
        "wrong", "equivocada", "mal",
        # what is said of the street's service: "toda la calle esta sin internet", "a rua toda
        # ta sem net", "the street has no internet"
        "esta", "está", "estao", "estão", "ta", "tá", "sin", "sem", "nao", "não", "tiene",
        "anda", "caiu", "cayo", "cayó", "ficou", "has", "have", "without", "not",
    ]
)  # fmt: skip
_STREET_HEAD = re.compile(
    r"\b(" + "|".join(sorted(STREET_TYPES, key=len, reverse=True)) + r")\b\.?\s+",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
# "r" for "rua" without its dot: only with a house number ("r u open now" is English texting)
#: street types that are also common words, an address only with a number: "r u open now?" is
#: texting, "ir al menu principal", "al inicio porfa" Spanish ("al santos 120" is Alameda)
_BARE_R = re.compile(r"(?:r|al)\s+", re.IGNORECASE)
_MAX_STREET_WORDS = 7
_NUMBER_LETTER = re.compile(r"\d{1,6}[a-z]")
# the rest of a number written with a thousands dot ("1.200"), not of a decimal ("1.5")
_THOUSANDS = re.compile(r"\.\d{3}(?![\d.,]\d|\d)")
_HOUSE_LETTER = re.compile(r"(?:\s*-\s*[a-z](?![\w])|\s[a-z](?=\s*[.,;!]?\s*$))", re.I)
# "900-A": a house number and its letter, no code (unless a code is asked)
_NUMBER_DASH_LETTER = re.compile(r"\d{1,6}-[a-z]", re.IGNORECASE)

# a letter after the number is part of it glued ("900a") or alone at the end ("900 b"), never
# the next word ("é 902 e nao 900")
_SUFFIX = r"(?:([a-z])(?![\w])|\s([a-z])(?=\s*[.,;!]?\s*$))?"
_NUMBER_MARKED = re.compile(
    r"(?:\bn(?:[º°o]|\.|ro\.?|um\.?|umero|úmero)|\bnumber|\bnum|#)\s*:?\s*"
    r"(\d{1,3}\.\d{3}(?![\d.])|\d{1,6})" + _SUFFIX,
    re.IGNORECASE,
)
_NO_NUMBER = re.compile(
    r"\b(?:s\s*/\s*n|s\s*/\s*nº|sem\s+n[uú]mero|sn"
    # "nao tem numero", "a casa não possui nº", "no number", "no tiene número", "sin número"
    r"|n[aã]o\s+(?:tem|tenho|possui|ha|há)\s+n(?:[uú]mero|[º°o]\.?|um\.?)|sem\s+n[º°]"
    r"|no\s+(?:house\s+)?number|no\s+tiene\s+n[uú]mero|sin\s+n[uú]mero)(?!\w)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.,/\-|])(\d{1,3}\.\d{3}(?![.,]\d|\d)|\d{1,6})" + _SUFFIX + r"(?![\w]|[.,/\-|]\d)",
    re.IGNORECASE,
)
# A number these words follow is not a house number ("300 mega", "2 dias", "12 meses").
_NOT_A_HOUSE = re.compile(
    r"^\s*(?:megas?|mb|mbps|mbit|gigas?|gb|gbps|dias?|days?|horas?|hours?|h\b|meses|m[eê]s|"
    r"months?|anos?|years?|reais|r\$|vezes|times|pessoas|people|aparelhos|devices|minutos|"
    r"minutes|km|metros|andares|quartos|%)",
    re.IGNORECASE,
)
# ... nor one after a "not" ("é 902 e não 900", "nao é 900 é 990")
_NEGATED = re.compile(r"(?:\bn[aã]o|\bnot|\bno)\s+(?:[eé]h?\s+|is\s+|es\s+)?(?:o\s+|a\s+)?$", re.I)

_PLAN = re.compile(
    r"(?<![\w.,])(\d{1,4}(?:[.,]\d{1,3})?)\s*(megas?|mega\s?bits?|mbps|mbit/?s?|mb|mega|m|"
    r"gigas?|giga\s?bits?|gigs?|gbps|gbit/?s?|gb|g)(?![\w])",
    re.IGNORECASE,
)
_PLAN_OF = re.compile(
    r"\b(?:plano|pacote|plan|planes?)\s+(?:de\s+|do\s+|of\s+)?(\d{2,4})\b(?!\s*[a-z]*\d)", re.I
)
# "o de 500", "gostei do de 300", "el de 300", "the 300 one": a plan named by its speed alone
_PLAN_THE = re.compile(
    r"\b(?:(?:o|do|a|da|el|del|la)\s+de\s+(\d{2,4})|the\s+(\d{2,4})(?=\s+(?:one|plan)\b))"
    r"(?![\w.,/\-]*\d)",
    re.IGNORECASE,
)
_GIGA = re.compile(r"^(?:g|gigas?|giga\s?bits?|gigs?|gbps|gbit/?s?|gb)$", re.IGNORECASE)
#: "o giga", "quero o plano giga", "el de giga", "the gig one": the gigabit plan named by its
#: unit alone (a digit before it is _PLAN's: "1 giga")
_PLAN_GIGA = re.compile(
    r"\b(?:o|do|no|pro|pelo|plano|pacote|el|del|al|the|a|de|um|un)\s+(?:de\s+)?"
    r"(giga|gigabit|gig)\b(?!\s*\d)",
    re.IGNORECASE,
)
#: the words of a change of plan ("troca pro de 500", "volta pro 300", "posso mudar pro de 1
#: giga?", "switch to the 500", "go back to the 300", "vuelve al de 300", "mejor cambiar al de 500")
_CHANGE = (
    r"\b(?:troca|trocar|troco|troque|trocaria|muda|mudar|mude|mudo|mudaria|volta|voltar|volte|"
    r"voltaria|passa|passar|passe|passo|change|switch|back|cambia|cambiar|cambie|cambio|vuelve|"
    r"vuelva|volver|volvamos|pasa|pasar|pase|pasame)\b"
)
_CHANGES = re.compile(_CHANGE, re.IGNORECASE)
#: what puts a change off to another day, or leaves it in doubt: "talvez eu mude pro de 500
#: depois", "depois eu troco", "maybe I'll switch later", "quizas despues cambio al de 500"
_LATER = re.compile(
    r"\b(?:talvez|quem\s+sabe|pode\s+ser\s+que|depois|dps|mais\s+tarde|mais\s+pra\s+frente|"
    r"mais\s+para\s+frente|futuramente|no\s+futuro|um\s+dia|algum\s+dia|maybe|perhaps|later|"
    r"some\s?day|eventually|in\s+the\s+future|down\s+the\s+road|quiz[aá]s?|tal\s+vez|"
    r"despu[eé]s|m[aá]s\s+adelante|luego|en\s+el\s+futuro|alg[uú]n\s+d[ií]a)\b",
    re.IGNORECASE,
)
#: where a message's clauses part: punctuation, or a conjunction ("sim pode reservar e talvez
#: depois eu mude": the go-ahead is one clause, the change put off another)
_CLAUSE_BREAK = re.compile(r"[,.;!?]+|\s(?:e|mas|and|but|y|pero)\s", re.IGNORECASE)
_STREET_BEFORE = re.compile(
    r"\b(?:" + "|".join(sorted(STREET_TYPES, key=len, reverse=True)) + r")\.?\s+$", re.IGNORECASE
)
#: a speed right after a change word, the little words between ("troca pro de 500", "volta pro
#: 300", "vuelve al de 300"): a plan, not a house number nor an alameda "al de 300"
_PLAN_CHANGED = re.compile(
    _CHANGE + r"\s+(?:(?:pro|pra|para|pelo|pela|por|ao|al|a|o|el|la|the|to|for|de|do|da|del|"
    r"plano|plan|pacote)\s+){0,4}(\d{2,4})\b(?![\w.,/\-]*\d)",
    re.IGNORECASE,
)


def _spans(entities: Iterable[Entity]) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in entities]


def overlaps(start: int, end: int, taken: Sequence[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` meets any of the ``taken`` spans."""
    return any(start < b and a < end for a, b in taken)


def ceps(text: str) -> list[Entity]:
    """CEPs ("88025-200", "88025200", "88.025-200") as 8 digits."""
    return [Entity(K.CEP, "".join(m.groups()), m.start(), m.end()) for m in _CEP.finditer(text)]


def cpfs(text: str) -> list[Entity]:
    """CPFs whose check digits are right, as 11 digits (all-same-digit numbers are not)."""
    found = []
    for m in _CPF.finditer(text):
        digits = normalize_cpf(m.group())
        if digits is not None:
            found.append(Entity(K.CPF, digits, m.start(), m.end()))
    return found


def _cnpj_check(first12: str) -> str:
    digits = [int(c) for c in first12]
    for weights in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return f"{digits[-2]}{digits[-1]}"


def cnpjs(text: str) -> list[Entity]:
    """CNPJs ("11.222.333/0001-81") whose check digits are right, as 14 digits."""
    found = []
    for m in _CNPJ.finditer(text):
        digits = "".join(m.groups())
        if len(set(digits)) > 1 and _cnpj_check(digits[:12]) == digits[12:]:
            found.append(Entity(K.CNPJ, digits, m.start(), m.end()))
    return found


def codes(
    text: str,
    *,
    expected: bool,
    taken: Sequence[tuple[int, int]] = (),
    common: Collection[str] = (),
) -> list[Entity]:
    """Client or reservation codes. An ``OZB-`` code is upper-cased (OZmap keeps the bot's own
    codes so); a joined word ("reservation_123", "123|123") is kept as written. Where a code is
    ``expected``, any word with a digit or a joining mark counts, as the code flows accept.
    ``common`` are the words customers use for anything else (see :func:`_code_alone`)."""
    found: list[Entity] = []
    for m in _CODE_WORD.finditer(text):
        word = m.group().rstrip("./")
        end = m.start() + len(word)
        if overlaps(m.start(), end, taken) or _NO_NUMBER.fullmatch(word):
            continue
        if not expected and _NUMBER_DASH_LETTER.fullmatch(word):
            continue
        joined = bool(_JOINED.match(word))
        if _OZB_CODE.fullmatch(word):
            found.append(Entity(K.CODE, word.upper(), m.start(), end))
        elif (
            (joined and any(c.isdigit() for c in word))
            and (expected or any(c.isalpha() for c in word) or "|" in word)
        ) or (
            (expected or _CODE_MARKER.search(text[: m.start()]) or _code_alone(text, word, common))
            and (any(c.isdigit() for c in word) or joined)
        ):
            found.append(Entity(K.CODE, word, m.start(), end))
    return found


def _code_alone(text: str, word: str, common: Collection[str]) -> bool:
    """Whether ``text`` is only ``word`` and that word looks like a code even without digits:
    words of three letters or more joined, by an underscore, by two marks or with a word that
    is not ``common`` ("cliente-erro", "cliente_caixa", "cliente-massiva-regiao"; not "wi-fi"
    nor "bem-vindo")."""
    parts = re.split(r"[_\-|]", word)
    if text.strip(" .!") != word or len(parts) < 2 or any(len(p) < 3 for p in parts):
        return False
    return "_" in word or len(parts) > 2 or any(p.casefold() not in common for p in parts)


def units(text: str, *, expected: bool = False) -> list[Entity]:
    """Units ("apto 302 bloco b", "ap 12", "casa 3", "bl b") as one entity per run of parts,
    tidied: canonical words (apto, bloco, casa, torre, sala, lote, quadra, andar), lower case.
    Where a unit is ``expected``, a bare number ("302"), "fundos" or "cobertura" (a penthouse,
    not coverage) is one too."""
    parts: list[tuple[int, int, str]] = []
    for m in _UNIT_PART.finditer(text):
        word, value = _UNIT_WORDS[m.group(1).casefold()], m.group(3).casefold().replace("-", "")
        if m.group(2) and word == "casa":
            continue  # "o numero da casa é 77" is a house number
        if value.isalpha() and word not in _LETTER_UNITS:
            continue
        parts.append((m.start(), m.end(), f"{word} {value}"))
    found: list[Entity] = []
    for start, end, value in parts:
        last = found[-1] if found else None
        if last is not None and _UNIT_JOIN.match(text[last.end : start]):
            found[-1] = Entity(K.UNIT, f"{last.value} {value}", last.start, end)
        else:
            found.append(Entity(K.UNIT, value, start, end))
    for i, unit in enumerate(found):
        where = _UNIT_WHERE.match(text, unit.end)
        if where is not None:
            value = f"{unit.value} {fold(where.group(0)).strip(' ,-')}"
            found[i] = Entity(K.UNIT, value, unit.start, where.end())
    if not found and expected:
        bare = _BARE_UNIT.fullmatch(text)
        if bare:
            found.append(Entity(K.UNIT, bare.group(1).casefold(), bare.start(1), bare.end(1)))
    return found


def unit_kinds(text: str) -> set[str]:
    """The kinds of unit part ``text`` names: "Apto 302, Bloco B" → {"apto", "bloco"}."""
    kinds = set(_UNIT_WORDS.values())
    return {w for unit in units(text) for w in unit.value.split() if w in kinds}


def looks_like_unit(text: str) -> bool:
    """Whether ``text``, typed where a unit is asked, may be one as written: it has a digit or a
    unit's word ("Loja 2", "cobertura", "kitnet dos fundos"); a name or "nao sei" has neither."""
    return any(ch.isdigit() for ch in text) or bool(_UNIT_WORD.search(text))


# a unit written right after the house number: "1200/302" (the flat after a slash), "950
# fundos", "12 - frente"
_AFTER_NUMBER = re.compile(
    r"\s*/\s*(?P<flat>\d{1,5}[a-z]?)\b(?!\s*/)"
    r"|[\s,\-]+(?P<where>(?:d[oa]s?\s+|de\s+)?(?:fundos|frente))\b",
    re.IGNORECASE,
)


def units_after(text: str, found: Sequence[Entity]) -> list[Entity]:
    """Units written right after an address's house number, without a unit word: "rua rui
    barbosa 1200/302" (the flat, after a slash), "rua x 950 fundos". Only after an address of
    ``found`` that ends with its number, so a date ("dia 12/03") is none."""
    units: list[Entity] = []
    for address in found:
        if address.kind is not K.ADDRESS or not address.value[-1:].isdigit():
            continue
        m = _AFTER_NUMBER.match(text, address.end)
        if m is not None:
            part = "flat" if m.group("flat") else "where"
            units.append(Entity(K.UNIT, fold(m.group(part)), m.start(part), m.end(part)))
    return units


def addresses(text: str) -> list[Entity]:
    """Street-and-number spans that start with a street type ("rua delminda silveira 900",
    "av. mauro ramos, 450", "travessa ramos 12"), as written. The name runs until a number (taken
    in), a stop word or punctuation; a type word with no name after it is not an address."""
    found: list[Entity] = []
    for head in _STREET_HEAD.finditer(text):
        if found and head.start() < found[-1].end:
            continue
        end = head.end()
        named = 0
        number = False
        for token in _TOKEN.finditer(text, head.end()):
            word = token.group().casefold()
            if word.isdigit() or (named > 0 and _NUMBER_LETTER.fullmatch(word)):
                if named == 0 and len(word) > 3:
                    break
                end, number = token.end(), True
                thousands = _THOUSANDS.match(text, end) if word.isdigit() else None
                if named > 0 and thousands is not None and len(word) <= 3:
                    end = thousands.end()  # "rua rui barbosa 1.200": one number
                if named > 0:
                    # its letter: "900-A", "900 a" at the end
                    letter = _HOUSE_LETTER.match(text, end) if word.isdigit() else None
                    end = letter.end() if letter else end
                    break
                named += 1  # "rua 5", "rodovia sc 401": a number can be the name
                continue
            if word == "," and named:
                continue
            marked = _NUMBER_MARKED.match(text, token.start()) if named else None
            if marked is not None:
                # "rua rui barbosa n° 1200", "numero 400", "num 12": its number, marked
                end, number = marked.end(), True
                break
            if not word[0].isalpha() or word in _STREET_STOP or named >= _MAX_STREET_WORDS:
                break
            if word in _UNIT_WORDS and _UNIT_PART.match(text, token.start()):
                break  # "rua delminda silveira quadra 3 lote 12": the unit, no more the name
            named += 1
            end = token.end()
        if named == 0 or (named == 1 and not number):
            continue  # "rua 5", "rua frei caneca"; not "da rua rompeu" (see streets.py)
        if _BARE_R.fullmatch(head.group()) and not number:
            continue  # "r u open now?", "al inicio porfa": not "r delminda silveira 900"
        span = text[head.start() : end].rstrip(" ,")
        found.append(Entity(K.ADDRESS, span, head.start(), head.start() + len(span)))
    return found


def _number(m: re.Match[str]) -> str:
    # "1.200" is 1200: the thousands dot Brazilians write
    return str(int(m.group(1).replace(".", ""))) + (m.group(2) or m.group(3) or "").upper()


def house_numbers(text: str, *, taken: Sequence[tuple[int, int]] = ()) -> list[Entity]:
    """House numbers marked as such ("n° 900", "nº900", "numero 900", "#12") and "s/n" (as
    :data:`bot.validation.NO_NUMBER`), outside the ``taken`` spans (CEPs, units, ...)."""
    found: list[Entity] = []
    for m in _NUMBER_MARKED.finditer(text):
        if not overlaps(m.start(1), m.end(1), taken):
            found.append(Entity(K.HOUSE_NUMBER, _number(m), m.start(), m.end()))
    for m in _NO_NUMBER.finditer(text):
        if not overlaps(m.start(), m.end(), taken):
            found.append(Entity(K.HOUSE_NUMBER, NO_NUMBER, m.start(), m.end()))
    return sorted(found, key=lambda e: e.start)


def free_numbers(text: str, *, taken: Sequence[tuple[int, int]] = ()) -> list[Entity]:
    """Numbers standing alone outside the ``taken`` spans, as house-number candidates ("é
    1500"): not a quantity ("300 mega", "2 dias") and not the one after a "não" ("é 902 e não
    900" gives 902)."""
    found: list[Entity] = []
    for m in _NUMBER.finditer(text):
        if overlaps(m.start(), m.end(), taken) or _NOT_A_HOUSE.match(text[m.end(1) :]):
            continue
        if _NEGATED.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        found.append(Entity(K.HOUSE_NUMBER, _number(m), m.start(), m.end()))
    return found


def _mbits(amount: str, unit: str) -> str | None:
    value = float(amount.replace(",", "."))
    if _GIGA.match(unit):
        value *= 1000
    return str(round(value)) if 1 <= value <= 100_000 else None


def put_off(text: str) -> list[tuple[int, int]]:
    """The spans of the clauses of ``text`` that put a change off ("sim pode reservar, talvez
    eu mude pro de 500 depois": the part after the comma): a change some other day, or maybe,
    is no change now, and the plan it names is not chosen."""
    found = []
    at = 0
    for end in [*_CLAUSE_BREAK.finditer(text), None]:
        stop = end.start() if end is not None else len(text)
        clause = text[at:stop]
        if _CHANGES.search(clause) and _LATER.search(clause):
            found.append((at, stop))
        if end is not None:
            at = end.end()
    return found


def changes_plan(text: str) -> bool:
    """Whether ``text`` asks to change something ("troca", "volta", "muda", "switch", "cambia"),
    now (not "talvez eu mude depois": see :func:`put_off`): with a plan named, a change of plan
    ("posso trocar pro de 500?" is no question about the contract)."""
    later = put_off(text)
    return any(not overlaps(m.start(), m.end(), later) for m in _CHANGES.finditer(text))


def plans(text: str) -> list[Entity]:
    """Speeds ("300 mega", "300mb", "500 megas", "1 giga", "1gb", "plano de 500", "o de 500",
    "the 300 one", "o giga") in Mbit/s, as digits ("300", "1000")."""
    found: list[Entity] = []
    for m in _PLAN.finditer(text):
        unit = m.group(2)
        if unit.casefold() in {"m", "g"} and m.group(1) != text[m.start() : m.start(2)]:
            continue  # "300 m" is metres, "1 g" a gram: only glued ("300m", "1g") is a speed
        value = _mbits(m.group(1), unit)
        if value is not None:
            found.append(Entity(K.PLAN, value, m.start(), m.end()))
    for pattern in (_PLAN_OF, _PLAN_THE, _PLAN_CHANGED):
        taken = _spans(found)
        for m in pattern.finditer(text):
            if pattern is _PLAN_CHANGED and _STREET_BEFORE.search(text[: m.start()]):
                continue  # "rua volta redonda 300" is a street's name
            group = next(g for g in range(1, (pattern.groups or 1) + 1) if m.group(g))
            if not overlaps(m.start(group), m.end(group), taken):
                found.append(Entity(K.PLAN, str(int(m.group(group))), m.start(group), m.end(group)))
    taken = _spans(found)
    found += [
        Entity(K.PLAN, "1000", m.start(1), m.end(1))
        for m in _PLAN_GIGA.finditer(text)
        if not overlaps(m.start(1), m.end(1), taken)
    ]
    return sorted(found, key=lambda e: e.start)
