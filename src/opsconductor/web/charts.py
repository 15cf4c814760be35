"""Charts drawn as SVG on the server: a column chart over time, a sparkline, horizontal bars.

Each returns markup for the page (labels escaped); sizes are in viewBox units, so a chart
scales with its container. Every chart carries a ``<title>`` and a text summary for screen
readers; colours come from CSS classes, not inline styles (the CSP allows no inline style).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Bucket:
    """One column of a time chart: its label (a time) and its value."""

    label: str
    value: float


def _scale(values: Sequence[float]) -> float:
    top = max(values, default=0.0)
    return top if top > 0 else 1.0


def columns(buckets: Sequence[Bucket], title: str, unit: str = "", height: int = 120) -> Markup:
    """A column chart, one column per bucket, with the peak marked on the axis."""
    width = max(len(buckets), 1) * 10
    top = _scale([b.value for b in buckets])
    parts = [
        f'<svg class="chart columns" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="none" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/>',
    ]
    for index, bucket in enumerate(buckets):
        tall = bucket.value / top * (height - 4)
        parts.append(
            f'<rect class="bar" x="{index * 10 + 1}" y="{height - tall:.1f}" width="8" '
            f'height="{tall:.1f}"><title>{escape(bucket.label)}: {bucket.value:,.0f}'
            f"{escape(unit)}</title></rect>"
        )
    parts.append("</svg>")
    parts.append(f'<p class="chart-note">peak {top:,.0f}{escape(unit)}</p>')
    return Markup("".join(parts))


def sparkline(values: Sequence[float], title: str, width: int = 120, height: int = 28) -> Markup:
    """A small line of ``values`` (oldest first), for a row of a table or a detail page."""
    if not values:
        return Markup(f'<span class="muted">{escape("no data")}</span>')
    top = _scale(values)
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - v / top * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="chart spark" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<polyline class="line" points="{points}"/></svg>'
    )


def bars(items: Sequence[tuple[str, float]], title: str) -> Markup:
    """Horizontal bars with their labels and values (e.g. the noisiest devices)."""
    if not items:
        return Markup('<p class="muted">Nothing in this period.</p>')
    top = _scale([value for _, value in items])
    rows = []
    for label, value in items:
        share = value / top * 100
        rows.append(
            f'<li><span class="bar-label">{escape(label)}</span>'
            f'<svg class="hbar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect class="bar" x="0" y="0" width="{share:.1f}" height="8"/></svg>'
            f'<span class="bar-value">{value:,.0f}</span></li>'
        )
    return Markup(f'<ul class="bars" aria-label="{escape(title)}">{"".join(rows)}</ul>')
