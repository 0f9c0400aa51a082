"""Customer-facing text, from the gettext catalogs in ``bot/locales/``.

Every sentence a customer reads lives in ``bot/locales/<lang>/LC_MESSAGES/ozbot.po`` (pt_BR is
the primary language; en and es follow); the catalogs ship inside the package (see
bot/resources.py). Message ids are symbolic keys (``"menu.greeting"``); the msgstr is the text,
with ``{name}`` placeholders filled by :meth:`str.format` (write ``{{`` for a literal brace).
Code asks for text with a callable named ``t``::

    t = catalogs.translator("pt_BR")
    t("menu.greeting.named", name="Ana")

The .po files are read with Babel and compiled to ``.mo`` in memory at start-up, so there is no
build step and no compiled file in git. ``tests/test_i18n.py`` extracts every ``t("...")`` key
from ``bot/`` and ``flows/`` and fails when one is missing from any catalog.

Missing keys: in strict mode (tests) :meth:`Translator.__call__` raises ``KeyError``; otherwise it
logs a warning and falls back to pt_BR, then to the key itself, so a customer never sees a crash
for a forgotten translation.
"""

from __future__ import annotations

import gettext
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.errors import ConfigError
from bot.resources import package_path

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "Catalogs",
    "Translator",
    "default_locales_dir",
    "negotiate",
    "read_catalog",
]

log = logging.getLogger(__name__)

DOMAIN = "ozbot"
DEFAULT_LANGUAGE = "pt_BR"
#: the languages ozbot speaks, primary first; each has a catalog
LANGUAGES: tuple[str, ...] = ("pt_BR", "en", "es")

# Read by Catalogs.load only (the composition root calls it once at start-up). Strict mode is on
# when OZBOT_I18N_STRICT says so, or, when it is unset, under pytest (which sets
# PYTEST_CURRENT_TEST around every test): a forgotten key then fails the test that shows it
# instead of reaching a customer as a raw key.
LOCALES_DIR_ENV = "OZBOT_LOCALES_DIR"
STRICT_ENV = "OZBOT_I18N_STRICT"


def default_locales_dir() -> Path:
    """Where the catalogs are: ``$OZBOT_LOCALES_DIR``, else ``bot/locales`` inside the installed
    package (found with importlib.resources: the same in a checkout, a wheel, ``--user`` or
    ``--target``).

    Raises :class:`ConfigError` when the directory holds no primary catalog."""
    override = os.environ.get(LOCALES_DIR_ENV)
    if override:
        path = Path(override)
        if not _catalog_path(path, DEFAULT_LANGUAGE).is_file():
            raise ConfigError(
                f"{LOCALES_DIR_ENV}={override!r} has no {DEFAULT_LANGUAGE}/LC_MESSAGES/"
                f"{DOMAIN}.po: point it at a copy of bot/locales/ or unset it"
            )
        return path
    path = package_path("bot", "locales")
    if not _catalog_path(path, DEFAULT_LANGUAGE).is_file():
        raise ConfigError(
            f"no gettext catalogs in {path}: this installation of ozbot is incomplete; "
            "reinstall it (pip install --force-reinstall ozbot)"
        )
    return path


def _strict_from_environment() -> bool:
    raw = os.environ.get(STRICT_ENV)
    if raw is None:
        return "PYTEST_CURRENT_TEST" in os.environ
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _catalog_path(locales_dir: Path, lang: str) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


# Babel forgives what a hand edit breaks: an unclosed quote silently loses the last character,
# and a repeated msgid silently keeps the first. The catalogs are edited by hand, so these are
# refused before Babel reads the file.
_PO_LINE = re.compile(
    r'^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(?:[^"\\]|\\.)*"\s*$'
)
_MSGID = re.compile(r'^msgid\s+"((?:[^"\\]|\\.)+)"\s*$')


def _lint_po(text: str, path: Path) -> None:
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not _PO_LINE.match(stripped):
            raise ConfigError(
                f"catalog {path} line {number} is not a quoted .po line: {stripped[:60]!r}; "
                'check the quotes (a " inside a text is written \\")'
            )
        msgid = _MSGID.match(stripped)
        if msgid:
            key = msgid.group(1)
            if key in seen:
                raise ConfigError(
                    f"catalog {path} defines {key!r} twice (lines {seen[key]} and {number}): "
                    "keep one entry per key"
                )
            seen[key] = number


def read_catalog(locales_dir: Path, lang: str) -> Catalog:
    """Parse one language's .po file with Babel. Raises :class:`ConfigError` naming the file when
    it is missing or malformed (including an unclosed quote or a key defined twice)."""
    path = _catalog_path(locales_dir, lang)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"catalog {path} is missing: every language needs one") from None
    try:
        _lint_po(raw.decode("utf-8"), path)
        return read_po(io.BytesIO(raw), locale=lang, domain=DOMAIN, abort_invalid=True)
    except ConfigError:
        raise
    except Exception as exc:  # Babel raises PoFileError and assorted ValueErrors on bad syntax
        raise ConfigError(f"catalog {path} does not parse: {exc}; fix the .po syntax") from exc


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _translated_keys(catalog: Catalog) -> frozenset[str]:
    return frozenset(
        str(message.id)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    )


class _KeepMissing(dict[str, Any]):
    """format_map mapping that leaves an unknown ``{placeholder}`` as written (production)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    """The text of one language. ``t(key, **params)`` returns the formatted msgstr.

    Raises ``KeyError`` in strict mode for a key no catalog has or a placeholder not given."""

    lang: str
    _catalogs: Catalogs

    def __call__(self, key: str, /, **params: Any) -> str:
        return self._catalogs.text(self.lang, key, params)


class Catalogs:
    """The compiled catalogs of every language; immutable and shared by all conversations."""

    def __init__(
        self,
        translations: Mapping[str, gettext.GNUTranslations],
        keys: Mapping[str, frozenset[str]],
        *,
        strict: bool = False,
    ) -> None:
        if DEFAULT_LANGUAGE not in translations:
            raise ConfigError(f"the {DEFAULT_LANGUAGE} catalog is required: it is the fallback")
        self._translations = dict(translations)
        self._keys = dict(keys)
        self.strict = strict

    @classmethod
    def load(
        cls,
        locales_dir: Path | None = None,
        *,
        languages: Iterable[str] = LANGUAGES,
        strict: bool | None = None,
    ) -> Catalogs:
        """Read and compile the catalogs. ``strict`` None: ``$OZBOT_I18N_STRICT``, else on under
        pytest.

        Raises :class:`ConfigError` when a catalog is missing or does not parse."""
        base = locales_dir if locales_dir is not None else default_locales_dir()
        if strict is None:
            strict = _strict_from_environment()
        translations: dict[str, gettext.GNUTranslations] = {}
        keys: dict[str, frozenset[str]] = {}
        for lang in languages:
            catalog = read_catalog(base, lang)
            translations[lang] = _compile(catalog)
            keys[lang] = _translated_keys(catalog)
        return cls(translations, keys, strict=strict)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translations)

    def keys(self, lang: str = DEFAULT_LANGUAGE) -> frozenset[str]:
        """The keys that have a (non-fuzzy, non-empty) text in ``lang``."""
        return self._keys.get(lang, frozenset())

    def translator(self, lang: str) -> Translator:
        """The text of ``lang``; an unknown language gets the primary one (after a warning)."""
        if lang not in self._translations:
            if self.strict:
                raise KeyError(f"no catalog for language {lang!r}; have {self.languages}")
            log.warning("no catalog for language %r: using %s", lang, DEFAULT_LANGUAGE)
            lang = DEFAULT_LANGUAGE
        return Translator(lang, self)

    def text(self, lang: str, key: str, params: Mapping[str, Any]) -> str:
        """``key``'s text in ``lang`` formatted with ``params`` (see :class:`Translator`)."""
        for candidate in (lang, DEFAULT_LANGUAGE):
            if key in self._keys.get(candidate, frozenset()):
                if candidate != lang:
                    if self.strict:
                        raise KeyError(f"{key!r} has no text in the {lang} catalog")
                    log.warning("i18n key %r missing in %s: using %s", key, lang, candidate)
                template = self._translations[candidate].gettext(key)
                break
        else:
            if self.strict:
                raise KeyError(f"{key!r} is in no catalog: add it to bot/locales/*/LC_MESSAGES/")
            log.warning("i18n key %r missing in every catalog: showing the key", key)
            return key
        if self.strict:
            return template.format(**params)
        try:
            return template.format_map(_KeepMissing(params))
        except (ValueError, IndexError, AttributeError):
            log.warning("i18n key %r in %s has a malformed placeholder", key, lang)
            return template


def negotiate(hint: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """One of :data:`LANGUAGES` for a channel's language hint.

    ``hint`` is a BCP 47 tag or POSIX name (Telegram's ``language_code`` "pt-br", "en-US",
    "es_AR") or an Accept-Language header ("pt-BR,pt;q=0.9,en;q=0.8"). An exact match wins, then
    the first tag whose language we speak ("pt" → pt_BR, "es-AR" → es); otherwise ``default``.
    Never raises.
    """
    if not hint:
        return default
    tags = [part.split(";")[0].strip().replace("-", "_") for part in hint.split(",")]
    tags = [tag for tag in tags if tag and tag != "*"]
    try:
        exact = Locale.negotiate(tags, list(LANGUAGES), sep="_")
    except (ValueError, UnknownLocaleError):
        exact = None
    if exact is not None:
        return str(exact)
    by_language = {lang.split("_")[0]: lang for lang in reversed(LANGUAGES)}
    for tag in tags:
        try:
            language = Locale.parse(tag).language
        except (ValueError, TypeError, UnknownLocaleError):
            language = tag.split("_")[0].lower()
        if language in by_language:
            return by_language[language]
    return default
