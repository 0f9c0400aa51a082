"""The catalogs against the code, and bot.i18n's behaviour.

The catalog checks read every ``t("...")`` call in ``bot/`` and ``flows/`` (the call is always
named ``t``: ``t(...)``, ``turn.t(...)``, ``self.t(...)``) with an AST walk and fail when:

* a key used in code is missing from a catalog, or has an empty or fuzzy msgstr;
* a call does not pass a placeholder its text needs (``t("menu.greeting.named")`` without
  ``name=``);
* the three catalogs do not have the same keys, or a key's placeholders differ by language;
* a .po file does not parse, repeats a key, is not sorted by key, or has an entry without the
  ``#.`` comment saying where the text is shown.

Keys in the catalogs that no code uses only **warn** (a pytest warning listing them): flows
being written may land their text first, and a key computed at run time cannot be seen by the
walk. A call whose key is not a literal (nor a literal in each branch of a conditional, nor a
local variable assigned such literals) is listed in a warning too.
"""

from __future__ import annotations

import ast
import gettext
import itertools
import logging
import re
import string
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.errors import ConfigError
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalogs, default_locales_dir, negotiate

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = (ROOT / "bot", ROOT / "flows")
LOCALES = ROOT / "bot" / "locales"
CALL_NAME = "t"


# -- extraction ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    key: str
    where: str  # path:line
    params: frozenset[str] | None  # keyword names passed; None when **kwargs hides them


def _literals(node: ast.expr) -> list[str] | None:
    """The string literals an expression can be: "a", "a" if c else "b"; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


class _Extractor(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.uses: list[Use] = []
        self.dynamic: list[str] = []
        self._scopes: list[dict[str, list[str]]] = [{}]

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # local names assigned only string literals: `key = "a" if x else "b"; t(key)`
        assigned: dict[str, list[str]] = defaultdict(list)
        for child in ast.walk(node):
            if isinstance(child, ast.Assign) and len(child.targets) == 1:
                target = child.targets[0]
                values = _literals(child.value)
                if isinstance(target, ast.Name) and values is not None:
                    assigned[target.id].extend(values)
        self._scopes.append(dict(assigned))
        self.generic_visit(node)
        self._scopes.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else None
        )
        if name == CALL_NAME and node.args:
            where = f"{self.where}:{node.lineno}"
            keys = _literals(node.args[0])
            if keys is None and isinstance(node.args[0], ast.Name):
                keys = self._scopes[-1].get(node.args[0].id)
            has_star = any(k.arg is None for k in node.keywords)
            params = None if has_star else frozenset(k.arg for k in node.keywords if k.arg)
            if keys is None:
                self.dynamic.append(where)
            else:
                self.uses.extend(Use(key, where, params) for key in keys)
        self.generic_visit(node)


def extract_uses() -> tuple[list[Use], list[str]]:
    uses: list[Use] = []
    dynamic: list[str] = []
    for base in CODE_DIRS:
        for path in sorted(base.rglob("*.py")):
            extractor = _Extractor(str(path.relative_to(ROOT)))
            extractor.visit(ast.parse(path.read_text("utf-8"), str(path)))
            uses += extractor.uses
            dynamic += extractor.dynamic
    return uses, dynamic


def placeholders(text: str) -> frozenset[str]:
    return frozenset(
        re.split(r"[.\[]", field)[0]
        for _, field, _, _ in string.Formatter().parse(text)
        if field is not None
    )


@dataclass(frozen=True)
class Entry:
    text: str
    fuzzy: bool


def read_entries(lang: str) -> dict[str, Entry]:
    path = LOCALES / lang / "LC_MESSAGES" / "ozbot.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, abort_invalid=True)
    return {
        str(m.id): Entry(str(m.string or ""), m.fuzzy)
        for m in catalog
        if m.id and isinstance(m.id, str)
    }


@pytest.fixture(scope="module")
def uses() -> list[Use]:
    found, dynamic = extract_uses()
    if dynamic:
        warnings.warn(
            "t() calls with keys the catalog test cannot see (make them literals): "
            + ", ".join(dynamic),
            stacklevel=1,
        )
    return found


@pytest.fixture(scope="module")
def entries() -> dict[str, dict[str, Entry]]:
    return {lang: read_entries(lang) for lang in LANGUAGES}


# -- the catalogs against the code ---------------------------------------------------------------


def test_the_extractor_sees_the_call_forms_code_uses() -> None:
    source = """
def step(turn, t, flag):
    turn.t("a.one", name="x")
    t("a.two")
    t("a.three" if flag else "a.four", **{"n": 1})
    key = "a.five" if flag else "a.six"
    t(key)
    t(computed())
    other("not.a.key")
"""
    extractor = _Extractor("sample.py")
    extractor.visit(ast.parse(source))
    assert [u.key for u in extractor.uses] == [
        "a.one",
        "a.two",
        "a.three",
        "a.four",
        "a.five",
        "a.six",
    ]
    assert extractor.uses[0].params == frozenset({"name"})
    assert extractor.uses[2].params is None
    assert extractor.dynamic == ["sample.py:8"]


def test_code_really_uses_the_catalogs(uses: list[Use]) -> None:
    # guards the walk itself: were it broken, every other check would pass vacuously
    assert len({u.key for u in uses}) >= 10
    assert any(u.where.startswith("flows/") for u in uses)


def test_every_key_used_in_code_has_text_in_every_language(
    uses: list[Use], entries: dict[str, dict[str, Entry]]
) -> None:
    missing = [
        f"{u.key} ({lang}, used at {u.where})"
        for u in uses
        for lang in LANGUAGES
        if u.key not in entries[lang]
        or not entries[lang][u.key].text.strip()
        or entries[lang][u.key].fuzzy
    ]
    assert not missing, "add these keys to bot/locales/<lang>/LC_MESSAGES/ozbot.po:\n" + "\n".join(
        sorted(set(missing))
    )


def test_every_call_passes_the_placeholders_its_text_needs(
    uses: list[Use], entries: dict[str, dict[str, Entry]]
) -> None:
    wrong = []
    for use in uses:
        entry = entries[DEFAULT_LANGUAGE].get(use.key)
        if entry is None or use.params is None:
            continue
        needed = placeholders(entry.text)
        if not needed <= use.params:
            wrong.append(f"{use.where}: t({use.key!r}) needs {sorted(needed - use.params)}")
    assert not wrong, "\n".join(wrong)


def test_the_catalogs_have_the_same_keys(entries: dict[str, dict[str, Entry]]) -> None:
    primary = set(entries[DEFAULT_LANGUAGE])
    for lang in LANGUAGES:
        assert set(entries[lang]) == primary, (
            f"{lang}: missing {sorted(primary - set(entries[lang]))}, "
            f"extra {sorted(set(entries[lang]) - primary)}"
        )


def test_placeholders_are_the_same_in_every_language(
    entries: dict[str, dict[str, Entry]],
) -> None:
    differ = []
    for key, entry in entries[DEFAULT_LANGUAGE].items():
        expected = placeholders(entry.text)
        for lang in LANGUAGES:
            other = entries[lang].get(key)
            if other is not None and placeholders(other.text) != expected:
                differ.append(
                    f"{key}: {lang} has {sorted(placeholders(other.text))}, "
                    f"{DEFAULT_LANGUAGE} has {sorted(expected)}"
                )
    assert not differ, "\n".join(differ)


def test_keys_no_code_uses_are_reported(
    uses: list[Use], entries: dict[str, dict[str, Entry]]
) -> None:
    used = {u.key for u in uses}
    unused = sorted(set(entries[DEFAULT_LANGUAGE]) - used)
    if unused:
        warnings.warn(f"catalog keys no t() call uses: {', '.join(unused)}", stacklevel=1)
    # the report itself must be right: a used key is never listed
    assert not used & set(unused)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_po_file_is_clean_sorted_and_commented(lang: str) -> None:
    path = LOCALES / lang / "LC_MESSAGES" / "ozbot.po"
    text = path.read_text("utf-8")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, abort_invalid=True)
    assert catalog.locale is not None and str(catalog.locale) == lang
    blocks = [b for b in text.strip().split("\n\n") if re.search(r'^msgid "[^"]', b, re.M)]
    keys = [re.search(r'^msgid "([^"]+)"', b, re.M).group(1) for b in blocks]  # type: ignore[union-attr]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"{path}: keys defined twice: {duplicates}"
    for before, after in itertools.pairwise(keys):
        assert before < after, f"{path}: {after!r} must come before {before!r} (sorted by key)"
    uncommented = [k for k, b in zip(keys, blocks, strict=True) if not b.startswith("#.")]
    assert not uncommented, f"{path}: add a '#.' line saying where it is shown: {uncommented}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], f"{path}: fuzzy entries"


# -- bot.i18n ------------------------------------------------------------------------------------


def write_po(base: Path, lang: str, messages: dict[str, str]) -> None:
    directory = base / lang / "LC_MESSAGES"
    directory.mkdir(parents=True)
    lines = [
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {lang}\\n"',
        "",
    ]
    for key, text in messages.items():
        lines += [f'msgid "{key}"', f'msgstr "{text}"', ""]
    (directory / "ozbot.po").write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture
def small_locales(tmp_path: Path) -> Path:
    write_po(tmp_path, "pt_BR", {"hello": "Olá, {name}!", "only.pt": "Só em português"})
    write_po(tmp_path, "en", {"hello": "Hello, {name}!", "empty": ""})
    write_po(tmp_path, "es", {"hello": "¡Hola, {name}!"})
    return tmp_path


def test_the_real_catalogs_load_and_translate() -> None:
    catalogs = Catalogs.load(strict=True)
    assert catalogs.languages == LANGUAGES
    assert catalogs.translator("pt_BR")("geo.cep_not_found", cep="88025-500").startswith(
        "Não encontrei o CEP 88025-500"
    )
    assert "88025-500" in catalogs.translator("en")("geo.cep_not_found", cep="88025-500")
    assert catalogs.translator("es").lang == "es"


def test_catalogs_are_compiled_gettext_translations(small_locales: Path) -> None:
    catalogs = Catalogs.load(small_locales, strict=True)
    assert all(isinstance(t, gettext.GNUTranslations) for t in catalogs._translations.values())
    assert catalogs.keys("en") == frozenset({"hello"})  # an empty msgstr is no translation


def test_placeholders_are_filled(small_locales: Path) -> None:
    t = Catalogs.load(small_locales, strict=True).translator("es")
    assert t("hello", name="Ana") == "¡Hola, Ana!"


def test_strict_mode_raises_for_missing_keys_and_placeholders(small_locales: Path) -> None:
    catalogs = Catalogs.load(small_locales, strict=True)
    with pytest.raises(KeyError, match="nope"):
        catalogs.translator("pt_BR")("nope")
    with pytest.raises(KeyError, match=r"only\.pt"):
        catalogs.translator("en")("only.pt")
    with pytest.raises(KeyError, match="name"):
        catalogs.translator("en")("hello")
    with pytest.raises(KeyError, match="fr"):
        catalogs.translator("fr")


def test_production_falls_back_to_portuguese_then_the_key(
    small_locales: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalogs = Catalogs.load(small_locales, strict=False)
    en = catalogs.translator("en")
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        assert en("only.pt") == "Só em português"
        assert en("empty") == "empty"  # an empty msgstr is missing, not blank text
        assert en("nope") == "nope"
        assert en("hello") == "Hello, {name}!"  # a forgotten parameter shows, never crashes
        assert catalogs.translator("fr")("hello", name="Zoé") == "Olá, Zoé!"
    assert "only.pt" in caplog.text and "nope" in caplog.text and "'fr'" in caplog.text


def test_strict_mode_defaults_on_under_pytest_and_obeys_the_variable(
    small_locales: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OZBOT_I18N_STRICT", raising=False)
    assert Catalogs.load(small_locales).strict is True  # PYTEST_CURRENT_TEST is set
    monkeypatch.setenv("OZBOT_I18N_STRICT", "false")
    assert Catalogs.load(small_locales).strict is False
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("OZBOT_I18N_STRICT")
    assert Catalogs.load(small_locales).strict is False


def test_the_locales_directory_can_be_moved(
    small_locales: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OZBOT_LOCALES_DIR", raising=False)
    assert default_locales_dir() == LOCALES
    monkeypatch.setenv("OZBOT_LOCALES_DIR", str(small_locales))
    assert default_locales_dir() == small_locales
    assert Catalogs.load().translator("pt_BR")("only.pt") == "Só em português"
    monkeypatch.setenv("OZBOT_LOCALES_DIR", str(small_locales / "nowhere"))
    with pytest.raises(ConfigError, match="OZBOT_LOCALES_DIR"):
        default_locales_dir()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Babel alone would read this as "sin comilla", silently
        ('msgid "hello"\nmsgstr "sin comillas\n', "line 2 is not a quoted"),
        ('msgid "hello"\nmsgstr "x" trailing\n', "line 2 is not a quoted"),
        # Babel alone would keep the first and drop the second, silently
        ('msgid "hello"\nmsgstr "a"\n\nmsgid "hello"\nmsgstr "b"\n', "twice"),
        ('msgid "hello"\n', "does not parse"),
        ("garbage\n", "line 1"),
    ],
)
def test_a_broken_catalog_is_a_config_error_naming_the_file(
    small_locales: Path, content: str, message: str
) -> None:
    broken = small_locales / "es" / "LC_MESSAGES" / "ozbot.po"
    broken.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        Catalogs.load(small_locales)
    assert str(broken) in str(caught.value)


def test_a_missing_catalog_is_a_config_error(small_locales: Path) -> None:
    broken = small_locales / "es" / "LC_MESSAGES" / "ozbot.po"
    broken.unlink()
    with pytest.raises(ConfigError, match="missing"):
        Catalogs.load(small_locales)


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("pt-BR", "pt_BR"),
        ("pt-br", "pt_BR"),  # Telegram's language_code is lower case
        ("pt_BR", "pt_BR"),
        ("pt", "pt_BR"),
        ("pt-PT", "pt_BR"),  # the only Portuguese we have
        ("en", "en"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("es", "es"),
        ("es-AR", "es"),
        ("es-419", "es"),
        ("fr-FR,es;q=0.8,en;q=0.5", "es"),  # an Accept-Language header: first one we speak
        ("fr", "pt_BR"),
        ("zz", "pt_BR"),
        ("*", "pt_BR"),
        ("", "pt_BR"),
        (None, "pt_BR"),
    ],
)
def test_negotiate(hint: str | None, expected: str) -> None:
    assert negotiate(hint) == expected


def test_negotiate_default_is_configurable() -> None:
    assert negotiate(None, default="en") == "en"
    assert negotiate("de-DE", default="es") == "es"
