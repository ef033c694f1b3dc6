"""Render the weekly report: Markdown, one self-contained HTML file (inline CSS and SVG), JSON, CSV.

Templates are Jinja2 (``auditor/templates/``); everything that came from Prometheus (metric and label
names, label values, expressions) is escaped: HTML by autoescape, Markdown by the ``md`` filter.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pygal
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from auditor.evaluate.report import Report

FORMATS = ("markdown", "html", "json", "csv")
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
SUFFIX = {"markdown": "md", "html": "html", "json": "json", "csv": "csv"}
CSV_COLUMNS = (
    "metric", "owner", "series_start", "series_end", "change", "max_series", "usage",
    "read_by_rules", "read_by_dashboards", "new", "removed", "violations",
)  # fmt: skip


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    template = _environment().get_template("report.md.j2" if fmt == "markdown" else "report.html.j2")
    return template.render(r=report, charts=_charts(report) if fmt == "html" else {}, generated=datetime.now(UTC))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor", "templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    env.filters["day"] = lambda value: _when(value, "%a %Y-%m-%d %H:%M")
    env.filters["date"] = lambda value: _when(value, "%Y-%m-%d")
    return env


def markdown_escape(value: Any) -> str:
    """Text safe in a Markdown table cell: no HTML, no emphasis, no code spans, no table breaks."""
    text = " ".join(str(value).split())
    for char in "\\`*_{}[]<>()#+!|~":
        text = text.replace(char, "\\" + char)
    return text


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _pct(value: Any, signed: bool = True) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "∞"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def _when(value: Any, fmt: str) -> str:
    return value.strftime(fmt) if isinstance(value, datetime) else "-"


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.metrics)
    return out.getvalue()


def _charts(report: Report) -> dict[str, Any]:
    """Inline SVG: total series over the period, and a sparkline per top metric (no JavaScript)."""
    total = _line([v for _, v in report.total_series])
    sparks = {row["metric"]: _sparkline([p["series"] for p in row["trend"]]) for row in report.top_metrics}
    return {"total": total, "sparks": sparks}


def _style() -> pygal.style.Style:
    return pygal.style.Style(background="white", plot_background="white", colors=("#1f6feb",), font_family="sans-serif")


def _line(values: list[float]) -> Markup:
    if len(values) < 2:
        return Markup("")
    chart = pygal.Line(
        js=[], width=900, height=240, show_legend=False, show_dots=False, fill=True, style=_style(),
        show_x_labels=False, disable_xml_declaration=True, explicit_size=True,
    )  # fmt: skip
    chart.add("head series", values)
    return _static(chart.render(is_unicode=True))


def _sparkline(values: list[float]) -> Markup:
    if len(values) < 2:
        return Markup("")
    chart = pygal.Line(js=[], style=_style(), disable_xml_declaration=True)
    chart.add("", values)
    svg = chart.render_sparkline(width=140, height=28, interpolate=None)
    return _static(svg.decode() if isinstance(svg, bytes) else svg)


def _static(svg: str) -> Markup:
    """pygal's SVG without its inline configuration script: the report needs no JavaScript.

    Safe to mark up: pygal drew it from numbers, no outside text is in it.
    """
    return Markup(_SCRIPT.sub("", svg))
