"""``metrics-auditor plan``: an exporter's series after the job's relabeling, against the budgets; as text, as a
pull-request comment (markdown) and as JSON (docs/plan.md)."""

from __future__ import annotations

from typing import Any, TextIO

from auditor.core.findings import Finding
from auditor.evaluate.plan import Plan, PlannedMetric


def plan_json(result: Plan, notes: list[str]) -> dict[str, Any]:
    """docs/cli.md: ``{"job", "targets", "metrics": [{"name", "series_now", "series_after", "new", "labels_new",
    "violations"}, ...], "series_now", "series_after", "violations": [...]}``."""
    by_metric: dict[str, list[dict[str, Any]]] = {}
    violations = [_violation(f) for f in result.violations]
    for finding, document in zip(result.violations, violations, strict=True):
        by_metric.setdefault(finding.subject, []).append(document)
    return {
        "job": result.job, "targets": result.targets, "series_now": result.series_now,
        "series_after": result.series_after, "samples_per_target": result.samples_per_target,
        "metrics": [_metric(m, by_metric.get(m.name, [])) for m in result.metrics],
        "collisions": [{"series": c.series, "merged": c.merged, "inputs": c.inputs} for c in result.collisions],
        "violations": violations, "notes": notes,
    }  # fmt: skip


def _metric(m: PlannedMetric, violations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": m.name, "series_now": m.series_now, "series_after": m.series_after, "new": m.new,
            "labels_new": m.labels_new, "labels": m.labels, "id_like": m.id_like, "merged_series": m.merged,
            "violations": violations}  # fmt: skip


def _violation(f: Finding) -> dict[str, Any]:
    document: dict[str, Any] = {"metric": f.subject, "owner": f.owner, "kind": f.kind.value, "series": f.series,
                                "max_series": f.max_series, "value": f.value, "limit": f.limit}  # fmt: skip
    if f.detail:
        document["label"] = f.detail
    return document


def print_plan(result: Plan, notes: list[str], out: TextIO, *, markdown: bool) -> None:
    out.write("\n".join(_lines(result, notes, markdown)) + "\n")


def _lines(result: Plan, notes: list[str], markdown: bool) -> list[str]:
    code = (lambda s: f"`{s}`") if markdown else (lambda s: s)
    verdict = (f"{len(result.violations)} budget violation(s) would open" if result.violations
               else "within budgets: no violation would open")  # fmt: skip
    head = f"plan for job {code(result.job)} x {result.targets} targets: {result.series_after:,} series; {verdict}"
    lines = [f"### {head}" if markdown else head, ""]
    lines += _table(result, markdown, code)
    for f in result.violations:
        lines.append(f"- **{f.kind.value}** {code(f.subject)}{_what(f, code)}" if markdown
                     else f"violation {f.kind.value}: {f.subject}{_what(f, code)}")  # fmt: skip
    for c in result.collisions:
        lines.append(f"- merges {c.merged} input series into one: {code(_series(c.series))}")
    lines += [f"- note: {n}" for n in notes]
    return lines


def _table(result: Plan, markdown: bool, code: Any) -> list[str]:
    rows = [(code(m.name), "-" if m.series_now is None else f"{m.series_now:,}", f"{m.series_after:,}",
             "new" if m.new else "", ", ".join(f"{code(k)} ({v})" for k, v in m.id_like.items()) or "-")
            for m in result.metrics]  # fmt: skip
    header = ("metric", "series now", "after", "new", "labels like ids")
    if markdown:
        return ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | --- | --- |",
                *("| " + " | ".join(r) + " |" for r in rows), ""]  # fmt: skip
    return ["  ".join(header), *("  ".join(r) for r in rows), ""]


def _series(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__") + "}"


def _what(f: Finding, code: Any) -> str:
    if f.kind.value == "label_policy":
        return f" ({f.owner}): label {code(f.detail)} is not allowed on it ({f.value:,.0f} values)"
    label = f" label {code(f.detail)}" if f.detail else ""
    return f"{label} ({f.owner}): {f.value:,.0f}, over {f.limit:,.0f}"
