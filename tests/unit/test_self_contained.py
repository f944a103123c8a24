"""A clone has only this repository: nothing in the product or its tests reaches beside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
# A path built above the repository root, or a relative one that climbs out of it.
OUTSIDE = re.compile(r"""parents\[2\]\.parent|\.\./shared|parent\.parent\.parent""")


def test_no_source_file_reads_beside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "services", "tests", "demo", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__) and OUTSIDE.search(path.read_text())
    ]
    assert offenders == []


def test_fixtures_the_tests_use_are_in_the_repository() -> None:
    fixtures = ROOT / "tests" / "fixtures"
    assert (fixtures / "SOURCES.md").is_file()
    assert (fixtures / "SIGNATURES.md").is_file()
    assert len(list(fixtures.glob("*.json"))) >= 10
