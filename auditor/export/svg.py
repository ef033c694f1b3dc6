"""Two small inline SVG charts for the HTML report: an area chart and a sparkline.

Hand-written on purpose: see docs/dependencies.md (pygal embeds a configuration script in every
chart, about 13 KB per sparkline, and installs an import hook that warns on Python 3.11+).
Only numbers go into these SVGs, so they are safe to embed unescaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

BLUE = "#1f6feb"


def _points(values: Sequence[float], width: float, height: float, pad: float) -> list[tuple[float, float]]:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return [(pad + i * step, height - pad - (v - low) / span * (height - 2 * pad)) for i, v in enumerate(values)]


def _line(points: Sequence[tuple[float, float]], extra: str = "") -> str:
    return f'<polyline fill="none" stroke="{BLUE}" stroke-width="1.5"{extra} points="{_path(points)}"/>'


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def sparkline(values: Sequence[float], width: int = 140, height: int = 28, projection: float | None = None) -> Markup:
    """A line of the values, scaled to their own range; empty under two points.

    With ``projection`` (the value the forecast projects), the last third of the width draws it dashed.
    """
    if len(values) < 2:
        return Markup("")
    if projection is None:
        line = _line(_points(values, width, height, 2))
    else:
        ahead = max(1, round((len(values) - 1) / 2))  # the projection spans a third of the width
        slots = [*values, *([values[-1]] * (ahead - 1)), projection]
        points = _points(slots, width, height, 2)
        past, future = points[: len(values)], [points[len(values) - 1], points[-1]]
        line = _line(past) + _line(future, ' stroke-dasharray="3 2"')
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="trend">{line}</svg>'
    )


def area(values: Sequence[float], labels: tuple[str, str], width: int = 900, height: int = 220) -> Markup:
    """An area chart with the minimum and maximum marked, and the first and last time under it."""
    if len(values) < 2:
        return Markup("")
    pad, bottom = 40, height - 24
    points = _points(values, width - pad, bottom, 8)
    points = [(x + pad - 8, y) for x, y in points]
    polygon = _path([(points[0][0], bottom), *points, (points[-1][0], bottom)])
    low, high = min(values), max(values)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="series over the period">'
        f'<polygon fill="{BLUE}" fill-opacity="0.25" points="{polygon}"/>'
        f'<polyline fill="none" stroke="{BLUE}" stroke-width="2" points="{_path(points)}"/>'
        f'<text x="0" y="14" font-size="11" fill="#656d76">{high:,.0f}</text>'
        f'<text x="0" y="{bottom - 4}" font-size="11" fill="#656d76">{low:,.0f}</text>'
        f'<text x="{pad}" y="{height - 6}" font-size="11" fill="#656d76">{_escape(labels[0])}</text>'
        f'<text x="{width - 8}" y="{height - 6}" font-size="11" fill="#656d76" text-anchor="end">'
        f"{_escape(labels[1])}</text></svg>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
