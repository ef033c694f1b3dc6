"""``budgets init``: a starter ``rules/budgets.yml`` from the newest stored census, with where each number came from.

Every budget is the figure of that census plus headroom, rounded up to two significant digits, so the
file passes ``budgets check`` as written and ``check`` finds no violation on the census it came from.
The label policy is only suggested (commented out): denying a label is a team's decision.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from auditor.core.budgets import ALWAYS_ALLOWED, DEFAULT_OWNER, DEFAULTS
from auditor.core.domain import Census, LabelStats

LABELS_PER_METRIC = 3
IDENTIFIER = re.compile(
    r"(^|_)(id|uuid|guid|email|e_?mail|ip|ip_?addr(ess)?|remote_addr|token|session|trace_?id|span_?id)$"
    r"|^(user|session|request|customer|account|client|device|order|trace|span|tenant_user)_",
    re.IGNORECASE,
)
"""Label names that usually hold one value per user, request or address: unbounded by nature."""
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_:.-]*")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


@dataclass(frozen=True)
class StarterOptions:
    top: int = 10
    headroom: float = 0.2
    owner: str | None = None


@dataclass(frozen=True)
class StarterInput:
    census: Census
    labels: dict[str, dict[str, LabelStats]] = field(default_factory=dict)
    """The newest drill-down (and label-policy scan): metric -> label -> values."""


def readable(value: float) -> int:
    """``value`` rounded up to two significant digits: 1481 -> 1500, 57.6 -> 58, 7.2 -> 8."""
    if value <= 10:
        return max(1, math.ceil(value))
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return int(math.ceil(value / step - 1e-9) * step)


def warn_ratio(headroom: float) -> float:
    """A warning ratio past the usage a fresh budget starts at (1 / (1 + headroom)), never below the default."""
    start = 1 / (1 + headroom)
    return min(0.95, max(DEFAULTS.warn_ratio, math.ceil((start + 0.05) * 20) / 20))


def render(inp: StarterInput, options: StarterOptions) -> str:
    census = inp.census
    ranked = sorted(census.metrics.items(), key=lambda kv: (-kv[1], kv[0]))
    top, rest = ranked[: options.top], ranked[options.top :]
    lines = _header(census, options)
    lines += _defaults(rest, options, _identifiers(inp))
    lines.append("metrics:" if top else "metrics: []")
    for metric, series in top:
        lines += _entry(metric, series, inp.labels.get(metric, {}), options)
    return "\n".join(lines) + "\n"


def _header(census: Census, options: StarterOptions) -> list[str]:
    at = census.collected_at.strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"# Starter budgets for {census.source}, from its census of {at} (the newest stored).",
        f"# Written by `metrics-auditor budgets init --top {options.top} --headroom {options.headroom:g}`.",
        f"# Each max_series and max_values is that census' figure plus {options.headroom:.0%} headroom, rounded up",
        "# to two significant digits. Review it, give each entry its owner, then `budgets check` and commit it.",
    ]


def _defaults(rest: list[tuple[str, int]], options: StarterOptions, identifiers: list[str]) -> list[str]:
    biggest = rest[0] if rest else None
    default = max(DEFAULTS.max_series, readable(biggest[1] * (1 + options.headroom))) if biggest else None
    where = (
        f"the largest metric without an entry, {biggest[0]}, had {biggest[1]:,} series"
        if biggest
        else "every metric has an entry"
    )
    lines = ["defaults:", f"  owner: {_scalar(options.owner or DEFAULT_OWNER)}"]
    lines.append(f"  max_series: {default or DEFAULTS.max_series}   # {where}")
    ratio = warn_ratio(options.headroom)
    lines.append(f"  warn_ratio: {ratio:g}   # a fresh budget starts at {1 / (1 + options.headroom):.0%} of itself")
    lines.append("  # max_growth: {7d: 0.2}   # uncomment to flag metrics that grow more than 20 % in a week")
    lines += identifiers
    return lines


def _entry(metric: str, series: int, labels: dict[str, LabelStats], options: StarterOptions) -> list[str]:
    lines = [f"  - name: {_scalar(metric)}"]
    if options.owner:
        lines.append(f"    owner: {_scalar(options.owner)}")
    lines.append(f"    max_series: {readable(series * (1 + options.headroom))}   # {series:,} series")
    biggest = sorted(
        ((s.values, name) for name, s in labels.items() if name not in ALWAYS_ALLOWED and s.values > 1),
        reverse=True,
    )[:LABELS_PER_METRIC]
    if biggest:
        lines.append("    labels:   # its labels with most values in the drill-down")
        lines += [
            f"      {_scalar(name)}: {{max_values: {readable(values * (1 + options.headroom))}}}   # {values:,} values"
            for values, name in biggest
        ]
    return lines


def _identifiers(inp: StarterInput) -> list[str]:
    """A commented-out ``labels_denied``: labels of this server that look like identifiers, and who carries them."""
    values: dict[str, int] = dict(inp.census.label_stats.get("labelValueCountByLabelName", {}))
    carriers: dict[str, list[tuple[int, str]]] = {}
    for metric, labels in inp.labels.items():
        for name, stats in labels.items():
            values[name] = max(values.get(name, 0), stats.values)
            carriers.setdefault(name, []).append((stats.values, metric))
    found = sorted(name for name in values if IDENTIFIER.search(name) and name not in ALWAYS_ALLOWED)
    if not found:
        return ["  # labels_denied: []   # no label of this server looks like an identifier (user_id, email, ip...)"]
    lines = [
        "  # Labels of this server that look like identifiers (one value per user, request or address).",
        "  # Uncomment to deny them everywhere; an entry can allow one again (labels_allowed).",
        f"  # labels_denied: [{', '.join(_scalar(name) for name in found)}]",
    ]
    for name in found:
        who = ", ".join(f"{m} ({n:,})" for n, m in sorted(carriers.get(name, []), reverse=True)[:5])
        lines.append(f"  #   {name}: {values[name]:,} values" + (f"; carried by {who}" if who else ""))
    return lines


def _scalar(text: str) -> str:
    """A YAML scalar for a name: bare when plain, else a double-quoted (JSON) string."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)
