"""Summarise py-spy raw stacks (`py-spy record -f raw`): where each service spends its samples.

`python bench/profile_summary.py FILE...` prints, per file, the share of samples whose stack
passes through each module (orderflow's files and the libraries) and the commonest leaves.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"(?P<function>.+?) \((?P<file>.+?):\d+\)")
LIBRARIES = ("asyncpg", "aiokafka", "faststream", "pydantic", "structlog", "opentelemetry")


def module_of(file: str) -> str:
    """py-spy shortens paths to the package: `shared/relay.py`, `asyncpg/connection.py`."""
    if file.startswith(("shared/", "services/")):
        return "orderflow/" + file
    return file.split("/", 1)[0]


def summarise(path: Path) -> list[str]:
    total, through, leaves = 0, Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [FRAME.match(f) for f in stack.split(";")]
        modules = {module_of(m["file"]) for m in frames if m}
        through.update(dict.fromkeys(modules, samples))
        last = frames[-1]
        leaves[f"{last['function']} ({module_of(last['file'])})" if last else "?"] += samples
    lines = [f"== {path.name}: {total} samples"]
    for module, samples in through.most_common():
        if module.startswith("orderflow/") or module in LIBRARIES:
            lines.append(f"  {100 * samples / total:5.1f}%  through {module}")
    for leaf, samples in leaves.most_common(6):
        lines.append(f"  {100 * samples / total:5.1f}%  leaf {leaf}")
    return lines


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print("\n".join(summarise(Path(name))))
