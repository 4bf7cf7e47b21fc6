"""The header search: topics, sections and entries for one query, grouped.

`site_search(text)` reads the query once (`search.parse_query`) and returns
what the results page and the suggestions list show. Topics match on their
title and their context; sections on their heading and their prose; entries
through the full-text index (`search.matching_ids`) and through the words a
page lists them with (a listing's own title, description, highlight and
note). A fixed number of queries: topics, sections and listings are narrowed
in SQL by the first clause, then tested exactly in Python with the same query.
"""

import functools
import operator
from dataclasses import dataclass, field

from django.db.models import Q

from . import search
from .browse import fetch_entries
from .models import Entry, Placement, Section, Topic

LIMIT = 20  # per group on the results page
SUGGESTIONS = 5  # per group in the suggestions list


@dataclass(frozen=True)
class Hit:
    """One topic, section or entry as the results page and the suggestions show it."""

    title: str
    title_html: str
    url: str
    where: str  # e.g. "V1 Historical Archive" or "Istio - Service Mesh (V2 Elite)"

    def as_json(self):
        return {"title": self.title, "url": self.url, "where": self.where}


@dataclass
class SiteResults:
    text: str
    terms: list = field(default_factory=list)
    topics: list = field(default_factory=list)
    topic_count: int = 0
    sections: list = field(default_factory=list)
    section_count: int = 0
    entries: list = field(default_factory=list)
    entry_count: int = 0

    @property
    def total(self):
        return self.topic_count + self.section_count + self.entry_count


def _narrowed(parsed, fields):
    """Rows that may match: any word of the first clause in any of `fields` (a superset)."""
    words = [w for term in parsed.clauses[0] for w in term.words[:1]]
    return functools.reduce(operator.or_, (Q(**{f"{name}__icontains": w}) for name in fields for w in words))


def site_search(text, *, limit=LIMIT):
    """Topics, sections and entries matching `text`, at most `limit` of each, with the counts."""
    parsed = search.parse_query(text)
    results = SiteResults(text=text or "", terms=parsed.terms)
    ids = search.matching_ids(text)
    if ids is None:
        return results
    if parsed:
        match = parsed.matcher()
        topic_rows = Topic.objects.filter(_narrowed(parsed, ["title", "context"])).values_list("id", "title", "context")
        topic_ids = [pk for pk, title, context in topic_rows if match(f"{title}\n{context}")]
        section_rows = Section.objects.filter(_narrowed(parsed, ["title", "prose"])).values_list("id", "title", "prose")
        section_ids = [pk for pk, title, prose in section_rows if match(f"{title}\n{prose}")]
        results.topic_count, results.section_count = len(topic_ids), len(section_ids)
        topics = (
            Topic.objects.filter(pk__in=topic_ids)
            .select_related("edition", "dimension")
            .order_by("edition__position", "title")[:limit]
        )
        results.topics = [
            hit(t.title, t.get_absolute_url(), f"{t.dimension.name} ({t.edition})", parsed) for t in topics
        ]
        sections = (
            Section.objects.filter(pk__in=section_ids)
            .select_related("topic__edition")
            .order_by("topic__edition__position", "topic__title", "position", "id")[:limit]
        )
        results.sections = [hit(s.title, s.get_absolute_url(), str(s.topic), parsed) for s in sections]
        ids = [*ids, *listing_matches(parsed, match, set(ids))]
    # Readers never see unpublished entries nor dead links here (few: one small query).
    hidden = set(Entry.objects.exclude(pk__in=Entry.objects.listed()).values_list("pk", flat=True))
    ids = [pk for pk in ids if pk not in hidden]
    results.entry_count = len(ids)
    results.entries = fetch_entries(ids[:limit])
    for entry in results.entries:
        entry.title_html = search.highlight(entry.title, results.terms)
        entry.description_html = search.highlight(entry.description, results.terms)
    return results


LISTING_WORDS = ("title", "description", "highlight", "note")


def listing_matches(parsed, match, found):
    """Ids of entries that a page lists in words matching the query, not in `found` already."""
    rows = Placement.objects.filter(_narrowed(parsed, LISTING_WORDS)).values_list("entry_id", *LISTING_WORDS)
    ids = {}
    for entry_id, *words in rows:
        if entry_id not in found and match("\n".join(word or "" for word in words)):
            ids[entry_id] = True
    return list(ids)


def hit(title, url, where, parsed):
    return Hit(title, search.highlight(title, parsed.terms), url, where)


def suggestions(text):
    """The suggestions list's JSON: a few of each group, and the counts."""
    results = site_search(text, limit=SUGGESTIONS)
    entries = [Hit(e.title, "", e.get_absolute_url(), e.host) for e in results.entries]
    return {
        "query": results.text,
        "topics": {"count": results.topic_count, "results": [h.as_json() for h in results.topics]},
        "sections": {"count": results.section_count, "results": [h.as_json() for h in results.sections]},
        "entries": {"count": results.entry_count, "results": [h.as_json() for h in entries]},
    }
