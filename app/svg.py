"""Server-rendered SVG charts for the visualizer: heatmaps, line (head) view, line and bar charts.

Every chart is a self-contained ``<svg>`` (own ``<style>`` and ``<defs>``, explicit colours) so the
"下载 SVG" link can save it as a standalone file. Text from the learner only enters through
``escape``; numbers are formatted here. Exact values live in ``<title>`` elements (native tooltip,
no JavaScript needed) or, for large quantised charts, in a ``data-m`` JSON attribute read by
``static/js/visualize.js`` on hover.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

ACCENT = "#2f5bd3"
NEGATIVE = "#c2372b"
MASKED = "#d9d6ce"
HEAD_COLOURS = ("#2f5bd3", "#d9480f", "#1f8a4c", "#9c36b5", "#c2255c", "#0c8599", "#e67700", "#5c940d")
FONT = "system-ui, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
NEG_INF = "−∞"


def _style(extra: str = "") -> str:
    return (
        f"<style>text{{font-family:{FONT};fill:#1d1f23}}.lab{{font-size:11px}}"
        f".ax{{font-size:10px;fill:#6a6f78}}{extra}</style>"
    )


def _num(v: float, digits: int = 4) -> str:
    if v == float("-inf"):
        return NEG_INF
    return f"{v:.{digits}f}"


def _opacity(v: float) -> str:
    """Two decimals without the leading zero ("0.52" -> ".52"): 256 visible levels are plenty."""
    text = f"{v:.2f}"
    return text[1:] if text.startswith("0") else text


def _json_attr(value: object) -> str:
    return str(escape(json.dumps(value, ensure_ascii=False, separators=(",", ":"))))


def _label_width(labels: Sequence[str], font_px: float) -> float:
    """Rough rendered width of the longest label (CJK characters are about twice as wide as ASCII)."""
    widest = 0.0
    for label in labels:
        w = sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in label)
        widest = max(widest, w)
    return widest * font_px


def _cell_size(n_rows: int, n_cols: int, target: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, target / max(n_rows, n_cols, 1)))


def _open_svg(chart_id: str, width: float, height: float, title: str, extra_attrs: str = "", css: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="vz-svg" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}"{extra_attrs}>'
        f"<title>{escape(title)}</title>{_style(css)}"
    )


def heatmap(
    values: Sequence[Sequence[float]],
    *,
    chart_id: str,
    title: str,
    rows: Sequence[str],
    cols: Sequence[str],
    mask: Sequence[Sequence[bool]] | None = None,
    diverging: bool = False,
    vmax: float | None = None,
    digits: int = 4,
    target: float = 520,
    max_cell: float = 30,
    outline: Sequence[tuple[int, int]] = (),
    row_notes: Sequence[str] | None = None,
    dim_rows: Sequence[int] = (),
    dim_cols: Sequence[int] = (),
) -> Markup:
    """One ``<rect>`` per cell with its exact value in ``<title>``; masked cells are hatched and read −∞.

    ``values`` is rows × cols; weights (0..1) use one hue, ``diverging`` uses blue (+) and red (−)
    scaled by ``vmax`` (default: the largest absolute unmasked value). ``outline`` draws boxes around
    chosen cells (the expected alignment); ``row_notes`` adds a text column on the right (row sums).
    """
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    if len(rows) != n_rows or len(cols) != n_cols:
        raise ValueError(f"labels {len(rows)}x{len(cols)} do not match a {n_rows}x{n_cols} matrix")
    # Cells never shrink below MIN_CELL: a 64-character sentence gives a ~1 000-px chart that the page
    # scrolls sideways, rather than 8-px cells with unreadable 7-px labels.
    cell = _cell_size(n_rows, n_cols, target, MIN_CELL, max_cell)
    font = max(MIN_LABEL_PX, min(12.0, cell * 0.8))
    long_cols = any(len(c) > 1 for c in cols)
    left = _label_width(rows, font) + 12  # the estimate runs a little short for "<copy>" at 11 px
    top = (_label_width(cols, font) + 8) if long_cols else font + 8
    right = (_label_width(row_notes, font) + 10) if row_notes else 4
    legend_y = top + n_rows * cell + 12
    width = max(left + n_cols * cell + right, left + LEGEND_WIDTH)
    height = legend_y + LEGEND_HEIGHT
    if vmax is None:
        flat = [
            abs(v)
            for i, row in enumerate(values)
            for j, v in enumerate(row)
            if (mask is None or mask[i][j]) and math.isfinite(v)
        ]
        vmax = max(flat, default=1.0) if diverging else 1.0
    vmax = vmax or 1.0
    hatch_id = f"{chart_id}-hatch"
    attrs = (
        f' data-cell="{cell:.2f}" data-x0="{left:.2f}" data-y0="{top:.2f}"'
        f' data-rows="{_json_attr(list(rows))}" data-cols="{_json_attr(list(cols))}"'
    )
    out = [
        _open_svg(chart_id, width, height, title, ' data-kind="heatmap"' + attrs, css=".dim{fill:#9a9fa8}"),
        f'<defs><pattern id="{hatch_id}" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="4" height="4" fill="#efede7"/>'
        f'<line x1="0" y1="0" x2="0" y2="4" stroke="#b9b5aa" stroke-width="1.5"/></pattern></defs>',
    ]
    dim_r, dim_c = set(dim_rows), set(dim_cols)
    # Row labels (queries) on the left, column labels (keys) on top.
    out.append(f'<g class="lab rl" text-anchor="end" style="font-size:{font:.1f}px">')
    for i, label in enumerate(rows):
        cls = ' class="dim"' if i in dim_r else ""
        out.append(f'<text x="{left - 4:.1f}" y="{top + (i + 0.5) * cell:.1f}" dy="0.35em"{cls}>{escape(label)}</text>')
    out.append("</g>")
    # Single characters stay upright; longer labels (<copy>, <eos>) are rotated to fit one column.
    out.append(f'<g class="lab cl" style="font-size:{font:.1f}px">')
    for j, label in enumerate(cols):
        x, y = left + (j + 0.5) * cell, top - 4
        cls = ' class="dim"' if j in dim_c else ""
        if len(label) > 1:
            out.append(
                f'<text transform="translate({x:.1f},{y:.1f}) rotate(-90)" dy="0.35em"{cls}>{escape(label)}</text>'
            )
        else:
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle"{cls}>{escape(label)}</text>')
    out.append("</g>")
    # Cells: one <use> of a shared square per cell, one group per row (translated, and telling the hover
    # script the row); this keeps a 66 × 66 heatmap to a few hundred KB with every exact value inside.
    side = f"{cell - 1:.2f}" if cell > 9 else f"{cell:.2f}"
    out.append(f'<defs><rect id="{chart_id}-c" width="{side}" height="{side}"/></defs>')
    out.append(f'<g class="cells" fill="{ACCENT}">')
    href = f"#{chart_id}-c"
    xs = [f"{left + j * cell:.1f}" for j in range(n_cols)]
    for i, row in enumerate(values):
        out.append(f'<g data-r="{i}" transform="translate(0,{top + i * cell:.1f})">')
        for j, v in enumerate(row):
            if mask is not None and not mask[i][j]:
                out.append(
                    f'<use href="{href}" x="{xs[j]}" fill="url(#{hatch_id})">'
                    f"<title>{NEG_INF} (masked; raw {_num(v, digits)})</title></use>"
                )
                continue
            opacity = min(1.0, abs(v) / vmax) if math.isfinite(v) else 1.0
            fill = f' fill="{NEGATIVE}"' if diverging and v < 0 else ""
            out.append(
                f'<use href="{href}" x="{xs[j]}"{fill} fill-opacity="{_opacity(opacity)}">'
                f"<title>{_num(v, digits)}</title></use>"
            )
        out.append("</g>")
    out.append("</g>")
    if outline:
        out.append('<g fill="none" stroke="#e67700" stroke-width="1.6" class="outline">')
        for i, j in outline:
            out.append(
                f'<rect x="{left + j * cell + 0.5:.1f}" y="{top + i * cell + 0.5:.1f}" '
                f'width="{cell - 2:.2f}" height="{cell - 2:.2f}"/>'
            )
        out.append("</g>")
    if row_notes:
        out.append(f'<g class="ax" style="font-size:{font:.1f}px">')
        for i, note in enumerate(row_notes):
            out.append(
                f'<text x="{left + n_cols * cell + 6:.1f}" y="{top + (i + 0.5) * cell:.1f}" dy="0.35em">'
                f"{escape(note)}</text>"
            )
        out.append("</g>")
    out.append(
        _colour_legend(
            chart_id,
            left,
            legend_y,
            vmax=vmax,
            diverging=diverging,
            digits=min(digits, 2),
            hatch=mask is not None and not all(all(row) for row in mask),
        )
    )
    out.append("</svg>")
    return Markup("".join(out))


MIN_CELL = 14.0  # px: the smallest heatmap cell, so that its label can be MIN_LABEL_PX
MIN_LABEL_PX = 11.0
LEGEND_WIDTH = 300.0  # px the colour legend needs (scale, ticks, masked swatch)
LEGEND_HEIGHT = 34.0


def _colour_legend(chart_id: str, x: float, y: float, *, vmax: float, diverging: bool, digits: int, hatch: bool) -> str:
    """The colour scale under a heatmap: a gradient bar with its end values, and the masked-cell swatch."""
    bar_w, bar_h = 160.0, 10.0
    grad = f"{chart_id}-scale"
    if diverging:
        stops = (
            f'<stop offset="0" stop-color="{NEGATIVE}"/><stop offset="0.5" stop-color="#fff"/>'
            f'<stop offset="1" stop-color="{ACCENT}"/>'
        )
        ticks = [(0.0, f"−{vmax:.{digits}f}"), (0.5, "0"), (1.0, f"+{vmax:.{digits}f}")]
    else:
        stops = f'<stop offset="0" stop-color="#fff"/><stop offset="1" stop-color="{ACCENT}"/>'
        ticks = [(0.0, "0"), (0.5, _num(vmax / 2, digits)), (1.0, _num(vmax, digits))]
    parts = [
        f'<g class="legend" transform="translate({x:.1f},{y:.1f})">',
        f'<defs><linearGradient id="{grad}">{stops}</linearGradient></defs>',
        f'<text class="ax" x="0" y="8" style="font-size:{MIN_LABEL_PX:.0f}px">颜色</text>',
        f'<rect x="30" y="0" width="{bar_w:.0f}" height="{bar_h:.0f}" fill="url(#{grad})" stroke="#c9c5bb"/>',
    ]
    for frac, label in ticks:
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        parts.append(
            f'<text class="ax" x="{30 + frac * bar_w:.1f}" y="{bar_h + 13:.1f}" text-anchor="{anchor}" '
            f'style="font-size:{MIN_LABEL_PX:.0f}px">{escape(label)}</text>'
        )
    if hatch:
        parts.append(
            f'<rect x="{30 + bar_w + 14:.0f}" y="0" width="{bar_h:.0f}" height="{bar_h:.0f}" '
            f'fill="url(#{chart_id}-hatch)" stroke="#c9c5bb"/>'
            f'<text class="ax" x="{30 + bar_w + 14 + bar_h + 4:.0f}" y="9" style="font-size:{MIN_LABEL_PX:.0f}px">'
            f"被掩码 {NEG_INF}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def quantised_heatmap(
    values: Sequence[Sequence[float]],
    *,
    chart_id: str,
    title: str,
    cell_w: float,
    cell_h: float,
    diverging: bool = False,
    vmax: float | None = None,
    levels: int = 16,
    hover: bool = False,
    left: float = 0,
    top: float = 0,
    x_label: str = "",
    y_label: str = "",
    digits: int = 3,
) -> Markup:
    """A compact heatmap for thumbnails and large matrices: one ``<path>`` per colour level.

    Drawing n×m cells as ``levels`` paths keeps a 66×128 matrix to a few dozen KB; with ``hover`` the
    values travel in ``data-m`` (rounded to ``digits``) so the page script can show the exact number.
    """
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    if vmax is None:
        vmax = max((abs(v) for row in values for v in row), default=1.0) if diverging else 1.0
    vmax = vmax or 1.0
    buckets: dict[tuple[bool, int], list[str]] = {}
    w, h = f"{cell_w:.2f}".rstrip("0").rstrip("."), f"{cell_h:.2f}".rstrip("0").rstrip(".")
    for i, row in enumerate(values):
        y = top + i * cell_h
        for j, v in enumerate(row):
            level = round(min(1.0, abs(v) / vmax) * levels)
            if level == 0:
                continue
            key = (diverging and v < 0, level)
            buckets.setdefault(key, []).append(f"M{left + j * cell_w:.1f} {y:.1f}h{w}v{h}h-{w}z")
    width, height = left + n_cols * cell_w + 2, top + n_rows * cell_h + 2
    attrs = f' data-kind="quantised" data-cw="{cell_w:.3f}" data-ch="{cell_h:.3f}" data-x0="{left}" data-y0="{top}"'
    if hover:
        attrs += f' data-m="{_json_attr([[round(v, digits) for v in row] for row in values])}"'
    out = [_open_svg(chart_id, width, height, title, attrs)]
    out.append(
        f'<rect x="{left}" y="{top}" width="{n_cols * cell_w:.1f}" height="{n_rows * cell_h:.1f}" '
        'fill="#fff" stroke="#e3e0d8"/>'
    )
    for (negative, level), parts in sorted(buckets.items()):
        colour = NEGATIVE if negative else ACCENT
        out.append(f'<path fill="{colour}" fill-opacity="{level / levels:.3f}" d="{"".join(parts)}"/>')
    if x_label:
        out.append(
            f'<text class="ax" x="{left + n_cols * cell_w / 2:.1f}" y="{top - 6:.1f}" text-anchor="middle">'
            f"{escape(x_label)}</text>"
        )
    if y_label:
        out.append(
            f'<text class="ax" transform="translate({left - 6:.1f},{top + n_rows * cell_h / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def line_view(
    weights_by_head: Sequence[Sequence[Sequence[float]]],
    *,
    chart_id: str,
    title: str,
    left_labels: Sequence[str],
    right_labels: Sequence[str],
    min_weight: float = 0.01,
) -> Markup:
    """BertViz head view: queries on the left, keys on the right, one line per (head, query, key).

    Line opacity is the weight; lines below ``min_weight`` are invisible anyway and are left out.
    Each line carries its query and key index so the script can show only a hovered token's lines.
    """
    n_left, n_right = len(left_labels), len(right_labels)
    row_h = max(14.0, min(22.0, 700 / max(n_left, n_right, 1)))
    font = min(13.0, row_h * 0.72)
    label_w = max(_label_width(left_labels, font), _label_width(right_labels, font)) + 10
    gap = 220.0
    x1, x2 = label_w + 4, label_w + 4 + gap
    width, height = x2 + label_w + 6, max(n_left, n_right) * row_h + 10
    out = [_open_svg(chart_id, width, height, title, ' data-kind="lines"', css=".tok{cursor:pointer}")]
    for h, matrix in enumerate(weights_by_head):
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        out.append(f'<g class="head h{h}" data-head="{h}" stroke="{colour}" stroke-width="2">')
        for i, row in enumerate(matrix):
            ya = 5 + (i + 0.5) * row_h
            for j, v in enumerate(row):
                if v < min_weight:
                    continue
                yb = 5 + (j + 0.5) * row_h
                out.append(
                    f'<line x1="{x1:.1f}" y1="{ya:.1f}" x2="{x2:.1f}" y2="{yb:.1f}" stroke-opacity="{v:.3f}" '
                    f'data-q="{i}" data-k="{j}"><title>H{h}: {_num(v)}</title></line>'
                )
        out.append("</g>")
    out.append(f'<g class="lab" style="font-size:{font:.1f}px">')
    for i, label in enumerate(left_labels):
        out.append(
            f'<text class="tok q" data-i="{i}" x="{x1 - 4:.1f}" y="{5 + (i + 0.5) * row_h:.1f}" dy="0.35em" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    for j, label in enumerate(right_labels):
        out.append(
            f'<text class="tok k" data-i="{j}" x="{x2 + 4:.1f}" y="{5 + (j + 0.5) * row_h:.1f}" dy="0.35em">'
            f"{escape(label)}</text>"
        )
    out.append("</g></svg>")
    return Markup("".join(out))


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        start, stop = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
        step = max(1, (stop - start) // 6)
        return [2.0**e for e in range(start, stop + 1) if e % step == 0]  # keeps 1 = 2^0 among the ticks
    if hi == lo:
        return [lo]
    raw = (hi - lo) / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _tick_label(v: float) -> str:
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def line_chart(
    series: Sequence[dict],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    width: float = 560,
    height: float = 300,
    markers: bool = True,
    digits: int = 4,
    v_lines: Sequence[tuple[float, str]] = (),
) -> Markup:
    """Lines through (x, y) points; each series is ``{"label", "x": [...], "y": [...], "colour"?}``.

    Every point is a small circle whose ``<title>`` gives its exact coordinates.
    """
    xs = [x for s in series for x in s["x"]]
    ys = [y for s in series for y in s["y"]]
    if not xs:
        raise ValueError("line_chart needs at least one point")
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if not log_y:
        pad = (y_hi - y_lo) * 0.05 or 1.0
        y_lo, y_hi = y_lo - pad, y_hi + pad
    fx = (lambda v: math.log2(v)) if log_x else (lambda v: v)
    fy = (lambda v: math.log2(v)) if log_y else (lambda v: v)
    left, right, top, bottom = 56.0, 12.0, 28.0, 44.0
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = fx(x_lo), fx(x_hi)
    y0, y1 = fy(y_lo), fy(y_hi)
    x_span, y_span = (x1 - x0) or 1.0, (y1 - y0) or 1.0

    def px(v: float) -> float:
        return left + (fx(v) - x0) / x_span * pw

    def py(v: float) -> float:
        return top + ph - (fy(v) - y0) / y_span * ph

    out = [_open_svg(chart_id, width, height, title, ' data-kind="chart"')]
    out.append('<g class="ax" stroke="#e3e0d8">')
    for t in _ticks(y_lo, y_hi, log_y):
        if y_lo - 1e-12 <= t <= y_hi + 1e-12:
            y = py(t)
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(
                f'<text x="{left - 6}" y="{y:.1f}" dy="0.35em" text-anchor="end" stroke="none">{_tick_label(t)}</text>'
            )
    whole_x = not log_x and all(float(x).is_integer() for x in xs)  # steps, positions: no "2.5" tick
    for t in _ticks(x_lo, x_hi, log_x):
        if x_lo - 1e-12 <= t <= x_hi + 1e-12 and (not whole_x or float(t).is_integer()):
            x = px(t)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}"/>')
            out.append(
                f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle" stroke="none">{_tick_label(t)}</text>'
            )
    out.append("</g>")
    for value, label in v_lines:
        x = px(value)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#e67700" stroke-dasharray="4 3"/>'
            f'<text class="ax" x="{x + 3:.1f}" y="{top + 10}">{escape(label)}</text>'
        )
    out.append(
        f'<text class="ax" x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text class="ax" transform="translate(12,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    legend_x = left + 6
    for k, s in enumerate(series):
        colour = s.get("colour") or HEAD_COLOURS[k % len(HEAD_COLOURS)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(s["x"], s["y"], strict=True))
        out.append(f'<g class="series"><polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        if markers:
            for x, y in zip(s["x"], s["y"], strict=True):
                out.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(s['label'])}: x={_tick_label(x)}, y={_num(y, digits)}</title></circle>"
                )
        out.append("</g>")
        out.append(
            f'<rect x="{legend_x:.1f}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text class="ax" x="{legend_x + 14:.1f}" y="17">{escape(s["label"])}</text>'
        )
        legend_x += 24 + _label_width([s["label"]], 10)
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(
    labels: Sequence[str],
    series: Sequence[dict],
    *,
    chart_id: str,
    title: str,
    y_label: str,
    y_max: float = 1.0,
    height: float = 240,
    digits: int = 4,
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (``{"label", "values", "colour"}``)."""
    n, k = len(labels), len(series)
    group = max(14.0, min(48.0, 620 / max(n, 1)))
    bar = (group - 4) / max(k, 1)
    font = max(8.0, min(12.0, group * 0.6))
    long_labels = any(len(lab) > 1 for lab in labels)
    bottom = (_label_width(labels, font) + 10) if long_labels else font + 10
    left, top = 44.0, 28.0
    ph = height - top - bottom
    width = left + n * group + 8
    out = [_open_svg(chart_id, width, height, title, ' data-kind="bars"')]
    out.append('<g class="ax" stroke="#e3e0d8">')
    for t in _ticks(0, y_max, False):
        y = top + ph - t / y_max * ph
        out.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text x="{left - 6}" y="{y:.1f}" dy="0.35em" text-anchor="end" stroke="none">{_tick_label(t)}</text>'
        )
    out.append("</g>")
    out.append(
        f'<text class="ax" transform="translate(12,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    legend_x = left
    for s_i, s in enumerate(series):
        colour = s.get("colour") or HEAD_COLOURS[s_i % len(HEAD_COLOURS)]
        out.append(f'<g fill="{colour}">')
        for i, v in enumerate(s["values"]):
            hgt = max(0.0, min(1.0, v / y_max)) * ph
            x = left + i * group + 2 + s_i * bar
            out.append(
                f'<rect x="{x:.1f}" y="{top + ph - hgt:.1f}" width="{bar:.1f}" height="{hgt:.1f}">'
                f"<title>{escape(labels[i])} · {escape(s['label'])}: {_num(v, digits)}</title></rect>"
            )
        out.append("</g>")
        out.append(
            f'<rect x="{legend_x:.1f}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text class="ax" x="{legend_x + 14:.1f}" y="17">{escape(s["label"])}</text>'
        )
        legend_x += 24 + _label_width([s["label"]], 10)
    # Single characters stay upright under their bars; longer labels (<copy>, <eos>) are turned.
    out.append(f'<g class="lab" style="font-size:{font:.1f}px">')
    for i, label in enumerate(labels):
        x = left + (i + 0.5) * group
        if len(label) > 1:
            out.append(
                f'<text transform="translate({x:.1f},{top + ph + 4:.1f}) rotate(90)" dy="0.35em">{escape(label)}</text>'
            )
        else:
            out.append(f'<text x="{x:.1f}" y="{top + ph + font + 2:.1f}" text-anchor="middle">{escape(label)}</text>')
    out.append("</g></svg>")
    return Markup("".join(out))
