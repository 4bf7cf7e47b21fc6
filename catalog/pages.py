"""Read-side assembly of pages: the topic outline and the edition switch.

Each function runs a fixed number of queries, whatever the size of the
catalog, and returns plain objects that templates only loop over.
"""

from dataclasses import dataclass, field

from django.db.models import F, Prefetch
from django.urls import reverse

from . import tree
from .models import Edition, Entry, Placement, Section, Topic

MAX_HEADING_LEVEL = 6


@dataclass
class SectionNode:
    section: Section
    depth: int
    entries: list = field(default_factory=list)
    children: list = field(default_factory=list)
    total: int = 0  # entries here and below

    @property
    def heading_level(self):
        # h1 is the page title; top sections are h2.
        return min(self.depth + 1, MAX_HEADING_LEVEL)


@dataclass
class EditionLink:
    edition: Edition
    url: str
    current: bool
    available: bool


def topic_url(slug, edition, default_edition):
    if edition == default_edition:
        return reverse("catalog:topic", kwargs={"slug": slug})
    return reverse("catalog:topic_edition", kwargs={"slug": slug, "edition": edition.slug})


def edition_switch(slug, current, editions):
    """One link per edition to the same topic; `available` says whether it has that page."""
    available = set(Topic.objects.filter(slug=slug).values_list("edition_id", flat=True))
    default = editions[0]
    return [EditionLink(e, topic_url(slug, e, default), e == current, e.pk in available) for e in editions], bool(
        available
    )


def topic_outline(topic, only=None):
    """The topic's section tree with its entries placed, newest year first.

    With `only` (a set of entry ids), just those entries, and only the
    sections that hold one of them. Three queries: sections, placements with
    entries, and their labels.
    """
    sections = list(Section.objects.filter(topic=topic).order_by("position", "id"))
    nodes = {s.pk: SectionNode(s, 0) for s in sections}
    children = tree.children_of(sections, parent=lambda s: s.parent_id if s.parent_id in nodes else None)
    for s in sections:
        nodes[s.pk].children = [nodes[c.pk] for c in children.get(s.pk, [])]
    roots = [nodes[s.pk] for s in children.get(None, [])]
    for placement in Placement.objects.for_topic(topic):
        if only is None or placement.entry_id in only:
            nodes[placement.section_id].entries.append(placement.entry)

    def finish(node_list, depth):
        total = 0
        for node in node_list:
            node.depth = depth
            node.total = len(node.entries) + finish(node.children, depth + 1)
            total += node.total
        return total

    finish(roots, 1)
    if only is not None:
        return prune(roots)
    return roots


def prune(nodes):
    """The nodes that hold an entry, themselves or below."""
    kept = []
    for node in nodes:
        if node.total:
            node.children = prune(node.children)
            kept.append(node)
    return kept


def entry_listings(entry):
    """Where an entry is listed: [(topic, [section titles from the top], section)]."""
    placements = list(
        Placement.objects.filter(entry=entry)
        .select_related("section__topic__edition")
        .order_by("section__topic__edition__position", "section__topic__title", "section__position")
    )
    topic_ids = {p.section.topic_id for p in placements}
    rows = Section.objects.filter(topic_id__in=topic_ids).values_list("id", "parent_id", "title")
    parents = {pk: parent for pk, parent, _ in rows}
    titles = {pk: title for pk, _, title in rows}
    return [
        (p.section.topic, [titles[i] for i in tree.path_from_top(p.section_id, parents)], p.section) for p in placements
    ]


def newest_entries(limit=8):
    """The entries added last (not the newest publication years); undated ones never first."""
    return Entry.objects.with_card_data().order_by("-created_at", F("year").desc(nulls_last=True), "-id")[:limit]


def recently_added(topic=None):
    """Entries by when they were added to the catalog, newest first; on `topic` (any
    edition of its slug) when given. Undated entries never sort first."""
    entries = Entry.objects.with_card_data()
    if topic is not None:
        entries = entries.filter(placements__section__topic__slug=topic).distinct()
    return entries.order_by("-created_at", F("year").desc(nulls_last=True), "-id")


def where_listed(entries):
    """{entry id: [(topic, "Section › Subsection")]} for a page of entries: three queries."""
    placements = list(
        Placement.objects.filter(entry__in=entries)
        .select_related("section__topic__edition")
        .order_by("section__topic__edition__position", "section__topic__title", "section__position")
    )
    paths = Section.objects.filter(pk__in={p.section_id for p in placements}).paths() if placements else {}
    listed = {}
    for p in placements:
        topic = p.section.topic
        inside = paths[p.section_id].split(" › ", 2)[-1]  # the path below edition and topic
        listed.setdefault(p.entry_id, []).append((topic, inside, p.section.get_absolute_url()))
    return listed


def topics_with_counts_prefetch():
    """Prefetch a dimension's topics, each annotated with its entry count."""
    return Prefetch(
        "topics", queryset=Topic.objects.with_entry_counts().select_related("edition").order_by("position", "title")
    )
