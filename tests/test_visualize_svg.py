"""The SVG chart helpers: right number of cells, exact values on hover, escaping, masked cells."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from app import svg

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_heatmap_has_one_cell_per_entry_with_its_value() -> None:
    values = [[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]]
    root = parse(svg.heatmap(values, chart_id="t", title="t", rows=["我", "爱"], cols=["a", "b", "c"]))
    cells = root.findall(".//s:g[@class='cells']/s:g/s:use", NS)
    assert len(cells) == 6
    assert [c.find("s:title", NS).text for c in cells] == ["0.5000", "0.2500", "0.2500", "0.0000", "1.0000", "0.0000"]
    # Opacity encodes the weight.
    assert float(cells[4].get("fill-opacity")) == 1.0 and float(cells[3].get("fill-opacity")) == 0.0
    assert json.loads(root.get("data-rows")) == ["我", "爱"]


def test_heatmap_masked_cells_are_hatched_and_read_minus_infinity() -> None:
    values = [[1.0, 2.0], [3.0, 4.0]]
    mask = [[True, False], [True, True]]
    root = parse(
        svg.heatmap(values, chart_id="m", title="m", rows=["x", "y"], cols=["x", "y"], mask=mask, diverging=True)
    )
    cells = root.findall(".//s:g[@class='cells']/s:g/s:use", NS)
    assert cells[1].get("fill") == "url(#m-hatch)"
    assert cells[1].find("s:title", NS).text.startswith("−∞")
    # The colour scale ignores masked values: 4.0 is the largest visible one.
    assert float(cells[3].get("fill-opacity")) == 1.0


def test_heatmap_escapes_labels_and_titles() -> None:
    evil = "<img src=x onerror=alert(1)>"
    out = str(svg.heatmap([[1.0]], chart_id="x", title=evil, rows=[evil], cols=["&"]))
    assert "<img" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    parse(out)  # still well-formed XML


def test_heatmap_rejects_mismatched_labels() -> None:
    with pytest.raises(ValueError, match="do not match a 1x2 matrix"):
        svg.heatmap([[0.1, 0.9]], chart_id="x", title="x", rows=["a"], cols=["a"])


def test_heatmap_outline_marks_expected_cells() -> None:
    root = parse(
        svg.heatmap(
            [[0.1, 0.9], [0.8, 0.2]],
            chart_id="o",
            title="o",
            rows=["a", "b"],
            cols=["a", "b"],
            outline=[(0, 1), (1, 0)],
        )
    )
    assert len(root.findall(".//s:g[@class='outline']/s:rect", NS)) == 2


def test_quantised_heatmap_draws_paths_per_level_and_keeps_values_for_hover() -> None:
    values = [[0.0, 0.5, 1.0], [-1.0, 0.5, 0.0]]
    root = parse(svg.quantised_heatmap(values, chart_id="q", title="q", cell_w=4, cell_h=4, diverging=True, hover=True))
    paths = root.findall("s:path", NS)
    # Levels present: +0.5 (two cells, one path), +1.0, -1.0 -> three paths; zeros are not drawn.
    assert len(paths) == 3
    assert sum(p.get("d").count("z") for p in paths) == 4
    assert json.loads(root.get("data-m")) == values


def test_line_view_drops_invisible_lines_and_tags_query_and_key() -> None:
    weights = [[[0.995, 0.005], [0.3, 0.7]]]
    root = parse(svg.line_view(weights, chart_id="l", title="l", left_labels=["a", "b"], right_labels=["a", "b"]))
    lines = root.findall(".//s:line", NS)
    assert [(ln.get("data-q"), ln.get("data-k")) for ln in lines] == [("0", "0"), ("1", "0"), ("1", "1")]
    assert float(lines[0].get("stroke-opacity")) == 0.995


def test_line_and_bar_charts_carry_exact_values() -> None:
    chart = str(
        svg.line_chart(
            [{"label": "v", "x": [4, 8, 16], "y": [4.0, 8.0, 16.0]}],
            chart_id="c",
            title="c",
            x_label="d",
            y_label="var",
            log_x=True,
            log_y=True,
        )
    )
    assert len(re.findall(r"<circle ", chart)) == 3 and "x=16, y=16.0000" in chart
    bars = str(
        svg.bar_chart(["a", "b"], [{"label": "w", "values": [0.25, 0.75]}], chart_id="b", title="b", y_label="w")
    )
    assert "a · w: 0.2500" in bars and "b · w: 0.7500" in bars
    parse(chart), parse(bars)


def test_a_chart_over_whole_steps_labels_only_whole_steps() -> None:
    steps = list(range(12))  # decode steps 0..11: the default tick step would be 2.5
    chart = str(
        svg.line_chart(
            [{"label": "ms", "x": steps, "y": [1.0] * 12}], chart_id="t", title="t", x_label="step", y_label="ms"
        )
    )
    x_ticks = re.findall(r'text-anchor="middle" stroke="none">([^<]+)</text>', chart)
    assert x_ticks and all(t.isdigit() for t in x_ticks), x_ticks
    fractional = str(
        svg.line_chart(
            [{"label": "v", "x": [0.0, 0.5, 1.0], "y": [1.0, 2.0, 3.0]}],
            chart_id="f",
            title="f",
            x_label="x",
            y_label="y",
        )
    )
    assert "0.5" in fractional  # real-valued axes keep their fractional ticks
