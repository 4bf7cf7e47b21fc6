"""Display objects for list pages: what the templates loop over to show the
list controls (view switch, sort menu, sortable table columns, numbered
pages, downloads). Built from a browse result; no query.
"""

from dataclasses import dataclass

from . import charts
from .browse import Links
from .filters import REVERSED_SORTS, SORT_CHOICES, VIEW_CHOICES

# Pages shown either side of the current one, besides the first and the last.
PAGE_WINDOW = 2


@dataclass
class Choice:
    value: str
    label: str
    url: str
    current: bool


@dataclass
class PageLink:
    number: int | None  # None: a gap ("…")
    url: str = ""
    current: bool = False


@dataclass
class Column:
    label: str
    url: str = ""  # sorts by this column (or, when it is the sort in effect, reverses it) when set
    current: bool = False
    numeric: bool = False
    direction: str = ""  # the sort in effect on this column: "ascending" or "descending" (aria-sort)


# Table columns: (label, sort value or None, numeric, the sort's direction).
TABLE_COLUMNS = [
    ("Year", "newest", True, "descending"),
    ("Title", "title", False, "ascending"),
    ("Stars", "stars", True, "descending"),
    ("Language", None, False, ""),
    ("Rating", "rating", True, "descending"),
    ("Labels", None, False, ""),
    ("Added", "added", True, "descending"),
]
FLIPPED = {"ascending": "descending", "descending": "ascending"}


def page_numbers(number, num_pages, window=PAGE_WINDOW):
    """The page numbers to offer: first, last, and a window around `number`; None marks a gap."""
    wanted = {1, num_pages, *range(number - window, number + window + 1)}
    shown, previous = [], 0
    for n in sorted(p for p in wanted if 1 <= p <= num_pages):
        if n - previous > 1:
            shown.append(None if n - previous > 2 else n - 1)
        shown.append(n)
        previous = n
    return shown


@dataclass
class Pagination:
    number: int
    num_pages: int
    links: list
    first_url: str
    last_url: str
    previous_url: str = ""
    next_url: str = ""


def pagination(page, url_of):
    """Numbered pages with first, previous, next and last for a Django page, or
    None when everything fits on one page; `url_of(n)` gives page n's URL."""
    if not page.has_other_pages():
        return None
    last = page.paginator.num_pages
    links = [PageLink(n, url_of(n), n == page.number) if n else PageLink(None) for n in page_numbers(page.number, last)]
    return Pagination(
        page.number,
        last,
        links,
        url_of(1),
        url_of(last),
        url_of(page.previous_page_number()) if page.has_previous() else "",
        url_of(page.next_page_number()) if page.has_next() else "",
    )


@dataclass
class ListControls:
    views: list
    sorts: list
    columns: list
    pagination: Pagination | None
    download_csv: str = ""
    download_jsonl: str = ""
    year_span: tuple | None = None  # (first, last) year of the Year facet: the bounds of its slider


def list_controls(result, path, *, table=True):
    """The controls of a browse or topic page's list."""
    params = result.params
    links = Links(path, params)
    views = [
        Choice(value, label, links.url(view=None if i == 0 else value, page=params.get("page")), False)
        for i, (value, label) in enumerate(VIEW_CHOICES)
        if table or value != "table"
    ]
    for choice in views:
        choice.current = choice.value == result.view
    has_text = bool(result.terms)
    # The default order's option sends no value: a new search then gets its own
    # default (relevance) instead of the order the previous page had by default.
    default = "relevance" if has_text else "newest"
    sorts = [
        Choice("" if value == default else value, label, "", value == result.sort)
        for value, label in SORT_CHOICES
        if value != "relevance" or has_text
    ]
    sorts += [Choice(value, label, "", True) for value, label in REVERSED_SORTS if value == result.sort]
    columns = []
    for label, sort, numeric, direction in TABLE_COLUMNS:
        column = Column(label, numeric=numeric)
        if sort:
            # A column's heading sorts by it; chosen again, it reverses the order.
            column.current = result.sort in (sort, f"-{sort}")
            if column.current:
                column.direction = direction if result.sort == sort else FLIPPED[direction]
            wanted = f"-{sort}" if result.sort == sort else sort
            column.url = links.url(sort=None if wanted == default else wanted)
        columns.append(column)

    def url_of(n):
        return links.url(page=n if n > 1 else None)

    controls = ListControls(views, sorts, columns, pagination(result.page, url_of))
    for panel in result.facets:
        if panel.kind == "year":
            panel.chart = charts.year_histogram(panel)
            years = [int(v.value) for v in panel.values if ".." not in v.value]
            controls.year_span = (min(years), max(years)) if len(set(years)) > 1 else None
        elif panel.kind == "stars":
            panel.chart = charts.stars_distribution(panel)
    controls.download_csv = links.url(download="csv")
    controls.download_jsonl = links.url(download="jsonl")
    return controls
