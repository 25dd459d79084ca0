"""The signatures-over-time chart: well-formed SVG, right shape, cheap when warm."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from letters.models import Letter
from pages.charts import (
    BOTTOM,
    HEIGHT,
    TOP,
    Chart,
    chart_build,
    chart_svg,
    daily_series,
    letter_chart,
    nice_ticks,
)
from petition.models import LetterCount
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def _days(start: date, counts: list[int]) -> list[dict[str, Any]]:
    return [
        {"date": (start + timedelta(days=i)).isoformat(), "count": n}
        for i, n in enumerate(counts)
        if n
    ]


def _store(letter: Letter, by_day: list[dict[str, Any]]) -> int:
    """Tally rows as the tally job writes them; returns the total."""
    total = sum(int(row["count"]) for row in by_day)
    LetterCount.objects.bulk_create(
        [
            LetterCount(letter=letter, dimension="day", key=row["date"], count=row["count"])
            for row in by_day
        ]
        + [LetterCount(letter=letter, dimension="total", key="", count=total)]
    )
    cache.clear()
    return total


def _svg(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart["svg"]))


def _points(root: ET.Element) -> list[str]:
    return next(root.iter(f"{SVG}polyline")).get("points", "").split()


def test_chart_is_well_formed_svg_with_a_bar_and_a_point_per_day() -> None:
    chart = chart_build(_days(date(2026, 3, 1), [5, 0, 12, 3]))
    root = _svg(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Verified signatures over time"
    assert len(list(root.iter(f"{SVG}rect"))) == 4
    assert len(_points(root)) == 4
    assert chart["summary"] == (
        "20 signatures over 4 days; the busiest day was March 3, 2026, with 12."
    )
    assert [row["cumulative"] for row in chart["rows"]] == ["5", "5", "17", "20"]


def test_bars_are_taller_on_busier_days_and_the_line_only_rises() -> None:
    root = _svg(chart_build(_days(date(2026, 3, 1), [1, 4, 2])))
    heights = [float(r.get("height", "")) for r in root.iter(f"{SVG}rect")]
    assert heights[1] > heights[2] > heights[0] > 0
    ys = [float(p.split(",")[1]) for p in _points(root)]
    assert ys[0] > ys[1] > ys[2]  # SVG's y grows downwards


def test_text_in_the_chart_is_escaped() -> None:
    series = daily_series(_days(date(2026, 3, 1), [1, 2]))
    from pages.charts import buckets

    svg = chart_svg(series, buckets(series), title='Tom & "Jerry" <script>')
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == 'Tom & "Jerry" <script>'
    assert "<script>" not in svg


def test_a_single_day_is_one_bar_and_a_visible_dot() -> None:
    chart = chart_build(_days(date(2026, 3, 1), [7]))
    root = _svg(chart)
    assert len(list(root.iter(f"{SVG}rect"))) == 1
    assert len(_points(root)) == 1
    assert root.find(f"{SVG}circle") is not None
    assert chart["summary"] == "7 signatures, all on March 1, 2026."


def test_a_year_is_a_point_per_day_and_a_bar_per_week() -> None:
    chart = chart_build(_days(date(2026, 1, 1), [3] * 365))
    root = _svg(chart)
    assert len(_points(root)) == 365
    assert len(list(root.iter(f"{SVG}rect"))) == 53
    assert len(chart["rows"]) == 53
    assert chart["bars_stand_for"] == "Bars: signatures per week, on the scale at the right."
    assert chart["rows"][0]["period"] == "Jan. 1, 2026 to Jan. 7, 2026"


def test_a_million_signatures_get_round_grouped_ticks() -> None:
    chart = chart_build(_days(date(2026, 1, 1), [600_000, 250_000, 150_000]))
    labels = [t.text for t in _svg(chart).iter(f"{SVG}text")]
    assert "1,000,000" in labels
    assert "0" not in labels  # the axis line says zero
    assert chart["summary"].startswith("1,000,000 signatures over 3 days")


def test_ticks_are_round_and_reach_the_top() -> None:
    assert nice_ticks(1) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1204) == [0, 500, 1000, 1500]
    assert nice_ticks(1_000_000)[-1] == 1_000_000


def test_labels_follow_the_page_language() -> None:
    with translation.override("fr"):
        chart = chart_build(_days(date(2026, 3, 1), [1200, 4]))
    labels = " ".join(t.text or "" for t in _svg(chart).iter(f"{SVG}text"))
    assert "mars" in labels
    assert "1\u202f000" in labels or "1\xa0000" in labels or "1 000" in labels


def test_malformed_day_keys_are_skipped() -> None:
    chart = chart_build([{"date": "not-a-day", "count": 3}, {"date": "2026-03-01", "count": 2}])
    assert len(chart["rows"]) == 1


def test_empty_letter_shows_the_empty_state_without_a_chart(client: Client) -> None:
    letter = LetterFactory()
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "starts with the first confirmed signature" in page
    assert "<svg" not in page.split('class="chart')[1].split("</figure>")[0]


def test_letter_page_shows_the_chart_and_its_figures(client: Client) -> None:
    letter = LetterFactory()
    _store(letter, _days(date(2026, 3, 1), [2, 3]))
    page = client.get(letter.get_absolute_url()).content.decode()
    figure = page.split('<figure class="chart">')[1].split("</figure>")[0]
    ET.fromstring(figure.split("<figcaption")[0].strip())
    assert "5 signatures over 2 days" in figure
    assert "<table" in figure


def test_warm_chart_needs_no_query(django_assert_num_queries) -> None:
    letter = LetterFactory()
    total = _store(letter, _days(date(2026, 3, 1), [2, 3]))
    with django_assert_num_queries(1):  # the tally's day rows, then cached
        letter_chart(letter, total)
    with django_assert_num_queries(0):
        assert letter_chart(letter, total)["summary"].startswith("5 signatures")


def test_a_new_count_draws_a_new_chart(tally) -> None:
    letter = LetterFactory()
    SignatureFactory(letter=letter, verified=True)
    tally()
    assert letter_chart(letter, 1)["summary"].startswith("1 signature")
    SignatureFactory(letter=letter, verified=True)
    tally()
    assert letter_chart(letter, 2)["summary"].startswith("2 signatures")


def test_letter_page_with_a_chart_costs_no_extra_query_when_warm(
    client: Client, django_assert_num_queries, tally
) -> None:
    letter = LetterFactory()
    SignatureFactory(letter=letter, verified=True)
    tally()
    client.get(letter.get_absolute_url())
    # letter, named signatories, latest public signatures, as without a chart.
    with django_assert_num_queries(3):
        page = client.get(letter.get_absolute_url()).content.decode()
    assert "1 signature, on" in page


def test_three_years_are_a_bar_per_thirty_days() -> None:
    chart = chart_build(_days(date(2024, 1, 1), [1] * 1096))
    assert len(chart["rows"]) == 37
    assert chart["bars_stand_for"] == "Bars: signatures per 30 days, on the scale at the right."
    labels = [t.text for t in _svg(chart).iter(f"{SVG}text")]
    assert "January 2024" in labels


def test_bars_have_their_own_labelled_scale_and_reach_their_value() -> None:
    # A day of 3 among a running total of 21: on the total's scale it would stop near "1".
    root = _svg(chart_build(_days(date(2026, 3, 1), [3, 2, 1, 0, 15])))
    labels = {
        float(text.get("y", "")) + 4: text.text or ""
        for text in root.iter(f"{SVG}text")
        if "chart-bar-value" in text.get("class", "")
    }
    assert sorted(labels.values(), key=float) == ["10", "20"]
    grid = [float(line.get("y1", "")) for line in root.iter(f"{SVG}line")
            if line.get("class") == "chart-bar-grid"]  # fmt: skip
    ten = next(y for y, text in labels.items() if text == "10")
    assert ten in grid
    rects = list(root.iter(f"{SVG}rect"))
    base = HEIGHT - BOTTOM
    # The inner plot starts at TOP: a bar of 15 tops out at 15 on the bars' scale.
    fifteen_top = TOP + float(rects[4].get("y", ""))
    twenty = next(y for y, text in labels.items() if text == "20")
    assert abs((base - fifteen_top) - (base - ten) * 1.5) < 0.2
    assert abs((base - twenty) - (base - ten) * 2) < 0.2
    three = float(rects[0].get("height", ""))
    assert abs(three - (base - ten) * 0.3) < 0.2
