"""Server-rendered SVG charts: no script, no CDN, nothing to load. Each has a title and a
description for screen readers, labelled axes, and the figures are also in a table beside it.
Bars that miss a target are hatched as well as coloured, so colour is never the only cue."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 44
OK, LATE, AXIS, TEXT = "#2e7d4f", "#b42318", "#8a8f98", "#3b4049"
_counter = iter(range(1, 1_000_000_000))


def _frame(
    n: int,
    title: str,
    desc: str,
    body: str,
    height: int = HEIGHT,
    width: int = WIDTH,
    left: int = LEFT,
) -> SafeString:
    return mark_safe(
        f'<svg class="rq-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
        f'<defs><pattern id="rq-hatch-{n}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f6d3cf"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{LATE}" stroke-width="2.5"/></pattern></defs>'
        f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="{TEXT}">'
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
    label_width: int = 120,
    value_labels: Sequence[str] | None = None,
) -> SafeString:
    """Horizontal bars (counts per bucket); buckets from index `late_from` on are hatched.

    The label column is `label_width` wide, or wider for a longer label; `value_labels`, when
    given, are printed after each bar instead of the bare count."""
    chart = next(_counter)
    row = 26
    height = TOP + row * max(1, len(values)) + BOTTOM
    # Wide enough for the longest label (about 6 units a character at this size), up to half.
    left = min(WIDTH // 2, max(label_width, 12 + round(6.2 * max(map(len, labels), default=0))))
    texts = list(value_labels) if value_labels is not None else [str(v) for v in values]
    plot_w = WIDTH - left - RIGHT - max(40, 6 * max(map(len, texts), default=0))
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
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="11" fill="{TEXT}">'
            f"{escape(texts[i])}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" font-size="11" '
        f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
    )
    desc = f"{x_label}: " + "; ".join(
        f"{label} {text}" for label, text in zip(labels, texts, strict=True)
    )
    return _frame(chart, title, desc, "".join(parts), height=height)


# Fills told apart by pattern as well as colour: solid, diagonal stripes, dots.
SERIES = ("#2b5c8a", "#b26a00", "#6b4c9a")


def _series_fills(chart: int) -> tuple[str, list[str]]:
    defs = (
        f'<defs><pattern id="rq-stripes-{chart}" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f8e3c4"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{SERIES[1]}" stroke-width="3"/></pattern>'
        f'<pattern id="rq-dots-{chart}" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="#e6def0"/>'
        f'<circle cx="2.5" cy="2.5" r="1.4" fill="{SERIES[2]}"/></pattern></defs>'
    )
    return defs, [SERIES[0], f"url(#rq-stripes-{chart})", f"url(#rq-dots-{chart})"]


def _nice_top(value: float) -> float:
    """The smallest round number at or above `value` whose quarters are round too."""
    if value <= 0:
        return 1.0
    quarter, power = value / 4, 1.0
    while power * 10 <= quarter:
        power *= 10
    while power > quarter:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if quarter <= step * power:
            return 4 * step * power
    return 40 * power


def _amount(value: float, prefix: str) -> str:
    text = f"{value:,.2f}".removesuffix(".00")
    return f"{prefix}{text}"


def _tick(value: float, prefix: str) -> str:
    """An axis label, short enough for the margin: $750, $1,500, $12.5k."""
    if value >= 10_000:
        return f"{prefix}{value / 1000:,.1f}".removesuffix(".0") + "k"
    return _amount(value, prefix)


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    y_label: str,
    x_label: str,
    prefix: str = "$",
) -> SafeString:
    """Vertical bars, one per label, each a stack of up to three series; the legend names each
    series' fill, which differs in pattern as well as colour."""
    chart = next(_counter)
    defs, fills = _series_fills(chart)
    left = LEFT + 16  # room for amounts such as $12,500 on the axis
    top_y, height = TOP + 20, HEIGHT + 20  # the legend's line under the title
    plot_w, plot_h = WIDTH - left - RIGHT, height - top_y - BOTTOM
    n = max(1, len(labels))
    step = plot_w / n
    totals = [sum(float(values[i] or 0) for _, values in series) for i in range(len(labels))]
    top = _nice_top(max(totals, default=0))
    parts = [defs]
    for tick in range(0, 5):
        y = top_y + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="{TEXT}">{_tick(top * tick / 4, prefix)}</text>'
        )
    every = max(1, round(n / 10))
    for i, label in enumerate(labels):
        x, base = left + i * step, top_y + plot_h
        for (name, values), fill in zip(series, fills, strict=False):
            value = float(values[i] or 0)
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(
                f'<rect x="{x + step * 0.12:.1f}" y="{base:.1f}" width="{step * 0.76:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="#ffffff" stroke-width="0.5">'
                f"<title>{escape(label)}, {escape(name)}: {_amount(value, prefix)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{top_y + plot_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            )
    middle = top_y + plot_h / 2
    # The legend, on its own line under the title, so it is in view on a narrow screen too.
    x = LEFT
    for (name, _), fill in zip(series, fills, strict=False):
        parts.append(
            f'<rect x="{x}" y="23" width="12" height="12" fill="{fill}" stroke="{AXIS}" '
            f'stroke-width="0.5"/><text x="{x + 16}" y="33" font-size="11" '
            f'fill="{TEXT}">{escape(name)}</text>'
        )
        x += 16 + 7 * len(name) + 18
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top_y}" y2="{top_y + plot_h}" stroke="{AXIS}"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}">{escape(x_label)}</text>'
        f'<text x="12" y="{middle:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 12 {middle:.1f})">{escape(y_label)}</text>'
    )
    desc = f"{y_label} by {x_label}: " + "; ".join(
        f"{label} "
        + ", ".join(f"{name} {_amount(float(values[i] or 0), prefix)}" for name, values in series)
        for i, label in enumerate(labels)
    )
    return _frame(chart, title, desc, "".join(parts), height=height)


def share_hbars(
    title: str,
    labels: Sequence[str],
    parts: Sequence[int],
    wholes: Sequence[int],
    *,
    x_label: str,
) -> SafeString:
    """Horizontal bars of a share (part of whole, 0–100%) with the counts beside each bar; a row
    with nothing to count says so rather than drawing a zero."""
    chart = next(_counter)
    row, left, room = 26, 210, 104
    height = TOP + row * max(1, len(labels)) + BOTTOM
    plot_w = WIDTH - left - RIGHT - room
    body = []
    for tick in range(0, 5):
        x = left + plot_w * tick / 4
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - BOTTOM + 4}" '
            f'stroke="#e3e5e8"/><text x="{x:.1f}" y="{height - BOTTOM + 16}" font-size="10" '
            f'text-anchor="middle" fill="{TEXT}">{25 * tick}%</text>'
        )
    for i, (label, part, whole) in enumerate(zip(labels, parts, wholes, strict=True)):
        y = TOP + i * row
        short = label if len(label) <= 32 else label[:31] + "…"
        body.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="11" text-anchor="end" '
            f'fill="{TEXT}"><title>{escape(label)}</title>{escape(short)}</text>'
        )
        if not whole:
            body.append(
                f'<text x="{left + 4}" y="{y + 16}" font-size="11" fill="{AXIS}">'
                "none to count</text>"
            )
            continue
        share = 100 * part / whole
        w = plot_w * part / whole
        body.append(
            f'<rect x="{left}" y="{y + 5}" width="{max(w, 1):.1f}" height="{row - 10}" '
            f'fill="{SERIES[0]}"/><text x="{left + w + 6:.1f}" y="{y + 16}" font-size="11" '
            f'fill="{TEXT}">{share:.0f}% · {part} of {whole}</text>'
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" font-size="11" '
        f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
    )
    desc = f"{x_label}: " + "; ".join(
        f"{label} {f'{100 * part / whole:.0f}% ({part} of {whole})' if whole else 'none'}"
        for label, part, whole in zip(labels, parts, wholes, strict=True)
    )
    return _frame(chart, title, desc, "".join(body), height=height)


# Shades of a heatmap, light to dark, and the text colour that reads on each.
SHADES = [("#dbe9f6", TEXT), ("#9ecae1", TEXT), ("#4292c6", "#ffffff"), ("#08519c", "#ffffff")]
EMPTY = "#f5f6f7"


def _compact(value: int) -> str:
    return str(value) if value < 1000 else f"{value / 1000:.1f}k"


def heatmap(
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[int]],
    *,
    x_label: str,
    y_label: str,
    unit: str,
) -> SafeString:
    """A grid of counts, shaded in up to four steps of the largest; each count is also printed in
    its cell (an empty cell is zero) and named in its tooltip, so no value needs the colour."""
    chart = next(_counter)
    left, cell_h = 52, 22
    cell_w = (WIDTH - left - RIGHT) / max(1, len(columns))
    grid_top = TOP + 4
    grid_h = cell_h * len(rows)
    top = max((v for row in values for v in row), default=0)
    # The upper bound of each shade: a quarter, a half, three quarters and all of the largest.
    bounds = sorted({math.ceil(top * k / 4) for k in range(1, 5)}) if top else []
    shades = SHADES[len(SHADES) - len(bounds) :]

    def shade(value: int) -> tuple[str, str]:
        if value <= 0:
            return EMPTY, TEXT
        return next(s for b, s in zip(bounds, shades, strict=True) if value <= b)

    font = 10 if cell_w >= 22 else 8
    parts = []
    for r, (row_label, row) in enumerate(zip(rows, values, strict=True)):
        y = grid_top + r * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" font-size="10" '
            f'text-anchor="end" fill="{TEXT}">{escape(row_label)}</text>'
        )
        for c, (column, value) in enumerate(zip(columns, row, strict=True)):
            x = left + c * cell_w
            fill, ink = shade(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{cell_h - 1}" '
                f'fill="{fill}"><title>{escape(row_label)} {escape(column)}: {value} {unit}'
                "</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + cell_w / 2 - 0.5:.1f}" y="{y + cell_h / 2 + 3.5:.1f}" '
                    f'font-size="{font}" text-anchor="middle" fill="{ink}">'
                    f"{_compact(value)}</text>"
                )
    every = 1 if cell_w >= 18 else 3
    for c, column in enumerate(columns):
        if c % every == 0:
            parts.append(
                f'<text x="{left + (c + 0.5) * cell_w:.1f}" y="{grid_top + grid_h + 12}" '
                f'font-size="10" text-anchor="middle" fill="{TEXT}">{escape(column)}</text>'
            )
    axis_y = grid_top + grid_h + 28
    parts.append(
        f'<text x="{left + (WIDTH - left - RIGHT) / 2:.1f}" y="{axis_y}" font-size="11" '
        f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
        f'<text x="12" y="{grid_top + grid_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 12 {grid_top + grid_h / 2:.1f})">'
        f"{escape(y_label)}</text>"
    )
    # The legend: what each shade stands for, in numbers.
    legend_y = axis_y + 14
    keys, low = [("blank = 0", EMPTY)], 1
    for bound, (fill, _) in zip(bounds, shades, strict=True):
        keys.append((f"{low}" if low == bound else f"{low}–{bound}", fill))
        low = bound + 1
    x = left
    parts.append(
        f'<text x="{x}" y="{legend_y + 10}" font-size="10" fill="{TEXT}">{escape(unit)}:</text>'
    )
    x += 8 + 6 * len(unit) + 6
    for text, fill in keys:
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="14" height="12" fill="{fill}" stroke="{AXIS}" '
            f'stroke-width="0.5"/><text x="{x + 18}" y="{legend_y + 10}" font-size="10" '
            f'fill="{TEXT}">{escape(text)}</text>'
        )
        x += 18 + 6 * len(text) + 14
    total = sum(v for row in values for v in row)
    busiest = max(
        ((v, r, c) for r, row in enumerate(values) for c, v in enumerate(row)), default=(0, 0, 0)
    )
    desc = f"{total} {unit} in all."
    if busiest[0]:
        desc += (
            f" Busiest: {rows[busiest[1]]} {columns[busiest[2]]} with {busiest[0]}."
            " The table below gives every cell."
        )
    return _frame(chart, title, desc, "".join(parts), height=legend_y + 20)


def histogram(
    title: str,
    labels: Sequence[str],
    values: Sequence[int],
    *,
    x_label: str,
    y_label: str,
    marker: float | None = None,
    marker_label: str = "",
) -> SafeString:
    """Counts per bucket as touching bars, each with its count on top; `marker` (in buckets from
    the left edge: 2.5 is the middle of the third) draws a dashed line, and the buckets wholly
    past it are hatched."""
    chart = next(_counter)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(values))
    step = plot_w / n
    tick = max(1, math.ceil(max([*values, 1]) / 4))
    top = tick * 4
    parts = []
    for k in range(5):
        y = TOP + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="{TEXT}">{tick * k}</text>'
        )
    every = max(1, round(n / 10))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step
        h = plot_h * value / top
        past = marker is not None and i >= marker
        fill = f"url(#rq-hatch-{chart})" if past else OK
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{TOP + plot_h - h:.1f}" width="{step - 2:.1f}" '
            f'height="{h:.1f}" fill="{fill}"><title>{escape(label)}: {value}</title></rect>'
        )
        if value:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{TOP + plot_h - h - 3:.1f}" font-size="10" '
                f'text-anchor="middle" fill="{TEXT}">{value}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            )
    if marker is not None:
        x = LEFT + min(marker, n) * step
        anchor = "end" if x > LEFT + plot_w * 0.7 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 6}" y2="{TOP + plot_h}" stroke="{LATE}" '
            f'stroke-width="2" stroke-dasharray="5 3"/><text x="{x + dx:.1f}" y="{TOP + 4}" '
            f'font-size="10" text-anchor="{anchor}" fill="{LATE}">{escape(marker_label)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}">{escape(x_label)}</text>'
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    desc = f"{y_label} by {x_label}: " + "; ".join(
        f"{label} {value}" for label, value in zip(labels, values, strict=True)
    )
    if marker is not None:
        desc += f". {marker_label}"
    return _frame(chart, title, desc, "".join(parts))


def limit_hbars(
    title: str,
    labels: Sequence[str],
    rates: Sequence[float],
    *,
    value_labels: Sequence[str],
    limit: float | None,
    limit_label: str,
    x_label: str,
    width: int = 360,
) -> SafeString:
    """Horizontal bars of rates (0–1), each under its label and value, against a limit drawn as
    a dashed line; a bar above the limit is hatched as well as coloured, and the value labels say
    it in words. Narrow by default, so it reads at its own size on a phone."""
    chart = next(_counter)
    row, left = 44, 12
    plot_w = width - 2 * left
    top = _nice_top(100 * max([*rates, limit or 0, 0.01]) * 1.15) / 100
    rows_end = TOP + row * max(1, len(rates))
    # Text over the grid and the limit line keeps a white edge, so it stays readable.
    halo = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"'
    body = []
    for k in range(5):
        x = left + plot_w * k / 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{rows_end}" stroke="#e3e5e8"/>'
            f'<text x="{x:.1f}" y="{rows_end + 15}" font-size="12" text-anchor="{anchor}" '
            f'fill="{TEXT}">{100 * top * k / 4:g}%</text>'
        )
    if limit is not None:
        x = left + plot_w * min(limit, top) / top
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{rows_end + 2}" '
            f'stroke="{LATE}" stroke-width="2" stroke-dasharray="5 3"/>'
        )
    for i, (label, rate, text) in enumerate(zip(labels, rates, value_labels, strict=True)):
        y = TOP + i * row
        w = plot_w * min(rate, top) / top
        above = limit is not None and rate > limit
        fill = f"url(#rq-hatch-{chart})" if above else (SERIES[0] if i == 0 else AXIS)
        body.append(
            f'<text x="{left}" y="{y + 14}" font-size="13" fill="{TEXT}" {halo}>'
            f'<tspan font-weight="600">{escape(label)}</tspan> {escape(text)}</text>'
            f'<rect x="{left}" y="{y + 20}" width="{max(w, 1.5):.1f}" height="16" '
            f'fill="{fill}"><title>{escape(label)}: {escape(text)}</title></rect>'
        )
    legend_y = rows_end + 48
    if limit is not None:
        body.append(
            f'<line x1="{left}" x2="{left + 22}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
            f'stroke="{LATE}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{left + 28}" y="{legend_y}" font-size="12" fill="{TEXT}">'
            f"{escape(limit_label)}</text>"
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{rows_end + 31}" font-size="12" '
        f'text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
    )
    desc = f"{x_label}: " + "; ".join(
        f"{label} {text}" for label, text in zip(labels, value_labels, strict=True)
    )
    if limit is not None:
        desc += f". {limit_label}."
    height = legend_y + (10 if limit is not None else -10)
    return _frame(chart, title, desc, "".join(body), height=height, width=width, left=left)
