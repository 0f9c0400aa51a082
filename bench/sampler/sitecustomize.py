"""A CPU-time sampling profiler for the servers bench/webhooks.py starts (``--profile DIR``).

Python imports this module at start-up when its folder is on ``PYTHONPATH``; it does nothing
unless ``OZBOT_BENCH_PROFILE`` is set (a path prefix: the counts go to ``PREFIX-PID.txt``).
Then ``SIGUSR1`` starts sampling (from zero): ``SIGPROF`` fires every
``OZBOT_BENCH_PROFILE_HZ``-th of a second *of the process's CPU time* (``ITIMER_PROF``: user and
system time of all its threads), and the main thread's Python stack at that moment is counted.
``SIGUSR2`` stops and writes the counts as collapsed stacks, one ``frame;frame;... count`` a
line, root first, in py-spy's ``raw`` format (``bench/profile.py`` sums them up). So only the
measured window is sampled, not the start-up.

Why not py-spy: on this machine (a virtual machine on two shared cores) py-spy counts a thread
as busy while it is runnable but waiting for a core, which inflates whatever runs right after a
wake-up (socket writes); its samples came to twice the CPU time /proc reported. Sampling on the
CPU clock counts only time spent. Its limits: the kernel checks the timer at its tick, so there
are at most a few hundred samples a second of CPU whatever the rate asked (about 200 a CPU
second here: take shares, and µs as the share of the /proc figure, as bench/profile.py does);
the handler runs between bytecodes of the main thread, so C code (uvloop, SQLite) is counted at
the Python frame that called it or the next one the main thread runs.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from types import FrameType

_PATH = os.environ.get("OZBOT_BENCH_PROFILE")


def _name(code_file: str) -> str:
    """The file as py-spy names it: relative to the import root it came from."""
    best = code_file
    for root in sys.path:
        if root and code_file.startswith(root.rstrip("/") + "/"):
            candidate = code_file[len(root.rstrip("/")) + 1 :]
            if len(candidate) < len(best):
                best = candidate
    return best


def _install(path: str) -> None:
    counts: Counter[tuple[tuple[object, int], ...]] = Counter()

    def sample(_signum: int, frame: FrameType | None) -> None:
        stack = []
        while frame is not None:
            stack.append((frame.f_code, frame.f_lineno))
            frame = frame.f_back
        counts[tuple(stack)] += 1

    interval = 1 / float(os.environ.get("OZBOT_BENCH_PROFILE_HZ", "1000"))

    def begin(_signum: int, _frame: FrameType | None) -> None:
        counts.clear()
        signal.setitimer(signal.ITIMER_PROF, interval, interval)

    def write(_signum: int, _frame: FrameType | None) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        names: dict[object, str] = {}
        lines = []
        for stack, count in counts.items():
            frames = []
            for code, lineno in reversed(stack):
                name = names.get(code)
                if name is None:
                    name = f"{code.co_qualname} ({_name(code.co_filename)}"  # type: ignore[attr-defined]
                    names[code] = name
                frames.append(f"{name}:{lineno})")
            lines.append(";".join(frames) + f" {count}")
        with open(f"{path}-{os.getpid()}.tmp", "w") as out:
            out.write("\n".join(lines) + "\n")
        os.replace(f"{path}-{os.getpid()}.tmp", f"{path}-{os.getpid()}.txt")  # whole, or not there

    signal.signal(signal.SIGPROF, sample)
    signal.signal(signal.SIGUSR1, begin)
    signal.signal(signal.SIGUSR2, write)


if _PATH:
    _install(_PATH)
