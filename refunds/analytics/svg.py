"""Server-rendered SVG charts: no script, no CDN, nothing to load. Each has a title and a
description for screen readers, labelled axes, and the figures are also in a table beside it.
Bars that miss a target are hatched as well as coloured, so colour is never the only cue."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 44
OK, LATE, AXIS, TEXT = "#2e7d4f", "#b42318", "#8a8f98", "#3b4049"
_counter = iter(range(1, 1_000_000_000))


def _frame(n: int, title: str, desc: str, body: str, height: int = HEIGHT) -> SafeString:
    return mark_safe(
        f'<svg class="rq-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
        f'<defs><pattern id="rq-hatch-{n}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f6d3cf"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{LATE}" stroke-width="2.5"/></pattern></defs>'
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="600" fill="{TEXT}">'
        f"{escape(title)}</text>"
        f"{body}</svg>"
    )


def bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    y_label: str,
    x_label: str,
    top: float = 100.0,
    target: float | None = None,
    unit: str = "%",
) -> SafeString:
    """Vertical bars, one per label; `None` is drawn as a gap (nothing to count that day)."""
    chart = next(_counter)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(values))
    step = plot_w / n
    parts = []
    for tick in range(0, 5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="{TEXT}">{value:g}{unit}</text>'
        )
    every = max(1, round(n / 10))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step
        if value is not None:
            h = plot_h * min(value, top) / top if top else 0
            missed = target is not None and value < target
            fill = f"url(#rq-hatch-{chart})" if missed else OK
            parts.append(
                f'<rect x="{x + step * 0.12:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{step * 0.76:.1f}" height="{h:.1f}" fill="{fill}">'
                f"<title>{escape(label)}: {value:g}{unit}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            )
    if target is not None and top:
        y = TOP + plot_h - plot_h * target / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LATE}" '
            f'stroke-dasharray="5 3"/><text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" font-size="10" '
            f'text-anchor="end" fill="{LATE}">target {target:g}{unit}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}">{escape(x_label)}</text>'
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    desc = f"{y_label} by {x_label}: " + "; ".join(
        f"{label} {'no data' if value is None else f'{value:g}{unit}'}"
        for label, value in zip(labels, values, strict=True)
    )
    return _frame(chart, title, desc, "".join(parts))


def hbars(
    title: str,
    labels: Sequence[str],
    values: Sequence[int],
    *,
    x_label: str,
    late_from: int | None = None,
) -> SafeString:
    """Horizontal bars (counts per bucket); buckets from index `late_from` on are hatched."""
    chart = next(_counter)
    row = 26
    height = TOP + row * max(1, len(values)) + BOTTOM
    left = 120
    plot_w = WIDTH - left - RIGHT - 40
    top = max([*values, 1])
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * row
        w = plot_w * value / top
        late = late_from is not None and i >= late_from
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="11" text-anchor="end" '
            f'fill="{TEXT}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{f"url(#rq-hatch-{chart})" if late else OK}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="11" fill="{TEXT}">{value}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" font-size="11" '
        f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
    )
    desc = f"{x_label}: " + "; ".join(
        f"{label} {value}" for label, value in zip(labels, values, strict=True)
    )
    return _frame(chart, title, desc, "".join(parts), height=height)
