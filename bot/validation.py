"""Reading what customers type: CEP, CPF, CNPJ, phone numbers, coordinates, house numbers; and
masking for logs.

Pure functions, no I/O. CPF and CNPJ check digits are python-stdnum's (``stdnum.br``, the
alphanumeric CNPJ of 2026 included), phone numbers Google's libphonenumber (``phonenumbers``).
``parse_*`` and ``normalize_*`` functions find the value inside free text ("meu cep é
88025-500") and return None when there is none; ``format_*`` raise :class:`InvalidInput` for a
value that cannot be valid. Masks never raise: they are used while logging.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf

from bot.errors import InvalidInput

__all__ = [
    "NO_NUMBER",
    "fold",
    "format_cep",
    "format_cnpj",
    "format_cpf",
    "mask_cnpj",
    "mask_cpf",
    "mask_phone",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_phone",
    "parse_cep",
    "parse_coordinates",
    "parse_house_number",
    "strip_accents",
    "valid_cnpj",
    "valid_coordinates",
    "valid_cpf",
]

#: what :func:`parse_house_number` returns for "s/n", "sem número"
NO_NUMBER = "S/N"

# Digits not glued to other digits, dots or dashes, so a CEP is not found inside a CPF, a phone
# number or a longer code.
_CEP = re.compile(r"(?<![\d.\-])(\d{2})\.?(\d{3})[-\s]?(\d{3})(?![\d]|[.\-]\d)")
_CPF = re.compile(r"(?<![\d.\-])(\d{3})\.?(\d{3})\.?(\d{3})[-\s]?(\d{2})(?![\d]|[.\-]\d)")
# 12 letters or digits (the alphanumeric CNPJ of 2026) then 2 check digits, with or without the
# usual dots, slash and dash
_CNPJ = re.compile(
    r"(?<![\w.\-/])([0-9A-Z]{2})\.?([0-9A-Z]{3})\.?([0-9A-Z]{3})/?([0-9A-Z]{4})-?(\d{2})"
    r"(?![\w]|[.\-/]\w)"
)
# A coordinate pair always has decimals; requiring them keeps "Servidão 5, 120" an address.
_COORD_DOT = re.compile(r"(?<![\d.])([-+]?\d{1,2}\.\d+)\s*[,;\s]\s*([-+]?\d{1,3}\.\d+)(?![\d.])")
_COORD_COMMA = re.compile(r"(?<![\d,])([-+]?\d{1,2},\d+)\s*[;\s]\s*([-+]?\d{1,3},\d+)(?![\d,])")
_NO_NUMBER = re.compile(r"\b(s\s*/\s*n|sem\s+n(u|ú)mero|sn)\b", re.IGNORECASE)
_NUMBER_MARKED = re.compile(
    r"(?:\bn(?:[º°o]|\.|ro\.?|umero|úmero)|#)\s*:?\s*(\d{1,6})\s*([a-z]\b)?", re.IGNORECASE
)
_NUMBER_AFTER_COMMA = re.compile(r",\s*(\d{1,6})\s*([a-z]\b)?", re.IGNORECASE)
_NUMBER_ALONE = re.compile(r"^\s*(\d{1,6})\s*([a-z])?\s*$", re.IGNORECASE)
# "Rua Bocaiúva 2468" or "Rua Bocaiúva 2468 - Centro": a number closing the street part
_NUMBER_TRAILING = re.compile(r"(?<=[^\W\d]\s)(\d{1,6})\s*([a-z]\b)?\s*(?:$|[-–,/])", re.IGNORECASE)
# apartment, block, room… numbers are not the house number
_COMPLEMENT = re.compile(
    r"\b(?:apto?|apartamento|ap|bloco|bl|sala|sl|casa|lote|lt|andar|torre|quadra|qd)\.?\s*"
    r"\d+\w*",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def parse_cep(text: str | None) -> str | None:
    """The first CEP in ``text`` as 8 digits ("88025-500", "88025500", "88.025-500" → "88025500");
    None when there is none."""
    if not text:
        return None
    match = _CEP.search(text)
    return "".join(match.groups()) if match else None


def format_cep(cep: str) -> str:
    """ "88025500" (or any form :func:`parse_cep` reads) → "88025-500".

    Raises :class:`InvalidInput` when ``cep`` holds no CEP."""
    digits = parse_cep(cep)
    if digits is None:
        raise InvalidInput(f"{cep!r} is not a CEP: a CEP has 8 digits, like 88025-500")
    return f"{digits[:5]}-{digits[5:]}"


def normalize_cpf(text: str | None) -> str | None:
    """The first *valid* CPF in ``text`` as 11 digits ("529.982.247-25" → "52998224725"); None when
    there is none (wrong check digits and all-same-digit numbers are not CPFs)."""
    if not text:
        return None
    for match in _CPF.finditer(text):
        digits = "".join(match.groups())
        # stdnum accepts 111.111.111-11 and its kin: their check digits add up, no one has them
        if len(set(digits)) > 1 and stdnum_cpf.is_valid(digits):
            return digits
    return None


def valid_cpf(text: str | None) -> bool:
    """Whether ``text`` holds a valid CPF (11 digits, both check digits right)."""
    return normalize_cpf(text) is not None


def format_cpf(text: str) -> str:
    """ "52998224725" → "529.982.247-25". Raises :class:`InvalidInput` for an invalid CPF."""
    digits = normalize_cpf(text)
    if digits is None:
        raise InvalidInput("not a valid CPF: check the 11 digits")
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def mask_cpf(text: str | None) -> str:
    """A CPF safe to log: only the last four digits show ("***.***.*47-25"). Never raises."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) != 11:
        return "***"
    return f"***.***.*{digits[7:9]}-{digits[9:]}"


def normalize_cnpj(text: str | None) -> str | None:
    """The first *valid* CNPJ in ``text`` as 14 characters ("11.222.333/0001-81" →
    "11222333000181"; letters upper-cased, as the alphanumeric CNPJ has them); None when none."""
    if not text:
        return None
    for match in _CNPJ.finditer(text.upper()):
        value = "".join(match.groups())
        if len(set(value)) > 1 and stdnum_cnpj.is_valid(value):
            return value
    return None


def valid_cnpj(text: str | None) -> bool:
    """Whether ``text`` holds a valid CNPJ (both check digits right)."""
    return normalize_cnpj(text) is not None


def format_cnpj(text: str) -> str:
    """ "11222333000181" → "11.222.333/0001-81". Raises :class:`InvalidInput` when invalid."""
    value = normalize_cnpj(text)
    if value is None:
        raise InvalidInput("not a valid CNPJ: check the 14 characters")
    return str(stdnum_cnpj.format(value))


def mask_cnpj(text: str | None) -> str:
    """A CNPJ safe to log: the branch and check digits only ("**.***.***/0001-81")."""
    value = re.sub(r"[^0-9A-Za-z]", "", text or "")
    if len(value) != 14:
        return "***"
    return f"**.***.***/{value[8:12]}-{value[12:]}"


def normalize_phone(text: str | None, region: str = "BR") -> str | None:
    """A phone number in E.164 ("+5548999990000"); None when ``text`` is not a valid number.

    Brazilian mobiles gained a ninth digit (a 9 before the eight) years ago, but WhatsApp still
    gives many accounts' ids without it ("554899990000", common outside São Paulo): such a
    number is given its 9, so one customer is one phone number in OZmap whichever form
    arrives. Numbers without a country code are read as ``region``'s."""
    if not text:
        return None
    raw = text.strip().removeprefix("whatsapp:")
    if raw.isdigit() and raw.startswith("55") and len(raw) in (12, 13):
        raw = "+" + raw  # a WhatsApp id: country code included, no plus sign
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) and number.country_code == 55:
        national = str(number.national_number)
        # area code, then an 8-digit number that reads as a mobile's (6-9): the 9 was left out
        if len(national) == 10 and national[2] in "6789":
            number = phonenumbers.parse(f"+55{national[:2]}9{national[2:]}", region)
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(text: str | None) -> str:
    """A phone number safe to log: only the last four digits show ("***1234"). Never raises."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) < 8:
        return "***"
    return "***" + digits[-4:]


def valid_coordinates(lat: float, lng: float) -> bool:
    """Whether (lat, lng) is a point on Earth in WGS84 degrees."""
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0


def parse_coordinates(text: str | None) -> tuple[float, float] | None:
    """A "lat, lng" pair in ``text`` ("-27.578, -48.527", "/location -27.5 -48.5", a maps link
    "...?q=-27.578,-48.527", decimal commas "-27,578 -48,527"); None when there is none or it is
    out of range. Both numbers need decimals, so "Rua 5, 120" is not a coordinate pair."""
    if not text:
        return None
    for pattern, comma in ((_COORD_DOT, False), (_COORD_COMMA, True)):
        for match in pattern.finditer(text):
            raw_lat, raw_lng = match.groups()
            if comma:
                raw_lat, raw_lng = raw_lat.replace(",", "."), raw_lng.replace(",", ".")
            lat, lng = float(raw_lat), float(raw_lng)
            if valid_coordinates(lat, lng):
                return lat, lng
    return None


def parse_house_number(text: str | None) -> str | None:
    """The house number in an address line: after "nº"/"número"/"n."/"#", else the first number
    after a comma, else the whole text when it is only a number ("900", "900 b" → "900B"), else a
    number closing the street part ("Rua Bocaiúva 2468 - Centro"). Apartment, block and room
    numbers ("apto 12", "bloco 3") are ignored.
    "s/n" or "sem número" → :data:`NO_NUMBER`. A CEP in the text is never taken for a number.
    None when there is no number."""
    if not text:
        return None
    without_cep = _COMPLEMENT.sub(" ", _CEP.sub(" ", text))
    for pattern in (_NUMBER_MARKED, _NUMBER_AFTER_COMMA, _NUMBER_ALONE, _NUMBER_TRAILING):
        match = pattern.search(without_cep)
        if match:
            number, suffix = match.groups()
            return str(int(number)) + (suffix or "").upper()
    if _NO_NUMBER.search(without_cep):
        return NO_NUMBER
    return None


def strip_accents(text: str) -> str:
    """``text`` without diacritics ("Agronômica" → "Agronomica", "ç" → "c")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """A form for comparing what people type: no accents, case-folded, spaces collapsed
    ("  MANUTENÇÃO " and "manutencao" fold alike)."""
    return _SPACES.sub(" ", strip_accents(text).casefold()).strip()
