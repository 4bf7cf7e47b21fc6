"""The shape of the catalog in numbers, for /stats/: each statistic is a table
(columns and rows) that the page draws as a chart, shows as a table, and
serves as JSON or CSV. One grouped query a table.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Max
from django.db.models.functions import Lower, TruncMonth

from .linkhealth.models import LinkState
from .models import Edition, Entry, Label, Placement

TOP_LANGUAGES = 10
MAX_TOPICS = 20
MATURITY_GROUP = "maturity"


def _placements():
    """Placements of the entries reader lists show."""
    return Placement.objects.filter(entry__in=Entry.objects.listed())


@dataclass
class Table:
    slug: str
    title: str
    columns: list  # header texts; the first names the row
    rows: list  # [label, number, number, ...]
    note: str = ""
    keys: list = field(default_factory=list)  # stable keys of the number columns, when they have some

    def as_dict(self):
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "note": self.note}


def entries_per_year():
    """Distinct entries per year in each edition (an entry listed in both counts in both)."""
    editions = list(Edition.objects.order_by("position", "id").values_list("slug", "name"))
    rows = (
        _placements()
        .values("section__topic__edition__slug", "entry__year")
        .annotate(n=Count("entry", distinct=True))
        .order_by()
    )
    by_year, unknown = {}, dict.fromkeys((slug for slug, _ in editions), 0)
    for row in rows:
        edition, year, n = row["section__topic__edition__slug"], row["entry__year"], row["n"]
        if year is None:
            unknown[edition] = unknown.get(edition, 0) + n
            continue
        by_year.setdefault(year, dict.fromkeys((slug for slug, _ in editions), 0))[edition] = n
    table_rows = [[str(year)] + [by_year[year][slug] for slug, _ in editions] for year in sorted(by_year)]
    missing = ", ".join(f"{unknown[slug]} in the {name}" for slug, name in editions if unknown.get(slug))
    return Table(
        "years",
        "Entries per year, by edition",
        ["Year"] + [name for _, name in editions],
        table_rows,
        f"Entries without a year are left out ({missing})." if missing else "",
        keys=[slug for slug, _ in editions],
    )


def maturity_per_topic():
    """Per topic, how many of its entries carry each maturity tier (and how many none)."""
    tiers = list(
        Label.objects.filter(group__slug=MATURITY_GROUP).order_by("position", "name").values_list("slug", "name")
    )
    totals = (
        _placements()
        .values("section__topic_id", "section__topic__title", "section__topic__edition__name")
        .annotate(n=Count("entry", distinct=True))
        .order_by("-n", "section__topic__title")
    )
    tiered = (
        _placements()
        .filter(entry__tagged_items__tag__group__slug=MATURITY_GROUP)
        .values("section__topic_id", "entry__tagged_items__tag__slug")
        .annotate(n=Count("entry", distinct=True))
        .order_by()
    )
    counts = {}
    for row in tiered:
        counts.setdefault(row["section__topic_id"], {})[row["entry__tagged_items__tag__slug"]] = row["n"]
    rows = []
    for topic in totals:
        mine = counts.get(topic["section__topic_id"])
        if not mine:
            continue
        values = [mine.get(slug, 0) for slug, _ in tiers]
        label = f"{topic['section__topic__title']} ({topic['section__topic__edition__name']})"
        rows.append([label, *values, max(topic["n"] - sum(values), 0)])
    shown = rows[:MAX_TOPICS]
    note = f"The {len(shown)} largest of {len(rows)} topics with a tiered entry." if len(rows) > len(shown) else ""
    return Table(
        "maturity",
        "Maturity mix per topic",
        ["Topic", *(name for _, name in tiers), "No tier"],
        shown,
        note,
        keys=[*(slug for slug, _ in tiers), "none"],
    )


def top_languages():
    """The main languages of GitHub projects, most frequent first (spellings merged)."""
    rows = list(
        Entry.objects.listed()
        .exclude(language="")
        .annotate(key=Lower("language"))
        .values("key")
        .annotate(n=Count("id"), spelling=Max("language"))
        .order_by("-n", "key")
    )
    shown = rows[:TOP_LANGUAGES]
    note = f"The top {len(shown)} of {len(rows)} languages." if len(rows) > len(shown) else ""
    return Table("languages", "Top languages", ["Language", "Entries"], [[r["spelling"], r["n"]] for r in shown], note)


def growth_per_month():
    """Entries added per month, with the running total."""
    rows = (
        Entry.objects.listed()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    table, total = [], 0
    for row in rows:
        total += row["n"]
        table.append([row["month"].strftime("%Y-%m"), row["n"], total])
    return Table("growth", "Entries added per month", ["Month", "Added", "Total"], table)


def link_status():
    """How the published entries' links fared at their last check (dead ones are left out of lists)."""
    counts = dict(Entry.objects.visible().values_list("link_state").annotate(n=Count("id")).order_by())
    rows = [[label, counts.get(value, 0)] for value, label in LinkState.choices if counts.get(value)]
    return Table("links", "Link status", ["State", "Entries"], rows, keys=[v for v, _ in LinkState.choices])


STATISTICS = {
    "years": entries_per_year,
    "maturity": maturity_per_topic,
    "languages": top_languages,
    "growth": growth_per_month,
    "links": link_status,
}


def all_tables():
    return [build() for build in STATISTICS.values()]
