"""The shared statements' conversion from SQLite's placeholders to psycopg's (pure)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bot.storage.queries import POSTGRES, SQLITE, to_pyformat


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT 1 FROM t WHERE a = ? AND b = ?", "SELECT 1 FROM t WHERE a = %s AND b = %s"),
        ("INSERT INTO t VALUES (?, 'agent', ?)", "INSERT INTO t VALUES (%s, 'agent', %s)"),
        ("SELECT count(*) FROM inbox", "SELECT count(*) FROM inbox"),
        ("UPDATE t SET s = 'it''s' WHERE k = ?", "UPDATE t SET s = 'it''s' WHERE k = %s"),
    ],
)
def test_placeholders_outside_literals_become_psycopgs(sqlite: str, postgres: str) -> None:
    assert to_pyformat(sqlite) == postgres


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ("SELECT 1 FROM t WHERE k LIKE '%x' AND a = ?", "'%'"),
        ("SELECT 1 FROM t WHERE k = 'why?' AND a = ?", "inside a quoted literal"),
        ("SELECT 1 FROM t WHERE k = 'open AND a = ?", "not closed"),
    ],
)
def test_what_a_textual_swap_would_get_wrong_is_refused(statement: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        to_pyformat(statement)


def test_each_database_gets_its_own_placeholders_in_every_statement() -> None:
    for field in fields(SQLITE):
        sqlite, postgres = getattr(SQLITE, field.name), getattr(POSTGRES, field.name)
        if callable(sqlite):
            continue
        texts = zip(
            sqlite if isinstance(sqlite, tuple) else (sqlite,),
            postgres if isinstance(postgres, tuple) else (postgres,),
            strict=True,
        )
        for lite, pg in texts:
            assert "%s" not in lite, field.name
            assert "?" not in pg, field.name
            assert lite.count("?") == pg.count("%s"), field.name
