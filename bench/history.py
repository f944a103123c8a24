"""bench/results/history.jsonl: one line per run (date, commit, machine, sizes, headline
numbers), so a regression shows; and this run's headline beside the previous run's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "bench" / "results" / "history.jsonl"


def commit() -> dict[str, Any]:
    """The commit measured, and whether tracked files differed from it."""

    executable = shutil.which("git")

    def git(*args: str) -> str:
        if executable is None:
            return ""
        done = subprocess.run([executable, *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short=12", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def line(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": document["finished_at"],
        **document["commit"],
        "machine": document["machine"],
        "settings": document["settings"],
        "headline": document["headline"],
    }


def runs(path: Path = HISTORY) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = (text for text in path.read_text().splitlines() if text.strip())
    return [json.loads(text) for text in lines]


def previous(settings: dict[str, Any], path: Path = HISTORY) -> dict[str, Any] | None:
    """The last run with the same sizes, else the last run of all (its sizes then differ)."""
    earlier = runs(path)
    same = [run for run in earlier if run.get("settings") == settings]
    if same or earlier:
        return (same or earlier)[-1]
    return None


def append(document: dict[str, Any], path: Path = HISTORY) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as history:
        history.write(json.dumps(line(document), sort_keys=True) + "\n")


def comparison(
    document: dict[str, Any], before: dict[str, Any] | None, path: Path = HISTORY
) -> str:
    """Every headline number of this run beside the previous run's, with the change."""
    now: dict[str, Any] = document["headline"]
    if before is None:
        return f"previous run: none in {path} (this is the first)"
    then: dict[str, Any] = before.get("headline", {})
    title = f"previous run: {before.get('date')} at {before.get('commit')}"
    if before.get("dirty"):
        title += " (uncommitted changes)"
    if before.get("settings") != document["settings"]:
        title += " - other sizes, so not comparable one to one"
    rows = [("number", "this run", "previous", "change")]
    for name in sorted(now.keys() | then.keys()):
        rows.append((name, _shown(now.get(name)), _shown(then.get(name)), _change(now, then, name)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    text = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join([title, text[0], "-" * len(text[0]), *text[1:]])


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _change(now: dict[str, Any], then: dict[str, Any], name: str) -> str:
    a, b = now.get(name), then.get(name)
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return ""
    return f"{(a - b) / abs(b) * 100:+.0f}%"
