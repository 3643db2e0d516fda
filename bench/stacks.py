"""Where a process spent its time, from py-spy's collapsed stacks (``--format raw``):

    .venv/bin/python -m bench.stacks FILE [--top 25]

Each line of the file is one stack, outermost frame first, frames joined by ``;``, then the
number of samples. The time of a sample belongs to its innermost frame (*self*) and to every
frame on its stack (*inclusive*). Frames are grouped by the package their file belongs to
(``sqlalchemy``, ``starlette``, ``ips``, the standard library's ``asyncio``…), and an idle
event loop (waiting in ``select``) is counted apart.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"(?P<function>[^ ]+) \((?P<file>[^:)]+)(?::\d+)?\)")
IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py", "poll (selectors.py")


def package(file: str) -> str:
    """``…/site-packages/sqlalchemy/engine/base.py`` → ``sqlalchemy``; ``…/src/ips/web/…``
    → ``ips.web``; the standard library's ``asyncio/…`` → ``asyncio``."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/ips/" in file or file.startswith("ips/"):
        parts = file.split("ips/", 1)[1].split("/")
        return "ips." + parts[0].removesuffix(".py") if len(parts) > 1 else "ips"
    parts = file.rsplit("/", 2)
    return parts[-2] if len(parts) > 1 and parts[-2] not in ("lib", "python3.11") else parts[-1]


def summarize(path: Path, top: int) -> None:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = [m.groupdict() for m in FRAME.finditer(stack)]
        if not frames:
            continue
        total += samples
        innermost = frames[-1]
        if any(marker in stack.rsplit(";", 1)[-1] for marker in IDLE):
            idle += samples
            continue
        self_time[f"{innermost['function']} ({innermost['file'].rsplit('/', 1)[-1]})"] += samples
        packages[package(innermost["file"])] += samples
        for name in {f"{f['function']} ({f['file'].rsplit('/', 1)[-1]})" for f in frames}:
            inclusive[name] += samples
    busy = max(total - idle, 1)
    print(f"{path}: {total} samples, {idle / max(total, 1):.0%} idle")
    print("\nby package (self time, of the busy samples):")
    for name, samples in packages.most_common(top):
        print(f"  {samples / busy:6.1%}  {name}")
    print("\nfunctions, inclusive:")
    for name, samples in inclusive.most_common(top):
        print(f"  {samples / busy:6.1%}  {name}")
    print("\nfunctions, self:")
    for name, samples in self_time.most_common(top):
        print(f"  {samples / busy:6.1%}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    summarize(args.file, args.top)


if __name__ == "__main__":
    main()
