"""What a rules diff would cost in series (``rules diff --prometheus``): the measured impact of one rule."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from auditor.core.rulesets import Rule

ImpactKey = tuple[str, str, str, str]
"""(section, group, name, labels): section is ``added``, ``removed`` or ``changed``; rules may share a name in a
group, one per label set (``quantile``)."""


def impact_key(section: str, rule: Rule) -> ImpactKey:
    return section, rule.group, rule.name, json.dumps(rule.labels, sort_keys=True)


@dataclass
class Impact:
    series_estimate: int | None = None
    series_current: int | None = None
    estimate_error: str | None = None
    inputs: list[tuple[str, int | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
