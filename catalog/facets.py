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
from urllib.parse import urlsplit

import numpy as np

from .models import CatalogState, Dimension, Edition, Entry, Label, LabelGroup, Placement, Section, TaggedEntry, Topic

STAR_BUCKETS = (10, 100, 1000, 10000)
SORTS = ("relevance", "newest", "stars", "rating", "title", "added")


def current_version():
    """The catalog's data version: one cheap query."""
    return CatalogState.objects.values_list("version", flat=True).first() or "empty"


def host_of(url):
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


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


class Pairs:
    """A many-to-many facet: unique (entry index, value code) pairs."""

    def __init__(self, entry_idx, codes, values):
        if len(entry_idx):
            combined = np.unique(np.asarray(entry_idx, dtype=np.int64) * (len(values.keys) + 1) + codes)
            self.entry = combined // (len(values.keys) + 1)
            self.code = combined % (len(values.keys) + 1)
        else:
            self.entry = np.zeros(0, dtype=np.int64)
            self.code = np.zeros(0, dtype=np.int64)
        self.values = values

    def mask(self, keys, size):
        selected = np.zeros(size, dtype=bool)
        selected[self.entry[np.isin(self.code, self.values.codes(keys))]] = True
        return selected

    def counts(self, base):
        return np.bincount(self.code[base[self.entry]], minlength=len(self.values.keys))


class Codes:
    """A single-valued facet: one value code per entry, -1 for none."""

    def __init__(self, codes, values):
        self.code = np.asarray(codes, dtype=np.int64)
        self.values = values

    def mask(self, keys, size):
        return np.isin(self.code, self.values.codes(keys))

    def counts(self, base):
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


class FacetIndex:
    """Entry attributes as arrays, built from the database in one pass."""

    def __init__(self, version):
        self.version = version
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
        self.groups = list(LabelGroup.objects.values_list("slug", "name"))
        labels = list(
            Label.objects.order_by("group__position", "position", "name").values_list(
                "id", "slug", "name", "group__slug"
            )
        )
        rows = list(
            Entry.objects.order_by("id").values_list(
                "id", "year", "github_stars", "rating", "featured", "language", "url", "title", "created_at"
            )
        )
        placements = list(Placement.objects.values_list("entry_id", "section_id"))
        tagged = list(TaggedEntry.objects.values_list("content_object_id", "tag_id"))

        self.size = len(rows)
        self.ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.year = np.array([r[1] or 0 for r in rows], dtype=np.int32)
        self.stars = np.array([-1 if r[2] is None else r[2] for r in rows], dtype=np.int64)
        self.rating = np.array([r[3] or 0 for r in rows], dtype=np.int8)
        self.featured = np.array([r[4] for r in rows], dtype=bool)

        languages = _values_by_frequency((r[5] for r in rows), str.lower)
        self.language = Codes([languages.position.get((r[5] or "").lower(), -1) for r in rows], languages)
        hosts = [host_of(r[6]) for r in rows]
        sites = Values(sorted(set(filter(None, hosts))), sorted(set(filter(None, hosts))))
        self.site = Codes([sites.position.get(h, -1) for h in hosts], sites)

        # Sections: each placement counts for its section and every ancestor.
        topic_by_id = {t[0]: t for t in topics}
        section_by_id = {s[0]: s for s in sections}
        section_keys, section_labels = [], []
        section_code = {}
        for sid in self._page_order(topics, sections):
            key = f"{topic_by_id[section_by_id[sid][3]][1]}/{section_by_id[sid][1]}"
            if key not in section_code:
                section_code[key] = len(section_keys)
                section_keys.append(key)
                section_labels.append(" › ".join(self._path_titles(sid, section_by_id)))
        sections_values = Values(section_keys, section_labels)
        ancestors = {}
        for sid in section_by_id:
            chain, current = [], sid
            while current is not None and current not in chain:
                chain.append(current)
                current = section_by_id[current][4]
            ancestors[sid] = [
                section_code[f"{topic_by_id[section_by_id[c][3]][1]}/{section_by_id[c][1]}"] for c in chain
            ]

        entry_pos = {entry_id: i for i, entry_id in enumerate(self.ids.tolist())}
        p_entry = np.array([entry_pos[e] for e, _ in placements], dtype=np.int64)
        p_topic = [section_by_id[s][3] for _, s in placements]

        def keyed(items, key_index, label_index):
            keys, labels, seen = [], [], set()
            for item in items:
                if item[key_index] not in seen:
                    seen.add(item[key_index])
                    keys.append(item[key_index])
                    labels.append(item[label_index])
            return Values(keys, labels)

        edition_values = keyed(editions, 1, 2)
        dimension_values = keyed(dimensions, 1, 2)
        topic_values = keyed(topics, 1, 2)
        edition_slug = {e[0]: e[1] for e in editions}
        dimension_slug = {d[0]: d[1] for d in dimensions}
        self.edition = Pairs(
            p_entry, [edition_values.position[edition_slug[topic_by_id[t][3]]] for t in p_topic], edition_values
        )
        self.dimension = Pairs(
            p_entry, [dimension_values.position[dimension_slug[topic_by_id[t][4]]] for t in p_topic], dimension_values
        )
        self.topic = Pairs(p_entry, [topic_values.position[topic_by_id[t][1]] for t in p_topic], topic_values)
        topic_ids = Values([t[0] for t in topics], [t[2] for t in topics])
        self.topic_id = Pairs(p_entry, [topic_ids.position[t] for t in p_topic], topic_ids)
        s_entry, s_code = [], []
        for (_, sid), e in zip(placements, p_entry.tolist(), strict=True):
            for code in ancestors[sid]:
                s_entry.append(e)
                s_code.append(code)
        self.section = Pairs(s_entry, s_code, sections_values)

        label_values = Values([lb[1] for lb in labels], [lb[2] for lb in labels])
        self.label_group = [lb[3] for lb in labels]
        label_pos = {lb[0]: i for i, lb in enumerate(labels)}
        self.label = Pairs([entry_pos[e] for e, _ in tagged], [label_pos[t] for _, t in tagged], label_values)

        # Result orders, computed once: each is a permutation of entry indexes.
        idx = np.arange(self.size)
        title_rank = np.empty(self.size, dtype=np.int64)
        title_rank[sorted(range(self.size), key=lambda i: (rows[i][7].casefold(), rows[i][0]))] = idx
        created = np.array([r[8].timestamp() for r in rows], dtype=np.float64)
        self.orders = {
            "newest": np.lexsort((title_rank, -self.year)),
            "stars": np.lexsort((-self.year, -self.stars)),
            "rating": np.lexsort((title_rank, -self.year, -self.rating.astype(np.int32))),
            "title": np.argsort(title_rank, kind="stable"),
            "added": np.lexsort((-self.ids, -created)),
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
        pos = np.searchsorted(self.ids, ids)
        pos = np.clip(pos, 0, max(self.size - 1, 0))
        return pos[(self.size > 0) & (self.ids[pos] == ids)] if self.size else pos[:0]


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
        return facet.mask(value, index.size)

    def base_without(self, *names):
        """Entries matching everything but the named facets."""
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
        selected = criteria.get(name)
        if name == "year":
            counts = np.bincount(index.year[base & (index.year > 0)], minlength=1)
            years = [int(y) for y in np.nonzero(counts)[0][::-1]]
            keys, labels, numbers = years, [str(y) for y in years], [int(counts[y]) for y in years]
            low, high = selected or (None, None)
            chosen = set()
            if low is not None and low == high:
                chosen = {low}
            elif selected:
                # A range, e.g. from the form or `year:2021..2023`: shown as one selected value.
                key = f"{low or ''}..{high or ''}"
                keys, labels = [key, *keys], [f"{low or '…'}–{high or '…'}", *labels]
                numbers = [int((base & self.own[name]).sum()), *numbers]
                chosen = {key}
            return Facet(name, label, "year", keys, labels, numbers, chosen)
        if name == "stars":
            stars = index.stars[base]
            thresholds = sorted({*STAR_BUCKETS, *([selected] if selected is not None else [])})
            counts = [int((stars >= t).sum()) for t in thresholds]
            return Facet(name, label, "stars", thresholds, [f"{t:,}+" for t in thresholds], counts, {selected})
        if name == "rating":
            counts = np.bincount(index.rating[base], minlength=6)
            at_least = [int(counts[n:].sum()) for n in range(5, 0, -1)]
            keys = list(range(5, 0, -1))
            labels = ["★" * n + " & up" if n < 5 else "★★★★★" for n in keys]
            return Facet(name, label, "rating", keys, labels, at_least, {selected})
        if name == "featured":
            return Facet(
                name,
                label,
                "featured",
                ["1"],
                ["Featured 🌟"],
                [int(index.featured[base].sum())],
                {"1"} if selected else set(),
            )
        if name in dict(index.groups):
            facet = index.label
            wanted = [i for i, group in enumerate(index.label_group) if group == name]
        else:
            facet = getattr(index, name)
            wanted = range(len(facet.values.keys))
        counts = facet.counts(base)
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
