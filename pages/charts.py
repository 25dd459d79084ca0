"""Signatures over time, drawn on the server as an inline SVG chart.

The figures are the tally's per-day counts (already cached until the next tally), and the
drawn chart is cached under the letter's count, so a warm letter page spends no query on
it and a new count draws a new chart. No JavaScript: the chart is markup, with a summary
sentence and a table of the same figures for readers who cannot see it.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NotRequired, TypedDict

from django.utils import formats, translation
from django.utils.html import escape
from django.utils.translation import gettext, ngettext

from core.cache import cached_twice
from letters.models import Letter
from petition.selectors import letter_breakdowns

# The chart is as wide as its box and a fixed height, so its text keeps its size on a
# phone and on a desktop: vertical positions are pixels, horizontal ones percentages, and
# the bars and line are drawn in an inner SVG that stretches to the width.
HEIGHT = 180
TOP = 22
BOTTOM = 24
PLOT_UNITS = 1000  # the inner drawing's width, in its own units
# Share of the plot the daily bars may use, so the cumulative line stays readable above.
BAR_SHARE = 0.4
# Above this many days bars stand for a week, and above two years for thirty days.
DAILY_BARS_UP_TO = 92
WEEKLY_BARS_UP_TO = 731


class ChartRow(TypedDict):
    period: str
    count: str
    cumulative: str


class Chart(TypedDict):
    """What _chart.html shows: plain strings and lists, so it can sit in the cache."""

    empty: bool
    svg: NotRequired[str]
    summary: NotRequired[str]
    bars_stand_for: NotRequired[str]
    rows: NotRequired[list[ChartRow]]
    days: NotRequired[int]


@dataclass(frozen=True)
class Bucket:
    """One bar: the signatures of `days` days from `start`, and the running total after."""

    start: date
    days: int
    count: int
    cumulative: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


def _number(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def _day(value: date) -> str:
    return formats.date_format(value, "DATE_FORMAT")


# Rows as the tally's breakdown gives them ({"date": "2026-03-01", "count": 5}), possibly
# from the cache, so each is checked as it is read.
def daily_series(by_day: Sequence[Mapping[str, Any]]) -> list[tuple[date, int]]:
    """Every day from the first signature's to the last one's, quiet days as zero."""
    counts: dict[date, int] = {}
    for row in by_day:
        try:
            day = date.fromisoformat(str(row["date"]))
        except (KeyError, ValueError):
            continue  # a malformed key must not take the letter page down
        counts[day] = counts.get(day, 0) + int(row.get("count") or 0)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def bucket_days(span: int) -> int:
    if span <= DAILY_BARS_UP_TO:
        return 1
    return 7 if span <= WEEKLY_BARS_UP_TO else 30


def buckets(series: list[tuple[date, int]]) -> list[Bucket]:
    size = bucket_days(len(series))
    result, running = [], 0
    for i in range(0, len(series), size):
        chunk = series[i : i + size]
        count = sum(n for _, n in chunk)
        running += count
        result.append(Bucket(start=chunk[0][0], days=len(chunk), count=count, cumulative=running))
    return result


def nice_ticks(top: int, most: int = 5) -> list[int]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    return list(range(0, step * math.ceil(top / step) + 1, step))


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def chart_svg(series: list[tuple[date, int]], bars: list[Bucket], *, title: str) -> str:
    """The chart as an SVG element: daily (or weekly) bars under the cumulative line, the
    running total's round values labelled above their grid lines, dates along the bottom."""
    ticks = nice_ticks(bars[-1].cumulative)
    plot_h = HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    # The bars have a scale of their own, labelled on the right: read against the running
    # total's lines on the left, a day of 3 would seem to stop at "1".
    bar_ticks = nice_ticks(max(bar.count for bar in bars), most=3)
    bar_top = plot_h * BAR_SHARE

    def y_of(value: float) -> float:
        return base - plot_h * value / ticks[-1]

    def bar_h(value: float) -> float:
        return bar_top * value / bar_ticks[-1]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="100%" height="{HEIGHT}"'
        ' role="img" aria-labelledby="signature-chart-title" focusable="false">',
        f'<title id="signature-chart-title">{escape(title)}</title>',
        '<g class="chart-grid">',
    ]
    for tick in ticks[1:]:
        y = _f(y_of(tick))
        parts.append(f'<line x1="0" x2="100%" y1="{y}" y2="{y}"/>')
    parts.append("</g>")

    # The inner drawing: PLOT_UNITS wide, plot_h high, stretched to the box's width.
    parts.append(
        f'<svg class="chart-plot" x="0" y="{TOP}" width="100%" height="{plot_h}"'
        f' viewBox="0 0 {PLOT_UNITS} {plot_h}" preserveAspectRatio="none">'
    )
    slot = PLOT_UNITS / len(bars)
    bar_w = slot * 0.78 if len(bars) > 1 else min(slot, 60)
    parts.append('<g class="chart-bars">')
    for i, bar in enumerate(bars):
        h = bar_h(bar.count)
        x = slot * i + (slot - bar_w) / 2
        parts.append(
            f'<rect x="{_f(x)}" y="{_f(plot_h - h)}" width="{_f(bar_w)}" height="{_f(h)}"/>'
        )
    parts.append("</g>")

    # The line has a point per day, whatever the bars stand for.
    step = PLOT_UNITS / len(series)
    running, points = 0, []
    for i, (_, count) in enumerate(series):
        running += count
        points.append(f"{_f(step * (i + 0.5))},{_f(y_of(running) - TOP)}")
    first_x, last_x = _f(step * 0.5), _f(step * (len(series) - 0.5))
    parts.append(
        f'<polygon class="chart-area" points="{first_x},{plot_h} {" ".join(points)}'
        f' {last_x},{plot_h}"/>'
    )
    parts.append(
        f'<polyline class="chart-line" points="{" ".join(points)}"'
        ' vector-effect="non-scaling-stroke"/>'
    )
    parts.append("</svg>")
    if len(series) == 1:  # one point draws no line: mark it, round, outside the stretch
        parts.append(f'<circle class="chart-dot" cx="50%" cy="{_f(y_of(running))}" r="5"/>')

    parts.append(f'<line class="chart-axis" x1="0" x2="100%" y1="{base}" y2="{base}"/>')
    for tick in ticks[1:]:
        parts.append(
            f'<text class="chart-label chart-value" x="0" y="{_f(y_of(tick) - 5)}">'
            f"{escape(_number(tick))}</text>"
        )
    parts.append('<g class="chart-bar-scale">')
    for tick in bar_ticks[1:]:
        level = base - bar_h(tick)
        parts.append(
            f'<line class="chart-bar-grid" x1="0" x2="100%" y1="{_f(level)}" y2="{_f(level)}"/>'
            f'<text class="chart-label chart-value chart-bar-value" x="100%" y="{_f(level - 4)}"'
            f' text-anchor="end">{escape(_number(tick))}</text>'
        )
    parts.append("</g>")
    for index, anchor in _x_ticks(len(series)):
        x_at = {"start": "0", "end": "100%"}.get(
            anchor, f"{_f(100 * (index + 0.5) / len(series))}%"
        )
        parts.append(
            f'<text class="chart-label" x="{x_at}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
            f"{escape(_axis_date(series[index][0], len(series)))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _x_ticks(days: int) -> list[tuple[int, str]]:
    """Where the date labels go: the first and last day, and one or two between."""
    if days == 1:
        return [(0, "middle")]
    if days < 5:
        return [(0, "start"), (days - 1, "end")]
    return [(0, "start"), (days // 2, "middle"), (days - 1, "end")]


def _axis_date(day: date, span: int) -> str:
    return formats.date_format(day, "YEAR_MONTH_FORMAT" if span > 366 else "MONTH_DAY_FORMAT")


def chart_summary(series: list[tuple[date, int]], total: int) -> str:
    busiest_day, busiest = max(series, key=lambda pair: pair[1])
    if len(series) == 1:
        return ngettext(
            "%(total)s signature, on %(day)s.", "%(total)s signatures, all on %(day)s.", total
        ) % {"total": _number(total), "day": _day(busiest_day)}
    return ngettext(
        "%(total)s signature over %(days)s days; the busiest day was %(day)s, with %(busiest)s.",
        "%(total)s signatures over %(days)s days; the busiest day was %(day)s, with %(busiest)s.",
        total,
    ) % {
        "total": _number(total),
        "days": _number(len(series)),
        "day": _day(busiest_day),
        "busiest": _number(busiest),
    }


def chart_build(by_day: Sequence[Mapping[str, Any]]) -> Chart:
    """Everything _chart.html shows, from the tally's per-day rows: plain strings and
    lists, so it can sit in the cache."""
    series = daily_series(by_day)
    if not series:
        return {"empty": True}
    bars = buckets(series)
    total = bars[-1].cumulative
    size = bucket_days(len(series))
    title = gettext("Verified signatures over time")
    rows: list[ChartRow] = [
        {
            "period": _day(bar.start)
            if bar.days == 1
            else gettext("%(start)s to %(end)s") % {"start": _day(bar.start), "end": _day(bar.end)},
            "count": _number(bar.count),
            "cumulative": _number(bar.cumulative),
        }
        for bar in bars
    ]
    return {
        "empty": False,
        "svg": chart_svg(series, bars, title=title),
        "summary": chart_summary(series, total),
        "bars_stand_for": {
            1: gettext("Bars: signatures per day, on the scale at the right."),
            7: gettext("Bars: signatures per week, on the scale at the right."),
        }.get(size, gettext("Bars: signatures per 30 days, on the scale at the right.")),
        "rows": rows,
        "days": len(series),
    }


def letter_chart(letter: Letter, count: int) -> Chart:
    """The chart of a letter's signatures, cached under its count and the page language.

    A letter without counted signatures costs nothing: there is nothing to draw.
    """
    if count <= 0:
        return {"empty": True}
    key = f"chart:{letter.pk}:{count}:{translation.get_language()}"
    return cached_twice(key, lambda: chart_build(letter_breakdowns(letter)["by_day"]))
