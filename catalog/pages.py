"""Read-side assembly of pages: the topic outline and the edition switch.

Each function runs a fixed number of queries, whatever the size of the
catalog, and returns plain objects that templates only loop over.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import numpy as np
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils.safestring import mark_safe

from . import tree
from .facet_index import TopicListings
from .linkhealth import wayback
from .models import (
    Edition,
    Entry,
    LinkState,
    Placement,
    Section,
    TaggedEntry,
    Topic,
    entry_url_pattern,
    github_flag,
    is_safe_url,
    label_css_class,
    label_tooltip,
    label_url,
    logo_path,
    rating_stars,
)
from .prose import render_markdown
from .visibility import listed_entries, public_labels, visible_entries

MAX_HEADING_LEVEL = 6


# At most this many listings on one topic page; a collapsed section shows at least a few.
PAGE_LISTINGS = 500
PREVIEW_LISTINGS = 5


@dataclass
class SectionNode:
    section: Section
    depth: int
    entries: list = field(default_factory=list)
    children: list = field(default_factory=list)
    total: int = 0  # entries here and below
    count: int = 0  # entries here
    hidden: int = 0  # of those, not shown on a collapsed page
    more_url: str = ""
    url: str = ""  # the table of contents' link
    prose: str = ""  # the section's markdown
    ends: range = range(0)  # the enclosing sections whose last descendant this is (flat(): no children)
    slug: str = field(init=False, default="")  # the section's, read a few times each
    title: str = field(init=False, default="")

    @property
    def prose_html(self):
        return safe_markdown(self.prose)

    def __post_init__(self):
        self.slug, self.title = self.section.slug, self.section.title
        self.url = self.url or f"#{self.slug}"

    @property
    def heading_level(self):
        # h1 is the page title; top sections are h2.
        return min(self.depth + 1, MAX_HEADING_LEVEL)


def safe_markdown(text):
    """Markdown as HTML a template can show: rendered and sanitised by `prose.render_markdown`."""
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitised it


class RepoFacts(NamedTuple):
    """What a list row shows of an entry's fetched GitHub repository (GitHubRepo's fields)."""

    stars: int
    fetched_at: datetime
    archived: bool
    pushed_at: datetime | None


ENTRY_FIELDS = (
    "id", "title", "url", "year", "description", "github_stars", "language", "rating", "featured", "link_state",
    "logo_id", "site_logo_id", "github_repo__stars", "github_repo__fetched_at", "github_repo__archived",
    "github_repo__pushed_at",
)  # fmt: skip
# A listing's own words, then its entry's fields.
LISTING_FIELDS = ("id", "title", "description", "highlight", "note", *(f"entry__{name}" for name in ENTRY_FIELDS))


def entry_rows(ids):
    """{entry id: row} for the entries `ids`: what a list row shows, under the names the
    rows (`templatetags/entry_lists.py`) and `_entry_card.html` read of an Entry with
    `with_card_data()`, as a dict (both try a key before an attribute). Two queries of
    plain values: model instances with their labels prefetched cost more than the rows' HTML."""
    rows = list(Entry.objects.filter(pk__in=ids).order_by().values_list(*ENTRY_FIELDS))  # looked up by id
    labels, entry_url = label_rows(ids), entry_url_pattern()
    return {values[0]: _row(values, labels, entry_url) for values in rows}


def listing_rows(placement_ids):
    """{placement id: row} for listings `placement_ids`, as `entry_rows()` makes them, with
    the listing's own title and description when it has them, its highlight and note,
    and `children`: the listings nested under it. Two queries (a topic page shows hundreds)."""
    # No order: the default one (section, then its topic, dimension and edition) joins four
    # more tables to sort rows that are looked up by id (37-55 ms for 500 on PostgreSQL).
    rows = list(Placement.objects.filter(pk__in=placement_ids).order_by().values_list(*LISTING_FIELDS))
    labels, entry_url = label_rows({values[5] for values in rows}), entry_url_pattern()
    found = {}
    for placement_id, title, description, highlight, note, *entry in rows:
        row = found[placement_id] = _row(entry, labels, entry_url)
        row["title"] = row["title"] if title is None else title
        row["description"] = row["description"] if description is None else description
        row.update(highlight=highlight, note=note, note_html=safe_markdown(note) if note else "", children=[])
    return found


def _row(values, labels, entry_url):
    """One entry's list row from its ENTRY_FIELDS `values` and `labels` (label_rows())."""
    pk, title, url, year, description, stars, language, rating, featured, link_state = values[:10]
    logo_id, site_logo_id, repo_stars, fetched_at, archived, pushed_at = values[10:]
    repo = RepoFacts(repo_stars, fetched_at, archived, pushed_at) if fetched_at and repo_stars is not None else None
    link = url if is_safe_url(url) else None
    logo = logo_id or site_logo_id
    dead_copy = wayback.archived_copy_url(url) if link and link_state == LinkState.DEAD else None
    original = wayback.original_of_archived(url)
    shown_labels = labels.get(pk, ())
    has_facts = bool(featured or repo or stars is not None or language or rating)
    return {
        "pk": pk,
        "title": title,
        "title_html": None,
        "description": description,
        "description_html": None,
        "year": year,
        "link_url": link,
        "logo_src": logo_path(logo) if logo else "",
        "get_absolute_url": entry_url.format(pk),
        "featured": featured,
        "github_fetched": repo,
        "github_stars": stars,
        "github_flag": github_flag(repo),
        "language": language,
        "rating": rating,
        "rating_stars": rating_stars(rating),
        "labels_shown": shown_labels,
        "has_facts": has_facts,
        "has_badges": bool(has_facts or shown_labels),
        "link_is_dead": link_state == LinkState.DEAD,
        "archived_copy_url": dead_copy,
        "archived_original": original,
        "has_link_note": bool(dead_copy or original),
        "highlight": "",
        "note": "",
        "note_html": "",
        "children": (),
    }


def label_rows(ids):
    """{entry id: [label]}: the public labels of entries `ids` in display order, as
    dicts (one a label, shared by the rows that show it)."""
    rows = (
        TaggedEntry.objects.filter(public_labels("tag"), content_object_id__in=ids)
        .order_by("tag__group__position", "tag__position", "tag__name")
        .values_list(
            "content_object_id", "tag_id", "tag__slug", "tag__name", "tag__description", "tag__group__slug",
            "tag__group__name",
        )
    )  # fmt: skip
    labels, shown = {}, {}
    for entry_id, label_id, slug, name, description, group_slug, group_name in rows:
        if label_id not in labels:
            labels[label_id] = {
                "name": name,
                "get_absolute_url": label_url(slug),
                "css_class": label_css_class(group_slug, slug),
                "tooltip": label_tooltip(group_name, description),
            }
        shown.setdefault(entry_id, []).append(labels[label_id])
    return shown


@dataclass
class Outline:
    """A topic page's sections: `roots` for the table of contents (every
    section and its count), `shown` for the body (the same tree, or the
    `expanded` section alone with its `page` of listings)."""

    roots: list
    shown: list
    listings: int
    toc: list = field(default_factory=list)  # `roots`, flat()
    body: list = field(default_factory=list)  # `shown`, flat()
    collapsed: bool = False
    expanded: SectionNode | None = None
    page: object = None
    back_url: str = ""
    previous_url: str = ""
    next_url: str = ""


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
    """One link per edition to the same topic (`available` says whether it has that page),
    whether any edition has it, and the current edition's topic (None without one).
    One query: the topic of every edition with its dimension."""
    topics = {t.edition_id: t for t in Topic.objects.filter(slug=slug).select_related("dimension", "edition")}
    default = editions[0]
    links = [EditionLink(e, topic_url(slug, e, default), e == current, e.pk in topics) for e in editions]
    return links, bool(topics), topics.get(current.pk)


def topic_outline(topic, only=None, *, sections=None, listings=None, expand=None, page=None, link=None):
    """The topic's section tree with its entries placed, newest year first.

    With `only` (a set of entry ids), just those entries, and only the
    sections that hold one of them. A page never shows more than
    PAGE_LISTINGS listings: a longer one shows the first few of each section
    (`hidden` says how many more, `more_url` shows them all), and a section
    named by `expand` (its slug) shows alone, PAGE_LISTINGS a page.
    `link(**changes)` makes those URLs. `sections`: the topic's sections in
    order, and `listings`: its listings (`TopicListings`), when the caller has
    them (the facet index's). Two queries, the entries shown with their labels;
    one more for the listings without `listings`, one for the sections without
    `sections`, one for the prose of the index's sections when the topic has some.
    """
    if sections is None:
        sections = list(Section.objects.filter(topic=topic).order_by("position", "id"))
    nodes = {s.id: SectionNode(s, 0) for s in sections}
    children = tree.children_of(sections, parent=lambda s: s.parent_id if s.parent_id in nodes else None)
    for s in sections:
        nodes[s.id].children = [nodes[c.id] for c in children.get(s.id, [])]
    roots = [nodes[s.id] for s in children.get(None, [])]
    placed = ListingOrder(sql_listings(topic, only) if listings is None else listings)
    # Sections as models carry their prose; the index's rows say which have some.
    prose_of = {s.id: s.prose for s in sections if getattr(s, "prose", "")}
    if any(getattr(s, "has_prose", False) for s in sections):
        prose_of = dict(Section.objects.filter(topic=topic).exclude(prose="").values_list("id", "prose"))
    for section_id, prose in prose_of.items():
        if section_id in nodes:
            nodes[section_id].prose = prose

    def finish(node_list, depth):
        total = 0
        for node in node_list:
            node.depth = depth
            node.count = placed.count(node.section.id)
            node.total = node.count + finish(node.children, depth + 1)
            total += node.total
        return total

    listed = finish(roots, 1)
    if only is not None:
        roots = prune(roots)
    outline = Outline(roots=roots, shown=roots, listings=listed)
    chosen = next((n for n in nodes.values() if n.section.slug == expand and n.count), None)
    if chosen is not None:
        outline.page = Paginator(range(chosen.count), PAGE_LISTINGS).get_page(page)
        shown = outline.page.object_list  # a range of the section's listings
        alone = SectionNode(chosen.section, 1, placed.keys(chosen.section.id, shown.start, shown.stop))
        alone.total = chosen.count
        alone.prose = chosen.prose
        outline.shown, outline.expanded = [alone], alone
        if link:
            outline.back_url = link(expand=None, page=None)
            for node in nodes.values():
                node.url = f"{outline.back_url}#{node.section.slug}"
            if outline.page.has_previous():
                outline.previous_url = link(expand=expand, page=outline.page.previous_page_number())
            if outline.page.has_next():
                outline.next_url = link(expand=expand, page=outline.page.next_page_number())
    else:
        # Collapsed: every section shows its first few, within the page's budget.
        budget = PAGE_LISTINGS // max(1, len(placed.runs)) if listed > PAGE_LISTINGS else None
        for node in nodes.values():
            count = placed.count(node.section.id)
            keep = count if budget is None else max(PREVIEW_LISTINGS, budget)
            node.entries, node.hidden = placed.keys(node.section.id, 0, keep), max(0, count - keep)
            if node.hidden and link:
                node.more_url = link(expand=node.section.slug, page=None) + f"#{node.section.slug}"
        outline.collapsed = budget is not None
    outline.toc, outline.body = flat(outline.roots), flat(outline.shown)
    found = listing_rows([pk for node in outline.body for pk, _ in node.entries])
    for node in outline.body:
        node.entries = nest_listings({key: found[key[0]] for key in node.entries if key[0] in found})
    return outline


def sql_listings(topic, only=None):
    """`FacetIndex.topic_listings()` from SQL (when there is no index): one query, of numbers only."""
    shown = listed_entries("entry") if only is None else visible_entries("entry")
    rows = Placement.objects.filter(shown, section__topic=topic).values_list(
        "section_id", "id", "parent_id", "entry__year", "position", "entry_id"
    )
    rows = [row for row in rows if only is None or row[5] in only]
    section, pk, parent, year, position, _ = zip(*rows, strict=True) if rows else [()] * 6
    return TopicListings(
        np.array(section, dtype=np.int64),
        np.array(pk, dtype=np.int64),
        np.array([-1 if p is None else p for p in parent], dtype=np.int64),
        np.array([y or 0 for y in year], dtype=np.int64),
        np.array(position, dtype=np.int64),
    )


class ListingOrder:
    """A topic page's listings in page order (that of `Placement.objects.for_topic()`): by
    section, newest year first (none last), then position and id, and a listing nested under
    another of its section right after it, depth first. Each section's listings are a run
    of (placement id, parent placement id) arrays: a topic of 14,000 listings shows 500, and
    only those become Python objects."""

    def __init__(self, listings):
        year = listings.year.astype(np.int64)
        order = np.lexsort((listings.pk, listings.position, -year, listings.section))
        section = listings.section[order]
        self.pk, self.parent = listings.pk[order].astype(np.int64), listings.parent[order].astype(np.int64)
        ids, starts, counts = np.unique(section, return_index=True, return_counts=True)
        self.runs = {s: (a, a + n) for s, a, n in zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True)}
        for section_id in set(section[self.parent >= 0].tolist()):  # sections where a listing has a parent
            start, end = self.runs[section_id]
            items = listing_order(list(zip(self.pk[start:end].tolist(), self.parent[start:end].tolist(), strict=True)))
            self.pk[start:end], self.parent[start:end] = zip(*items, strict=True)

    def count(self, section_id):
        start, end = self.runs.get(section_id, (0, 0))
        return end - start

    def keys(self, section_id, start, stop):
        """(placement id, parent placement id) of the section's listings `start` to `stop` in order."""
        first, end = self.runs.get(section_id, (0, 0))
        at = slice(first + start, min(first + stop, end))
        return list(zip(self.pk[at].tolist(), self.parent[at].tolist(), strict=True))


def listing_order(items):
    """A section's listings `items` ((placement id, parent placement id) in the page's
    order), each followed by those nested under it."""
    present = {pk for pk, _ in items}
    if not any(parent in present for _, parent in items):
        return items  # nothing nested: the given order
    children = tree.children_of(items, parent=lambda item: item[1] if item[1] in present else None)
    order = [item for _, item in tree.depth_first(children, key=lambda item: item[0])]
    if len(order) < len(items):  # a cycle of nesting (which validation forbids): list them all the same
        reached = {pk for pk, _ in order}
        order += [item for item in items if item[0] not in reached]
    return order


def nest_listings(listings):
    """The top listings, each with the shown listings nested under it as `children`
    (`listings`: {(placement id, parent placement id): listing_rows()'s row} in order)."""
    by_pk = {pk: listing for (pk, _), listing in listings.items()}
    top = []
    for (_, parent_pk), listing in listings.items():
        parent = by_pk.get(parent_pk)
        (parent["children"] if parent is not None else top).append(listing)
    return top


def flat(nodes):
    """The tree under `nodes` in page order, each leaf's `ends` set to the enclosing
    nodes it is the last of, so that a template draws the nested tree in one loop
    (a template that includes itself per node costs more than the node's own HTML)."""
    order = []

    def walk(node_list):
        for node in node_list:
            node.ends = 0
            order.append(node)
            if node.children:
                walk(node.children)
                order[-1].ends += 1  # the last leaf under `node` closes it
        return order

    for node in walk(nodes):
        node.ends = range(node.ends)
    return order


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


def related_topics(topic, *, shared=None, limit=SHARED_TOPICS):
    """The topics to explore from `topic`: its curated relations, or else the topics of its
    edition that share the most published entries with it. Returns (topics, curated), in
    one query. `shared` is {topic id: published entries shared with `topic`} when the facet
    index has counted them (`FacetIndex.shared_entries`); otherwise the query counts them."""
    curated = Topic.related.through.objects.filter(from_topic_id=topic.pk, to_topic_id=OuterRef("pk"))
    if shared is None:
        entry_ids = Placement.objects.filter(visible_entries("entry"), section__topic_id=topic.pk).values("entry_id")
        counted = Q(sections__placements__entry_id__in=entry_ids)
        rows = list(
            Topic.objects.annotate(curated=Exists(curated))
            .filter(Q(curated=True) | Q(counted, edition_id=topic.edition_id))
            .exclude(pk=topic.pk)
            .annotate(shared=Count("sections__placements__entry", distinct=True, filter=counted))
            .order_by("-curated", "-shared", "title")[: MAX_CURATED + limit]
        )
    else:
        rows = list(
            Topic.objects.annotate(curated=Exists(curated))
            .filter(Q(curated=True) | Q(edition_id=topic.edition_id, pk__in=list(shared)))
            .exclude(pk=topic.pk)
            .order_by()  # sorted below: the default order joins the edition and dimension to sort
        )
        for row in rows:
            row.shared = shared.get(row.pk, 0)
        rows = sorted(rows, key=lambda t: (not t.curated, -t.shared, t.title))[: MAX_CURATED + limit]
    if rows and rows[0].curated:
        return [t for t in rows if t.curated], True
    return rows[:limit], False


def newest_entries(limit=8):
    """The entries added last (not the newest publication years); undated ones never first."""
    return (
        Entry.objects.listed().with_card_data().order_by("-created_at", F("year").desc(nulls_last=True), "-id")[:limit]
    )


def recently_added(topic=None):
    """Entries by when they were added to the catalog, newest first; on `topic` (any
    edition of its slug) when given. Undated entries never sort first."""
    entries = Entry.objects.listed().with_card_data()
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
    """Prefetch a dimension's topics, each annotated with the number of entries its page lists."""
    return Prefetch(
        "topics",
        queryset=Topic.objects.with_entry_counts(listed=True).select_related("edition").order_by("position", "title"),
    )
