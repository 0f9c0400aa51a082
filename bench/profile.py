"""Sum up collapsed stacks: ``bench/webhooks.py --profile DIR`` (CPU-clock samples of the
measured window, bench/sampler) or ``--py-spy DIR`` writes them.

    .venv/bin/python bench/profile.py DIR/ozbot_new-sqlite-telegram-0.txt [--top 40]
        [--match httpx] [--tree 'CustomerTurns._turn' --depth 3]

Prints the share of samples spent inside each package (inclusive: a sample counts once for
every package on its stack), then the functions with the most samples on their own (self time)
and inclusive. ``--match`` keeps only the stacks that pass through a frame containing it;
``--tree`` prints what runs under the first frame containing it, ``--depth`` levels down. A
``--profile`` file says how many turns it covers and the server's CPU over them: every share is
then also shown in microseconds of CPU per turn (the share of the /proc figure).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

LINE = re.compile(r":\d+\)$")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")
IDLE = ("select (selectors.py", "run_once (uvloop", "_run_once (asyncio", "poll (selectors")


def package(file: str) -> str:
    """py-spy names files from their import root (``telegram/_bot.py``, ``bot/engine/turns.py``):
    the first part names the package; ours are split one level further."""
    parts = file.split("/")
    if parts[0] in ("bot", "flows") and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="")
    parser.add_argument("--tree", default="", help="a frame to show what runs under")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--min", type=float, default=0.003, help="tree: smallest share shown")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    per_turn = 0.0  # microseconds of CPU per turn that all the busy samples stand for
    tree: Node = {}
    for line in args.stacks.read_text().splitlines():
        if line.startswith("#"):
            words = line[1:].split()
            facts = dict(zip(words[::2], words[1::2], strict=False))
            if "turns" in facts and "cpu" in facts:
                per_turn = float(facts["cpu"]) / max(int(facts["turns"]), 1) * 1e6
            continue
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if args.match and not any(args.match in f for f in frames):
            continue
        total += count
        if any(frames[-1].startswith(i) for i in IDLE):
            idle += count
            continue
        own[frames[-1]] += count
        if args.tree:
            add(tree, frames, args.tree, args.depth, count)
        for name in set(frames):
            inclusive[name] += count
        seen = set()
        for frame in frames:
            found = FRAME.match(frame)
            if found:
                seen.add(package(found["file"]))
        for name in seen:
            packages[name] += count
    busy = max(total - idle, 1)
    print(f"{total} samples, {idle} idle; shares below are of the {busy} busy ones")
    if per_turn:
        print(f"(the server's CPU per turn over this window: {per_turn:.0f} us)")

    def share(count: int) -> str:
        us = f" {count / busy * per_turn:6.0f} us" if per_turn else ""
        return f"{count / busy:6.1%}{us}"

    if args.tree:
        print(f"\nunder {args.tree}:")
        show(tree, share, busy * args.min, 1)
        return
    print("\npackages (inclusive):")
    for name, count in packages.most_common(args.top):
        print(f"  {share(count)}  {name}")
    print("\nself:")
    for name, count in own.most_common(args.top):
        print(f"  {share(count)}  {name}")
    print("\ninclusive:")
    for name, count in inclusive.most_common(args.top):
        print(f"  {share(count)}  {name}")


Node = dict[str, tuple[list[int], "Node"]]


def add(tree: Node, frames: list[str], root: str, depth: int, count: int) -> None:
    """Count ``frames`` below the first one containing ``root``, ``depth`` levels down."""
    start = next((i for i, frame in enumerate(frames) if root in frame), None)
    if start is None:
        return
    node = tree
    for frame in [frames[start], *frames[start + 1 : start + 1 + depth]]:
        counted, node = node.setdefault(LINE.sub(")", frame), ([0], {}))
        counted[0] += count


def show(tree: Node, share: Callable[[int], str], smallest: float, indent: int) -> None:
    for frame, (counted, below) in sorted(tree.items(), key=lambda kv: -kv[1][0][0]):
        if counted[0] >= smallest:
            print(f"{'  ' * indent}{share(counted[0])}  {frame}")
            show(below, share, smallest, indent + 1)


if __name__ == "__main__":
    main()
