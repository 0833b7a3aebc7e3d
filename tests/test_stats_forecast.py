"""The stats charts' guides: the interview-date marker on the 14-day due forecast, the heatmap's colour legend."""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.services.stats import forecast_marker
from tests.utils.csrf import JSON

DAYS = [date(2026, 11, 2) + timedelta(days=i) for i in range(14)]


def test_no_marker_without_an_interview_date():
    assert forecast_marker(DAYS, None) is None


def test_interview_day_on_the_chart_gets_its_column_and_the_final_window():
    marker = forecast_marker(DAYS, date(2026, 11, 9))
    assert marker.column == 7 and marker.window == (4, 5, 6) and marker.note == ""


def test_final_window_is_clipped_at_today():
    marker = forecast_marker(DAYS, date(2026, 11, 3))
    assert marker.column == 1 and marker.window == (0,)
    assert forecast_marker(DAYS, date(2026, 11, 2)).window == ()


def test_date_beyond_the_chart_gets_a_note_and_the_visible_part_of_the_window():
    marker = forecast_marker(DAYS, date(2026, 11, 17))  # window 11-14 … 11-16: only 11-14 and 11-15 are drawn
    assert marker.column is None and marker.window == (12, 13)
    assert marker.note == "面试日 2026-11-17 在图表范围之后（还有 15 天）。"
    assert forecast_marker(DAYS, date(2027, 1, 1)).window == ()


def test_past_date_gets_a_note():
    marker = forecast_marker(DAYS, date(2026, 11, 1))
    assert marker.column is None and marker.window == () and marker.note == "面试日 2026-11-01 已过。"


def test_stats_page_draws_the_marker_on_the_interview_day(client):
    html = client.get("/stats").text
    assert "interview-marker" not in html and "forecast-note" not in html
    client.put("/api/settings", json={"interview_date": "2026-11-09"}, headers=JSON)
    html = client.get("/stats").text
    forecast = html[html.index('class="chart forecast"') : html.index("</svg>", html.index('class="chart forecast"'))]
    assert re.search(r'<g class="interview-marker"><title>面试日 2026-11-09</title>\s*<line x1="330"', forecast)
    assert forecast.count('class="final-window"') == 3
    assert "面试日 2026-11-09 · 橙色底 = 考前 3 天" in html
    assert client.get("/api/stats").json()["forecast_interview"] == {
        "interview_date": "2026-11-09",
        "column": 7,
        "window": [4, 5, 6],
        "note": "",
    }


def test_stats_page_notes_a_date_beyond_the_chart(client):
    client.put("/api/settings", json={"interview_date": "2026-12-20"}, headers=JSON)
    html = client.get("/stats").text
    assert "interview-marker" not in html
    assert "面试日 2026-12-20 在图表范围之后（还有 48 天）。" in html


def test_review_heatmap_has_a_colour_legend(client):
    html = client.get("/stats").text
    legend = html[html.index('class="heat-legend') : html.index("</p>", html.index('class="heat-legend'))]
    assert [f'class="swatch-{n}"' in legend for n in range(5)] == [True] * 5
    assert legend.index("少") < legend.index("swatch-0") < legend.index("swatch-4") < legend.index("多")
