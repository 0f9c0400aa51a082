"""The labelled examples: Rasa-style YAML files, one per language, shipped in this package.

A file holds ``version: "3.1"`` and ``nlu:``, a list of ``- intent: name`` blocks with an
``examples: |`` list, one example a line, as Rasa's training data format has it. Entity
annotations in Rasa's inline form (``[Maria](person_name)``) are read as their plain text: the
entities here are found by rules, not learned. The file's name is its language (``pt_BR.yml``).

A provider adds its own examples (its FAQ entries' questions) as ``extra`` mappings,
``{intent: {language: [example, ...]}}``; an intent that is new there becomes one more intent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError

__all__ = [
    "LANGUAGES",
    "Example",
    "ExtraExamples",
    "extra_examples",
    "load_examples",
    "parse_file",
]

#: the languages of the shipped files, in the catalog's spelling
LANGUAGES: tuple[str, ...] = ("pt_BR", "en", "es")

#: ``{intent: {language: [example, ...]}}``
ExtraExamples = Mapping[str, Mapping[str, Sequence[str]]]

# libyaml's safe loader when PyYAML was built with it (ten times faster), else the Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# [text](entity), [text]{"entity": ...}: Rasa's inline annotations
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str


def _examples_of(block: Mapping[str, Any], where: str) -> list[str]:
    raw = block.get("examples")
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: 'examples' must be a block of '- ' lines")
    found = []
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise ConfigError(f"{where}: an example line starts with '- ': {line[:40]!r}")
        found.append(_ANNOTATION.sub(r"\1", line[2:].strip()))
    return found


def parse_file(text: str, language: str, where: str = "<data>") -> list[Example]:
    """The examples of one YAML document written in ``language``.

    Raises :class:`ConfigError` for a document that is not of the format."""
    try:
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        raise ConfigError(f"{where}: expected a mapping with an 'nlu' list")
    examples: list[Example] = []
    for block in document["nlu"]:
        if not isinstance(block, dict) or not isinstance(block.get("intent"), str):
            raise ConfigError(f"{where}: each 'nlu' item needs an 'intent'")
        intent = block["intent"]
        if not _INTENT_NAME.match(intent):
            raise ConfigError(f"{where}: intent names are lower_case words: {intent!r}")
        examples += [Example(t, intent, language) for t in _examples_of(block, f"{where}:{intent}")]
    return examples


def _packaged() -> Iterable[tuple[str, str, str]]:
    folder = resources.files("bot.nlu").joinpath("data")
    for language in LANGUAGES:
        entry = folder.joinpath(f"{language}.yml")
        yield (
            entry.read_text(encoding="utf-8"),
            language,
            f"bot/nlu/data/{language}.yml",
        )


def extra_examples(extra: ExtraExamples | None) -> list[Example]:
    """``extra`` as examples, checked (intent names as in the files, known languages)."""
    found: list[Example] = []
    for intent, per_language in (extra or {}).items():
        if not _INTENT_NAME.match(intent):
            raise ConfigError(f"extra examples: intent names are lower_case words: {intent!r}")
        for language, texts in per_language.items():
            if language not in LANGUAGES:
                raise ConfigError(f"extra examples of {intent}: unknown language {language!r}")
            found += [Example(t.strip(), intent, language) for t in texts if t.strip()]
    return found


def load_examples(
    extra: ExtraExamples | None = None, files: Sequence[Path] | None = None
) -> list[Example]:
    """The shipped examples (or those of ``files``, each named after its language) and
    ``extra``'s, in file order."""
    if files is None:
        sources: Iterable[tuple[str, str, str]] = _packaged()
    else:
        sources = ((p.read_text(encoding="utf-8"), p.stem, str(p)) for p in files)
    examples: list[Example] = []
    for text, language, where in sources:
        examples += parse_file(text, language, where)
    return examples + extra_examples(extra)
