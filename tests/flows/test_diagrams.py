"""Each flow's Mermaid diagram beside it is generated from its table and kept current."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.engine.diagrams import mermaid, write_diagrams
from flows import FLOWS, menu

FLOWS_DIR = Path(menu.__file__).parent


def test_every_diagram_is_current() -> None:
    stale = write_diagrams(FLOWS, FLOWS_DIR, check=True)
    assert stale == [], "run `ozbot flows diagrams` and commit the .mmd files"


def test_diagram_shows_every_row_of_the_table() -> None:
    text = mermaid(menu.FLOW)
    assert text.splitlines()[3] == "stateDiagram-v2"
    assert "    [*] --> start" in text
    assert "    start --> choosing : start" in text
    assert "    choosing --> choosing : unclear" in text  # a row without destination loops


def test_the_command_rewrites_stale_diagrams(tmp_path: Path, capsys: object) -> None:
    stale = tmp_path / "menu.mmd"
    stale.write_text("old\n")
    assert write_diagrams([menu.FLOW], tmp_path) == [stale]
    assert stale.read_text() == mermaid(menu.FLOW)
    assert write_diagrams([menu.FLOW], tmp_path) == []


def test_ozbot_flows_diagrams_check_passes() -> None:
    assert main(["flows", "diagrams", "--check"]) == 0
