"""Facet counts and result order, computed in Python from an in-memory index.

SQL GROUP BY over 200,000 entries costs hundreds of milliseconds a facet on
this machine; the same counts from numpy arrays of entry attributes and
(entry, value) pairs cost well under a millisecond each. The index is built
once per catalog data version (CatalogState.version, changed by database
triggers on every write) and shared by the requests of one process.

Semantics (ENGINEERING.md §2): values of one facet combine with OR, facets
combine with AND, and each facet's counts apply every active filter but its
own.
"""

import threading
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from .models import (
    CatalogState,
    Dimension,
    Edition,
    Entry,
    Label,
    LabelGroup,
    Placement,
    Section,
    TaggedEntry,
    Topic,
    url_host,
)

STAR_BUCKETS = (10, 100, 1000, 10000)
# Facets with at most this many values count from packed bit masks (one AND and
# popcount a value); larger ones from a bincount of their (entry, value) pairs.
PACKED_LIMIT = 64


def current_version():
    """The catalog's data version: one cheap query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {CatalogState._meta.db_table} WHERE id = 1")  # noqa: S608 - model table
        row = cursor.fetchone()
    return row[0] if row else "empty"


@dataclass
class Values:
    """The values of one facet: stable keys (URL values) and display labels."""

    keys: list
    labels: list
    position: dict = field(init=False)

    def __post_init__(self):
        self.position = {key: i for i, key in enumerate(self.keys)}

    def codes(self, keys):
        return [self.position[k] for k in keys if k in self.position]


def packed_masks(masks, size):
    """Boolean masks over `size` entries, one row each, as packed bits (n/8 bytes a row)."""
    return np.packbits(np.asarray(masks, dtype=bool).reshape(len(masks), size), axis=1)


def popcounts(packed, packed_base):
    """How many entries of `packed_base` each packed mask row holds."""
    if not len(packed):
        return np.zeros(0, dtype=np.int64)
    return np.bitwise_count(packed & packed_base).sum(axis=1, dtype=np.int64)


class Pairs:
    """A many-to-many facet: unique (entry index, value code) pairs."""

    def __init__(self, entry_idx, codes, values, size):
        width = len(values.keys) + 1
        entry_idx = np.asarray(entry_idx, dtype=np.int64)
        combined = np.unique(entry_idx * width + np.asarray(codes, dtype=np.int64)) if len(entry_idx) else entry_idx
        self.entry, self.code = combined // width, combined % width
        self.values, self.size = values, size
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            self.packed = packed_masks([self.mask_of_codes([c]) for c in range(len(values.keys))], size)

    def mask_of_codes(self, codes):
        selected = np.zeros(self.size, dtype=bool)
        selected[self.entry[np.isin(self.code, codes)]] = True
        return selected

    def mask(self, keys):
        return self.mask_of_codes(self.values.codes(keys))

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        return np.bincount(self.code[base[self.entry]], minlength=len(self.values.keys))


class Codes:
    """A single-valued facet: one value code per entry, -1 for none."""

    def __init__(self, codes, values):
        self.code = np.asarray(codes, dtype=np.int64)
        self.values = values
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            self.packed = packed_masks([self.code == c for c in range(len(values.keys))], len(self.code))

    def mask(self, keys):
        return np.isin(self.code, self.values.codes(keys))

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        codes = self.code[base]
        return np.bincount(codes[codes >= 0], minlength=len(self.values.keys))


def _values_by_frequency(raw_values, key_of):
    """Keys for raw values (e.g. languages) with the most frequent spelling as label."""
    spellings = {}
    for value in raw_values:
        if value:
            forms = spellings.setdefault(key_of(value), {})
            forms[value] = forms.get(value, 0) + 1
    keys = sorted(spellings)
    return Values(keys, [max(spellings[k].items(), key=lambda kv: (kv[1], kv[0]))[0] for k in keys])


def _first_of_each(items, key_index, label_index):
    """Values keyed by one column, labelled by another, in first-seen order."""
    keys, labels, seen = [], [], set()
    for item in items:
        if item[key_index] not in seen:
            seen.add(item[key_index])
            keys.append(item[key_index])
            labels.append(item[label_index])
    return Values(keys, labels)


def _fetch(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


class FacetIndex:
    """Entry attributes as arrays, built from the database in one pass.

    Entries are numbered 0..size-1 in id order; masks are boolean arrays over
    those numbers.
    """

    def __init__(self, version):
        self.version = version
        self._group_keys = {}
        editions = list(Edition.objects.order_by("position", "id").values_list("id", "slug", "name"))
        dimensions = list(
            Dimension.objects.order_by("edition__position", "position", "id").values_list("id", "slug", "name")
        )
        topics = list(
            Topic.objects.order_by("edition__position", "position", "title").values_list(
                "id", "slug", "title", "edition_id", "dimension_id"
            )
        )
        sections = list(
            Section.objects.order_by("position", "id").values_list("id", "slug", "title", "topic_id", "parent_id")
        )
        # Labels of internal groups are for curators only: no facet, no filter.
        self.groups = list(LabelGroup.objects.filter(internal=False).values_list("slug", "name"))
        labels = list(
            Label.objects.exclude(group__internal=True)
            .order_by("group__position", "position", "name")
            .values_list("id", "slug", "name", "group__slug")
        )
        # The large tables through a plain cursor: the ORM's row objects cost more than the query.
        # (Table names come from the models, never from input.)
        entry, placement, tagged_entry = Entry._meta.db_table, Placement._meta.db_table, TaggedEntry._meta.db_table
        rows = _fetch(f"SELECT id, year, github_stars, rating, featured, language, url FROM {entry} ORDER BY id")  # noqa: S608
        by_title = _fetch(f"SELECT id FROM {entry} ORDER BY lower(title), id")  # noqa: S608
        by_added = _fetch(f"SELECT id FROM {entry} ORDER BY created_at DESC, id DESC")  # noqa: S608
        placements = np.array(_fetch(f"SELECT entry_id, section_id FROM {placement}"), dtype=np.int64)  # noqa: S608
        tagged = np.array(_fetch(f"SELECT content_object_id, tag_id FROM {tagged_entry}"), dtype=np.int64)  # noqa: S608
        placements, tagged = placements.reshape(-1, 2), tagged.reshape(-1, 2)

        size = self.size = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 7
        self.ids = np.array(columns[0], dtype=np.int64)
        self.year = np.array([y or 0 for y in columns[1]], dtype=np.int32)
        self.stars = np.array([-1 if s is None else s for s in columns[2]], dtype=np.int64)
        self.rating = np.array([r or 0 for r in columns[3]], dtype=np.int8)
        self.featured = np.array(columns[4], dtype=bool)

        languages = _values_by_frequency(columns[5], str.lower)
        self.language = Codes([languages.position.get((lang or "").lower(), -1) for lang in columns[5]], languages)
        hosts = [url_host(url) for url in columns[6]]
        site_keys = sorted(set(filter(None, hosts)))
        sites = Values(site_keys, site_keys)
        self.site = Codes([sites.position.get(h, -1) for h in hosts], sites)
        years = sorted({int(y) for y in self.year if y}, reverse=True)
        year_values = Values(years, [str(y) for y in years])
        self.years = Codes([year_values.position.get(int(y), -1) for y in self.year], year_values)
        ratings = Values([1, 2, 3, 4, 5], ["1", "2", "3", "4", "5"])
        self.ratings = Codes(self.rating.astype(np.int64) - 1, ratings)
        self.star_buckets = packed_masks([self.stars >= t for t in STAR_BUCKETS], size)
        self.featured_packed = packed_masks([self.featured], size)

        # Sections: each placement counts for its section and every ancestor.
        topic_by_id = {t[0]: t for t in topics}
        section_by_id = {s[0]: s for s in sections}

        def section_key(sid):
            return f"{topic_by_id[section_by_id[sid][3]][1]}/{section_by_id[sid][1]}"

        section_values = _first_of_each(
            [
                (section_key(sid), " › ".join(self._path_titles(sid, section_by_id)))
                for sid in self._page_order(topics, sections)
            ],
            0,
            1,
        )
        # Per section (by its row number), the codes of itself and its ancestors.
        section_ids = np.array(sorted(section_by_id), dtype=np.int64)
        chains = []
        for sid in section_ids.tolist():
            chain, current = [], sid
            while current is not None and current not in chain:
                chain.append(current)
                current = section_by_id[current][4]
            chains.append([section_values.position[section_key(c)] for c in chain])

        p_entry = np.searchsorted(self.ids, placements[:, 0]) if size else np.zeros(0, dtype=np.int64)
        p_section = np.searchsorted(section_ids, placements[:, 1]) if len(section_ids) else np.zeros(0, dtype=np.int64)
        section_topic = np.array([section_by_id[sid][3] for sid in section_ids.tolist()], dtype=np.int64)
        p_topic = section_topic[p_section] if len(p_section) else np.zeros(0, dtype=np.int64)

        edition_values = _first_of_each(editions, 1, 2)
        dimension_values = _first_of_each(dimensions, 1, 2)
        topic_values = _first_of_each(topics, 1, 2)
        topic_ids = Values([t[0] for t in topics], [t[2] for t in topics])
        edition_slug = {e[0]: e[1] for e in editions}
        dimension_slug = {d[0]: d[1] for d in dimensions}

        # Each placement's topic, as a row of the topics sorted by id.
        topics_by_id = sorted(topics)
        p_topic_row = np.searchsorted(np.array([t[0] for t in topics_by_id], dtype=np.int64), p_topic)

        def per_topic(code_of):
            return np.array([code_of(t) for t in topics_by_id] or [0], dtype=np.int64)[p_topic_row]

        self.edition = Pairs(
            p_entry, per_topic(lambda t: edition_values.position[edition_slug[t[3]]]), edition_values, size
        )
        self.dimension = Pairs(
            p_entry, per_topic(lambda t: dimension_values.position[dimension_slug[t[4]]]), dimension_values, size
        )
        self.topic = Pairs(p_entry, per_topic(lambda t: topic_values.position[t[1]]), topic_values, size)
        self.topic_id = Pairs(p_entry, per_topic(lambda t: topic_ids.position[t[0]]), topic_ids, size)

        depth = max((len(c) for c in chains), default=0)
        table = np.full((len(chains), max(depth, 1)), -1, dtype=np.int64)
        for row, chain in enumerate(chains):
            table[row, : len(chain)] = chain
        s_codes = table[p_section] if len(p_section) else np.zeros((0, 1), dtype=np.int64)
        s_entry = np.repeat(p_entry, s_codes.shape[1])
        s_codes = s_codes.reshape(-1)
        self.section = Pairs(s_entry[s_codes >= 0], s_codes[s_codes >= 0], section_values, size)

        label_values = Values([lb[1] for lb in labels], [lb[2] for lb in labels])
        self.label_group = [lb[3] for lb in labels]
        label_ids = np.array([lb[0] for lb in labels], dtype=np.int64)
        label_order = np.argsort(label_ids)
        tagged = tagged[np.isin(tagged[:, 1], label_ids)]
        t_label = label_order[np.searchsorted(label_ids[label_order], tagged[:, 1])] if len(tagged) else tagged[:, 1]
        self.label = Pairs(
            np.searchsorted(self.ids, tagged[:, 0]) if size else tagged[:, 0], t_label, label_values, size
        )

        # Result orders, computed once: each is a permutation of entry indexes.
        title_rank = np.empty(size, dtype=np.int64)
        title_rank[self.positions([r[0] for r in by_title])] = np.arange(size)
        self.orders = {
            "newest": np.lexsort((title_rank, -self.year)),
            "stars": np.lexsort((-self.year, -self.stars)),
            "rating": np.lexsort((title_rank, -self.year, -self.rating.astype(np.int32))),
            "title": np.argsort(title_rank, kind="stable"),
            "added": self.positions([r[0] for r in by_added]),
        }

    @staticmethod
    def _page_order(topics, sections):
        """Section ids topic by topic, each topic's tree depth first as the page shows it."""
        children = {}
        for sid, _slug, _title, topic_id, parent in sections:
            children.setdefault((topic_id, parent), []).append(sid)
        order = []
        for topic in topics:
            stack = list(reversed(children.get((topic[0], None), [])))
            while stack:
                sid = stack.pop()
                order.append(sid)
                stack.extend(reversed(children.get((topic[0], sid), [])))
        placed = set(order)
        return order + [s[0] for s in sections if s[0] not in placed]  # a parent on another page

    @staticmethod
    def _path_titles(section_id, section_by_id):
        path, current = [], section_id
        while current is not None and current not in path:
            path.append(current)
            current = section_by_id[current][4]
        return [section_by_id[s][2] for s in reversed(path)]

    def positions(self, entry_ids):
        """Entry indexes for ids, in the given order, leaving out unknown ids."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        if not self.size:
            return ids[:0]
        pos = np.clip(np.searchsorted(self.ids, ids), 0, self.size - 1)
        return pos[self.ids[pos] == ids]

    def group_keys(self, group):
        """The label keys of one group, as a mapping (for validation)."""
        return {
            key: i
            for i, (key, g) in enumerate(zip(self.label.values.keys, self.label_group, strict=True))
            if g == group
        }


_lock = threading.Lock()
_index = None


def get_index(version=None):
    """This process's index for the current data version, rebuilt when it changed."""
    global _index
    version = version or current_version()
    index = _index
    if index is not None and index.version == version:
        return index
    with _lock:
        if _index is not None and _index.version == version:
            return _index
        built = FacetIndex(version)
        # A write during the build would leave data newer than the version:
        # keep the index for this request only and build again next time.
        if current_version() == version:
            _index = built
        return built


@dataclass
class Facet:
    """One facet's counts: keys, labels and counts aligned, and what is selected."""

    name: str
    label: str
    kind: str  # "values", "year", "stars", "rating", "featured"
    keys: list
    labels: list
    counts: list
    selected: set


class Selection:
    """The entries that a set of criteria selects, and every facet's counts.

    `criteria` maps a facet name to its selected keys ("edition", "topic",
    a label group's slug, "language", ...) or value ("year" as a (min, max)
    pair, "stars", "rating", "featured"); `always` masks apply to every count
    (topic page scope, text query, excluded labels).
    """

    def __init__(self, index, criteria, *, always=()):
        self.index = index
        size = index.size
        self.always = np.ones(size, dtype=bool)
        for mask in always:
            self.always &= mask
        self.own = {}
        for name, value in criteria.items():
            self.own[name] = self._mask(name, value)
        self.matches = self.always.copy()
        for mask in self.own.values():
            self.matches &= mask
        self.count = int(self.matches.sum())

    def _mask(self, name, value):
        index = self.index
        if name == "year":
            low, high = value
            mask = index.year > 0
            if low is not None:
                mask &= index.year >= low
            if high is not None:
                mask &= index.year <= high
            return mask
        if name == "stars":
            return index.stars >= value
        if name == "rating":
            return index.rating >= value
        if name == "featured":
            return index.featured.copy()
        facet = index.label if name in dict(index.groups) or name == "label" else getattr(index, name)
        return facet.mask(value)

    def base_without(self, *names):
        """Entries matching everything but the named facets."""
        if not any(name in self.own for name in names):
            return self.matches
        base = self.always.copy()
        for name, mask in self.own.items():
            if name not in names:
                base &= mask
        return base

    def count_without(self, name, keep=None):
        """How many results if facet `name` kept only `keep` (None: dropped)."""
        base = self.base_without(name)
        if keep:
            base &= self._mask(name, keep)
        return int(base.sum())

    def facet(self, name, label, criteria):
        """Counts for one facet, under every active filter but its own."""
        index, base = self.index, self.base_without(name)
        packed_base = np.packbits(base)
        selected = criteria.get(name)
        if name == "year":
            per_year = index.years.counts(base, packed_base)
            keys = [y for y, n in zip(index.years.values.keys, per_year, strict=True) if n]
            labels, numbers = [str(y) for y in keys], [int(n) for n in per_year if n]
            low, high = selected or (None, None)
            chosen = set()
            if low is not None and low == high:
                chosen = {low}
            elif selected:
                # A range, e.g. from the form or `year:2021..2023`: shown as one selected value.
                key = f"{low or ''}..{high or ''}"
                keys, labels = [key, *keys], [f"{low or '…'}–{high or '…'}", *labels]
                numbers = [int(np.count_nonzero(base & self.own[name])), *numbers]
                chosen = {key}
            return Facet(name, label, "year", keys, labels, numbers, chosen)
        if name == "stars":
            thresholds = list(STAR_BUCKETS)
            counts = [int(n) for n in popcounts(index.star_buckets, packed_base)]
            if selected is not None and selected not in thresholds:
                position = sorted([*thresholds, selected]).index(selected)
                thresholds.insert(position, selected)
                counts.insert(position, int(np.count_nonzero(base & (index.stars >= selected))))
            return Facet(name, label, "stars", thresholds, [f"{t:,}+" for t in thresholds], counts, {selected})
        if name == "rating":
            at_least = np.cumsum(index.ratings.counts(base, packed_base)[::-1])  # 5, 4 and up, ...
            keys = [5, 4, 3, 2, 1]
            labels = ["★" * n + " & up" if n < 5 else "★★★★★" for n in keys]
            return Facet(name, label, "rating", keys, labels, [int(n) for n in at_least], {selected})
        if name == "featured":
            count = int(popcounts(index.featured_packed, packed_base)[0])
            return Facet(name, label, "featured", ["1"], ["Featured 🌟"], [count], {"1"} if selected else set())
        if name in dict(index.groups):
            facet = index.label
            wanted = [i for i, group in enumerate(index.label_group) if group == name]
        else:
            facet = getattr(index, name)
            wanted = range(len(facet.values.keys))
        counts = facet.counts(base, packed_base)
        values = facet.values
        return Facet(
            name,
            label,
            "values",
            [values.keys[i] for i in wanted],
            [values.labels[i] for i in wanted],
            [int(counts[i]) for i in wanted],
            set(selected or ()),
        )

    def order(self, sort, ranked_ids=None):
        """Indexes of the matching entries, in result order."""
        if sort == "relevance" and ranked_ids is not None:
            positions = self.index.positions(ranked_ids)
            return positions[self.matches[positions]]
        order = self.index.orders.get(sort, self.index.orders["newest"])
        return order[self.matches[order]]
