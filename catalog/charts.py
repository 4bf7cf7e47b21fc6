"""Server-rendered SVG charts: the geometry of bars, labels and gridlines,
computed here so the templates only loop. Each chart carries a one-sentence
summary for screen readers, and its numbers stay available as a table.
"""

import math
from dataclasses import dataclass, field

WIDTH = 640
PLOT_TOP = 8
PLOT_HEIGHT = 170
AXIS_LEFT = 44
AXIS_BOTTOM = 28
ROW_HEIGHT = 22
LABEL_WIDTH = 230
MAX_X_LABELS = 12


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str = ""
    title: str = ""
    url: str = ""
    selected: bool = False


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    slug: str
    title: str
    summary: str
    width: int
    height: int
    rects: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    gridlines: list = field(default_factory=list)  # (y or x, Text)
    legend: list = field(default_factory=list)  # (css class, name)
    horizontal: bool = False
    table: object = None


def nice_ceiling(value):
    """The smallest 1, 2 or 5 × 10^k at least `value` (an axis maximum)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _plural(n, word="entry", words="entries"):
    return f"{n:,} {word if n == 1 else words}"


def columns(slug, title, categories, series, *, urls=None, selected=(), summary="", grouped=False):
    """Vertical bars, one column per category, series stacked (or side by side when `grouped`).

    `series`: [(name, css class, [value per category])]; `urls`: a link per
    category (the bars become links); `selected`: the categories shown as chosen.
    """
    totals = [[values[i] for _, _, values in series] for i in range(len(categories))]
    totals = [(max(t, default=0) if grouped else sum(t)) for t in totals]
    top = nice_ceiling(max(totals, default=0))
    height = PLOT_TOP + PLOT_HEIGHT + AXIS_BOTTOM
    chart = Chart(slug, title, summary, WIDTH, height, legend=[(css, name) for name, css, _ in series if name])
    slot = (WIDTH - AXIS_LEFT) / max(len(categories), 1)
    bar = max(min(slot * 0.8, 48), 2)
    every = math.ceil(len(categories) / MAX_X_LABELS) or 1
    base = PLOT_TOP + PLOT_HEIGHT
    width = bar / len(series) if grouped and series else bar
    for i, category in enumerate(categories):
        x = AXIS_LEFT + i * slot + (slot - bar) / 2
        y = base
        for k, (name, css, values) in enumerate(series):
            value = values[i]
            if not value:
                continue
            h = PLOT_HEIGHT * value / top
            y = base - h if grouped else y - h
            left = x + k * width if grouped else x
            what = f"{category}: {_plural(value)}" + (f" ({name})" if name else "")
            rect = Rect(round(left, 1), round(y, 1), round(width, 1), round(h, 1), css, what)
            rect.url, rect.selected = (urls or {}).get(category, ""), category in selected
            chart.rects.append(rect)
        if i % every == 0 or i == len(categories) - 1:
            chart.labels.append(Text(round(x + bar / 2, 1), base + 16, str(category)))
    for fraction in (0, 0.5, 1):
        y = round(base - PLOT_HEIGHT * fraction, 1)
        chart.gridlines.append((y, Text(AXIS_LEFT - 6, y + 4, f"{round(top * fraction):,}", "end")))
    return chart


def rows(slug, title, categories, series, *, summary=""):
    """Horizontal bars, one row per category, series stacked; labels on the left."""
    totals = [sum(values[i] for _, _, values in series) for i in range(len(categories))]
    top = nice_ceiling(max(totals, default=0))
    plot = WIDTH - LABEL_WIDTH - 50
    height = PLOT_TOP + ROW_HEIGHT * len(categories) + AXIS_BOTTOM
    chart = Chart(
        slug, title, summary, WIDTH, height, legend=[(css, name) for name, css, _ in series if name], horizontal=True
    )
    for i, category in enumerate(categories):
        y = PLOT_TOP + i * ROW_HEIGHT
        x = LABEL_WIDTH
        for name, css, values in series:
            value = values[i]
            if not value:
                continue
            w = plot * value / top
            what = f"{category}: {_plural(value)}" + (f" ({name})" if name else "")
            chart.rects.append(Rect(round(x, 1), y + 3, round(w, 1), ROW_HEIGHT - 6, css, what))
            x += w
        text = category if len(category) <= 34 else category[:33] + "…"
        chart.labels.append(Text(LABEL_WIDTH - 6, y + ROW_HEIGHT / 2 + 4, text, "end"))
        chart.labels.append(Text(round(x + 4, 1), y + ROW_HEIGHT / 2 + 4, f"{totals[i]:,}", "start"))
    base = PLOT_TOP + ROW_HEIGHT * len(categories)
    for fraction in (0, 0.5, 1):
        x = round(LABEL_WIDTH + plot * fraction, 1)
        chart.gridlines.append((x, Text(x, base + 16, f"{round(top * fraction):,}")))
    return chart


def series_of(table, classes):
    """Chart series from a stats table's number columns: [(name, css, values)]."""
    return [
        (name, css, [row[i + 1] for row in table.rows])
        for i, (name, css) in enumerate(zip(table.columns[1:], classes, strict=False))
    ]


def largest(table, column=1):
    """A sentence naming the row with the largest value of one column."""
    if not table.rows:
        return "No data yet."
    best = max(table.rows, key=lambda r: r[column])
    return f"Most: {best[0]} with {_plural(best[column])}."


# --- small charts inside a facet --------------------------------------------------------------

FACET_WIDTH = 240
FACET_PLOT = 64


def year_histogram(panel):
    """The Year facet as columns, one a year from the first to the last (gaps as
    empty slots); each column links to that year, as the facet's values do."""
    years = {int(v.value): v for v in panel.values if ".." not in v.value}
    if not years:
        return None
    span = [v for v in panel.values if ".." in v.value and v.selected]
    low, high = None, None
    if span:
        start, _, end = span[0].value.partition("..")
        low, high = int(start) if start else min(years), int(end) if end else max(years)
    first, last = min(years), max(years)
    top = max((v.count for v in years.values()), default=0) or 1
    slot = FACET_WIDTH / (last - first + 1)
    chart = Chart("year-histogram", "Entries per year", "", FACET_WIDTH, FACET_PLOT + 18)
    for i, year in enumerate(range(first, last + 1)):
        value = years.get(year)
        count = value.count if value else 0
        height = max(FACET_PLOT * count / top, 1.5 if count else 0)
        selected = bool(value and value.selected) or (low is not None and low <= year <= high)
        title = f"{year}: {_plural(count)}" + (" (selected)" if selected else "")
        rect = Rect(round(i * slot + 1, 1), round(FACET_PLOT - height, 1), round(max(slot - 2, 1), 1), round(height, 1))
        rect.css, rect.title, rect.url, rect.selected = "series-0", title, value.toggle_url if value else "", selected
        chart.rects.append(rect)
    chart.labels = [Text(0, FACET_PLOT + 14, str(first), "start"), Text(FACET_WIDTH, FACET_PLOT + 14, str(last), "end")]
    busiest = max(years.values(), key=lambda v: v.count)
    chart.summary = f"From {first} to {last}; most in {busiest.value} ({_plural(busiest.count)})."
    return chart


def stars_distribution(panel):
    """How many entries fall in each band of GitHub stars, from the facet's
    "at least" counts (10+, 100+, ...): a band is the difference of two."""
    at_least = {int(v.value): v.count for v in panel.values}
    thresholds = sorted(t for t in at_least if t in STAR_BANDS)
    if not thresholds:
        return None
    bands = []
    for i, low in enumerate(thresholds):
        high = thresholds[i + 1] if i + 1 < len(thresholds) else None
        count = at_least[low] - (at_least[high] if high else 0)
        bands.append((f"{low:,}–{high - 1:,}" if high else f"{low:,}+", count))
    top = max(n for _, n in bands) or 1
    row = 16
    chart = Chart(
        "stars-distribution", "Entries by GitHub stars", "", FACET_WIDTH, row * len(bands) + 4, horizontal=True
    )
    for i, (label, count) in enumerate(bands):
        y = i * row + 2
        chart.labels.append(Text(80, y + 11, label, "end"))
        width = (FACET_WIDTH - 130) * count / top
        chart.rects.append(
            Rect(
                86,
                y + 2,
                round(max(width, 1 if count else 0), 1),
                row - 4,
                "series-0",
                f"{label} stars: {_plural(count)}",
            )
        )
        chart.labels.append(Text(round(90 + width, 1), y + 11, f"{count:,}", "start"))
    chart.summary = "; ".join(f"{label} stars: {_plural(n)}" for label, n in bands) + "."
    return chart


STAR_BANDS = (10, 100, 1000, 10000)
