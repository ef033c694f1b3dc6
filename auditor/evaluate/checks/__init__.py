"""The checks, one module each, named as the check, and the registry tying them to their tests and pages.

Each module has ``NAME`` and ``check(EvaluationInput)``; its page is ``docs/checks/<NAME>.md``, its tests
``tests/checks/test_<NAME>.py`` with the snapshot ``tests/checks/snapshots/<NAME>.snap`` of what it reports on
one fixed input (``tests/test_docs.py`` keeps the four in step).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from auditor.core.findings import Finding
from auditor.evaluate.checks import (
    forecast,
    growth,
    job,
    job_growth,
    label,
    label_policy,
    scrape_limit,
    series,
    unprotected_job,
)
from auditor.evaluate.model import EvaluationInput


class FindingCheck(Protocol):
    """A check whose verdicts are findings: stored, alerted on, shown in the report."""

    NAME: str

    def check(self, inp: EvaluationInput, /) -> Iterator[Finding]: ...


FINDING_CHECKS: tuple[FindingCheck, ...] = (
    series, growth, label, label_policy, job, job_growth, scrape_limit, unprotected_job,
)  # fmt: skip
"""Every check that reports findings, in the order their findings are listed."""

NAMES: tuple[str, ...] = (*(c.NAME for c in FINDING_CHECKS), forecast.NAME)
"""Every check: the finding checks, then the forecast (its verdicts are figures: seconds to a limit)."""

__all__ = ["FINDING_CHECKS", "NAMES", "FindingCheck", "forecast"]
