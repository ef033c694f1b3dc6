"""Render the weekly report: Markdown, one self-contained HTML file (inline CSS and SVG), JSON, CSV.

Templates are Jinja2 (``auditor/templates/``); everything that came from Prometheus (metric and label
names, label values, expressions) is escaped: HTML by autoescape, Markdown by the ``md`` filter.
Charts are inline SVG drawn from numbers (``export/svg.py``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from auditor.core.durations import approximate
from auditor.evaluate.fleet import COLUMNS as FLEET_COLUMNS
from auditor.evaluate.fleet import Fleet
from auditor.evaluate.report import Report
from auditor.export import jsondoc
from auditor.export.svg import area, sparkline

SUFFIX = {"markdown": "md", "html": "html", "json": "json", "csv": "csv"}
CSV_COLUMNS = (
    "metric", "owner", "series_start", "series_end", "change", "max_series", "usage",
    "read_by_rules", "read_by_dashboards", "new", "removed", "violations", "labels_not_allowed",
    "scope", "jobs", "targets", "series_added", "largest_target", "largest_target_samples", "sample_limit",
    "limit_usage", "limit_seconds", "forecast_date", "projected_series",
)  # fmt: skip
"""Metric rows (``scope`` metric; ``jobs``: who sent it), then job rows (``scope`` job; ``jobs``: its name)."""


def render(report: Report, fmt: str, generated: datetime | None = None) -> str:
    """``generated`` (the caller's clock) is printed in HTML; left out, the page says when the period ended."""
    if fmt == "json":
        return jsondoc.dumps(report.to_json(), indent=2) + "\n"
    if fmt == "csv":
        return _csv([{column: getattr(row, column) for column in CSV_COLUMNS} for row in report.metrics], CSV_COLUMNS)
    template = _environment().get_template("report.md.j2" if fmt == "markdown" else "report.html.j2")
    written = generated or report.period.end
    return template.render(r=report, charts=_charts(report) if fmt == "html" else None, generated=written)


def render_fleet(fleet: Fleet, fmt: str, generated: datetime | None = None) -> str:
    """The fleet report (one row per source) in any of the report formats."""
    if fmt == "json":
        return jsondoc.dumps(fleet.to_json(), indent=2) + "\n"
    if fmt == "csv":
        return _csv([asdict(row) for row in fleet.sources], FLEET_COLUMNS)
    template = _environment().get_template("fleet.md.j2" if fmt == "markdown" else "fleet.html.j2")
    return template.render(f=fleet, generated=generated)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor", "templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["mdcode"] = markdown_code
    env.filters["mdprose"] = markdown_prose
    env.filters["htmlprose"] = html_prose
    env.filters["num"] = _num
    env.filters["eta"] = approximate
    env.filters["pct"] = _pct
    env.filters["day"] = lambda value: _when(value, "%a %Y-%m-%d %H:%M")
    env.filters["date"] = lambda value: _when(value, "%Y-%m-%d")
    return env


def markdown_escape(value: object) -> str:
    """Text safe in a Markdown table cell: no HTML, no emphasis, no code spans, no table breaks."""
    return _escape_chars(" ".join(str(value).split()))


def _escape_chars(text: str) -> str:
    for char in "\\`*_{}[]<>()#+!|~":
        text = text.replace(char, "\\" + char)
    return text


def markdown_code(value: object) -> str:
    """A name as a code span: copied or grepped as it is (``new_feature_flags``, not ``new\\_feature\\_flags``).

    The fence is longer than any run of backticks inside; a pipe stays escaped, as GFM tables need.
    """
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_CODE = re.compile(r"`([^`]+)`")


def markdown_prose(value: object) -> str:
    """Text whose `code` spans stay code spans; everything else escaped like ``markdown_escape``."""
    text = " ".join(str(value).split())
    parts = _CODE.split(text)
    return "".join(markdown_code(part) if i % 2 else _escape_chars(part) for i, part in enumerate(parts))


def html_prose(value: object) -> Markup:
    """Text whose `code` spans become ``<code>``; everything else HTML-escaped."""
    parts = _CODE.split(str(value))
    pieces = (Markup("<code>{}</code>").format(part) if i % 2 else escape(part) for i, part in enumerate(parts))
    return Markup("").join(pieces)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "∞"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def _when(value: object, fmt: str) -> str:
    return value.strftime(fmt) if isinstance(value, datetime) else "-"


def _csv(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class Charts:
    total: Markup
    sparks: dict[str, Markup]
    """metric -> its sparkline, for the top metrics."""


def _charts(report: Report) -> Charts:
    """Inline SVG: total series over the period, and a sparkline per top metric (no JavaScript)."""
    start, end = report.period.start, report.period.end
    labels = (_when(start, "%a %Y-%m-%d %H:%M"), _when(end, "%a %Y-%m-%d %H:%M"))
    total = area([v for _, v in report.total_series], labels)
    projected = {r.metric: r.projected_series for r in (report.forecast.metrics if report.forecast else [])}
    sparks = {
        row.metric: sparkline([p.series for p in row.trend], projection=projected.get(row.metric))
        for row in report.top_metrics
    }
    return Charts(total, sparks)
