"""Each flow's Mermaid diagram beside it is generated from its table and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows
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


def test_an_installed_package_out_of_reach_gets_its_diagrams_written_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # flows imported from a zip (a .pyz, a zipped install): its directory cannot be written, by
    # root either (a chmod would not stop root, who runs these tests in CI)
    archive = tmp_path / "ozbot.pyz"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    monkeypatch.setattr(flows, "__file__", str(archive / "flows" / "__init__.py"))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["flows", "diagrams"]) == 0
    assert sorted(p.name for p in here.iterdir()) == sorted(f"{s.name}.mmd" for s in FLOWS)
    assert (here / "menu.mmd").read_text() == mermaid(menu.FLOW)
    out, err = capsys.readouterr()
    assert f"wrote {here / 'menu.mmd'}" in out
    assert f"{archive / 'flows'} is not writable" in err and str(here) in err


def test_a_writable_package_directory_is_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "checkout" / "flows"
    package.mkdir(parents=True)
    monkeypatch.setattr(flows, "__file__", str(package / "__init__.py"))
    monkeypatch.chdir(tmp_path)
    assert main(["flows", "diagrams"]) == 0
    assert (package / "menu.mmd").read_text() == mermaid(menu.FLOW)
    assert not list(tmp_path.glob("*.mmd"))
    assert capsys.readouterr().err == ""


def test_out_chooses_where_the_diagrams_go_and_what_check_reads(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "diagrams"
    assert main(["flows", "diagrams", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s.name}.mmd" for s in FLOWS)
    assert main(["flows", "diagrams", "--check", "--out", str(out)]) == 0
    (out / "menu.mmd").write_text("old\n")
    assert main(["flows", "diagrams", "--check", "--out", str(out)]) == 1
    assert (out / "menu.mmd").read_text() == "old\n"  # --check changes nothing
