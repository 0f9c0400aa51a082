"""Sum up py-spy's collapsed stacks (``bench/webhooks.py --py-spy DIR`` writes them).

    .venv/bin/python bench/profile.py DIR/ozbot_new-sqlite-0.txt [--top 40] [--match httpx]

Prints the share of samples spent inside each package (inclusive: a sample counts once for
every package on its stack), then the functions with the most samples on their own (self time)
and inclusive. ``--match`` keeps only the stacks that pass through a frame containing it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

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
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    for line in args.stacks.read_text().splitlines():
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
    print("\npackages (inclusive):")
    for name, count in packages.most_common(args.top):
        print(f"  {count / busy:6.1%}  {name}")
    print("\nself:")
    for name, count in own.most_common(args.top):
        print(f"  {count / busy:6.1%}  {name}")
    print("\ninclusive:")
    for name, count in inclusive.most_common(args.top):
        print(f"  {count / busy:6.1%}  {name}")


if __name__ == "__main__":
    main()
