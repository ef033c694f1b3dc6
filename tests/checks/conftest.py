"""The snapshot fixture: a check's verdicts on the fixed input, compared with ``snapshots/<check>.snap``.

``pytest tests/checks --update-snapshots`` rewrites the snapshots; review the diff before committing it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from auditor.core.findings import Finding
from auditor.evaluate.checks import FindingCheck
from tests.checks.fixed import fixed_input, render

SNAPSHOTS = Path(__file__).with_name("snapshots")

Snapshot = Callable[[str, Iterable[object]], str]


def reported(snapshot: Snapshot, check: FindingCheck, kind: type[Finding]) -> dict[tuple[str, str], Finding]:
    """The check's findings on the fixed input, as its snapshot holds them, by (subject, detail)."""
    found = list(check.check(fixed_input()))
    snapshot(check.NAME, found)
    assert found
    assert all(isinstance(f, kind) and f.kind is kind.kind for f in found)
    assert len({f.identity for f in found}) == len(found), "one finding per identity"
    return {(f.subject, f.detail): f for f in found}


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Snapshot:
    update = bool(request.config.getoption("--update-snapshots"))

    def compare(name: str, verdicts: Iterable[object]) -> str:
        text = render(verdicts)
        path = SNAPSHOTS / f"{name}.snap"
        if update:
            path.write_text(text)
        assert path.exists(), f"no snapshot {path}: run `pytest tests/checks --update-snapshots` and review it"
        stored = path.read_text()
        diff = "".join(difflib.unified_diff(stored.splitlines(True), text.splitlines(True), str(path), "now"))
        assert text == stored, f"the check's verdicts differ from its snapshot:\n{diff}"
        return text

    return compare
