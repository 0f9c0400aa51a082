"""The dependency rule: flows/ imports engine types, messages, i18n, validation, errors and the
service *ports* (OZmap client, models and sales desk, geocoding base), never channels, storage or
web."""

from __future__ import annotations

import ast
from pathlib import Path

import flows

FLOWS_DIR = Path(flows.__file__).parent
ALLOWED = (
    "bot.engine",
    "bot.messages",
    "bot.i18n",
    "bot.validation",
    "bot.errors",
    "bot.ozmap.client",
    "bot.ozmap.models",
    "bot.ozmap.sales",
    "bot.geo.base",
    "flows",
)
STDLIB_OK = {
    "__future__", "asyncio", "re", "secrets", "enum", "typing", "dataclasses", "contextlib",
    "datetime", "collections",
}  # fmt: skip


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.append(node.module or "")
    return names


def test_flows_import_only_ports_and_engine_types() -> None:
    files = sorted(FLOWS_DIR.glob("*.py"))
    assert len(files) >= 4
    offenders = []
    for path in files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name.startswith(ALLOWED) and any(
                name == a or name.startswith(a + ".") for a in ALLOWED
            ):
                continue
            if top in STDLIB_OK:
                continue
            offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_the_rule_would_catch_a_storage_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from bot.storage.sqlite import SqliteStore\nimport bot.channels.console\n")
    names = imported_modules(bad)
    assert names == ["bot.storage.sqlite", "bot.channels.console"]
    assert not any(n == a or n.startswith(a + ".") for n in names for a in ALLOWED)
