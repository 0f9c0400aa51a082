"""Mermaid state diagrams generated from the flows' tables. Pure but for writing the files.

Each flow's diagram lives beside it as ``flows/<name>.mmd``; ``tests/flows/test_diagrams.py``
fails when one is stale, and ``ozbot flows diagrams`` (:mod:`bot.flows_cli`) rewrites them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

from bot.engine.flow import FlowSpec
from bot.nlu.base import Expect

__all__ = ["mermaid", "write_diagrams"]


def _name(state: Any) -> str:
    return str(state.value) if isinstance(state, Enum) else str(state)


def mermaid(spec: FlowSpec) -> str:
    """The flow as a Mermaid ``stateDiagram-v2``: one arrow per table row, labelled with its
    trigger; ``"*"`` sources draw from the start marker, rows without a destination loop back.
    A state that expects something of the customer is described with it (``ask_name : expects
    name``), one where the flow rests with ``rests``."""
    lines = ["---", f"title: {spec.name}: {spec.summary}", "---", "stateDiagram-v2"]
    lines.append(f"    [*] --> {_name(spec.initial)}")
    for state in spec.states:
        expects = spec.expects_in(state)
        if expects is not Expect.NOTHING:
            lines.append(f"    {_name(state)} : expects {expects.value}")
        elif spec.expects and state in spec.resting:
            lines.append(f"    {_name(state)} : rests")
    for row in spec.transitions:
        trigger, source, dest = _name(row[0]), row[1], row[2]
        sources = source if isinstance(source, list) else [source]
        for src in sources:
            left = "[*]" if src == "*" else _name(src)
            right = _name(dest) if dest is not None else left
            lines.append(f"    {left} --> {right} : {trigger}")
    return "\n".join(lines) + "\n"


def write_diagrams(
    specs: Iterable[FlowSpec], directory: Path, *, check: bool = False
) -> list[Path]:
    """Write ``<directory>/<flow>.mmd`` for each flow; returns the files that changed (with
    ``check``, changes nothing and returns the stale ones)."""
    changed = []
    for spec in specs:
        path = directory / f"{spec.name}.mmd"
        text = mermaid(spec)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not check:
            path.write_text(text, encoding="utf-8")
    return changed
