"""Read-side assembly of pages: the topic outline and the edition switch.

Each function runs a fixed number of queries, whatever the size of the
catalog, and returns plain objects that templates only loop over.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
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


class Listing:
    """An entry as one page lists it: the page's own words over the entry's facts.

    Templates use it like an entry (`_entry_card.html`): `title` and
    `description` are the listing's when it has its own, everything else is
    the entry's.
    """

    __slots__ = ("entry", "placement", "title", "description")

    def __init__(self, placement):
        self.placement = placement
        self.entry = placement.entry
        self.title = placement.shown_title
        self.description = placement.shown_description

    def __getattr__(self, name):
        return getattr(self.entry, name)


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
            nodes[placement.section_id].entries.append(Listing(placement))

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


def use_listing_words(topic, entries):
    """Give `entries` (Entry rows of a topic's export) the topic's own words for them:
    those of each entry's first listing on the page. One query; nothing is saved."""
    ids = [entry.pk for entry in entries]
    words = {}
    rows = (
        Placement.objects.filter(section__topic=topic, entry_id__in=ids)
        .order_by("section__position", "section_id", "position")
        .values_list("entry_id", "title", "description")
    )
    for entry_id, title, description in rows:
        words.setdefault(entry_id, (title, description))
    for entry in entries:
        title, description = words.get(entry.pk, (None, None))
        entry.title = entry.title if title is None else title
        entry.description = entry.description if description is None else description


def prune(nodes):
    """The nodes that hold an entry, themselves or below."""
    kept = []
    for node in nodes:
        if node.total:
            node.children = prune(node.children)
            kept.append(node)
    return kept


def entry_listings(entry):
    """Where an entry is listed: [(topic, [section titles from the top], section, placement)];
    the placement carries that page's wording."""
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
        (p.section.topic, [titles[i] for i in tree.path_from_top(p.section_id, parents)], p.section, p)
        for p in placements
    ]


SHARED_TOPICS = 5
MAX_CURATED = 50


def related_topics(topic, *, limit=SHARED_TOPICS):
    """The topics to explore from `topic`: its curated relations, or else the topics of its
    edition that share the most entries with it. Returns (topics, curated), in one query."""
    curated = Topic.related.through.objects.filter(from_topic_id=topic.pk, to_topic_id=OuterRef("pk"))
    entry_ids = Placement.objects.filter(section__topic_id=topic.pk).values("entry_id")
    shared = Count("sections__placements__entry", distinct=True, filter=Q(sections__placements__entry_id__in=entry_ids))
    rows = list(
        Topic.objects.annotate(curated=Exists(curated))
        .filter(Q(curated=True) | Q(edition_id=topic.edition_id, sections__placements__entry_id__in=entry_ids))
        .exclude(pk=topic.pk)
        .annotate(shared=shared)
        .order_by("-curated", "-shared", "title")[: MAX_CURATED + limit]
    )
    if rows and rows[0].curated:
        return [t for t in rows if t.curated], True
    return rows[:limit], False


def newest_entries(limit=8):
    return Entry.objects.with_card_data().order_by("-created_at", "-year", "-id")[:limit]


def topics_with_counts_prefetch():
    """Prefetch a dimension's topics, each annotated with its entry count."""
    return Prefetch(
        "topics", queryset=Topic.objects.with_entry_counts().select_related("edition").order_by("position", "title")
    )
