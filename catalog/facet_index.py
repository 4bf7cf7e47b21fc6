"""The facet index: the catalog's entries as numpy arrays, for counting.

SQL GROUP BY over 200,000 entries costs hundreds of milliseconds a facet on
this machine; the same counts from numpy arrays of entry attributes and
(entry, value) pairs cost well under a millisecond each. The index is built
once per catalog data version (CatalogState.version, changed by database
triggers on every write) and shared by the requests of one process.

It is read in one snapshot (`snapshot()`): all its queries see the same data,
and the version stored with it is the one of that data. `load_rows()` reads
named rows; `IndexBuilder` turns them into columns, one small method a part.
Each facet of the registry (`catalog/facets.py`) reads its column by name.
"""

import logging
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from django.db import connection, transaction

from . import tree
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

logger = logging.getLogger(__name__)

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


@contextmanager
def snapshot():
    """One read-only view of the database for every query inside.

    PostgreSQL: a REPEATABLE READ, READ ONLY transaction. SQLite (WAL): a
    deferred transaction, whose first read fixes the snapshot; `atomic()`
    would begin IMMEDIATE (settings) and wait for the writers' lock. Inside
    an outer transaction (tests, a view in ATOMIC_REQUESTS) that one is the
    snapshot already.
    """
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


# --- the index's parts --------------------------------------------------------------------


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
    """A many-to-many column: unique (entry index, value code) pairs."""

    def __init__(self, entry_idx, codes, values, size):
        width = len(values.keys) + 1
        entry_idx = np.asarray(entry_idx, dtype=np.int64)
        combined = np.unique(entry_idx * width + np.asarray(codes, dtype=np.int64)) if len(entry_idx) else entry_idx
        self.entry, self.code = combined // width, combined % width
        self.values, self.size = values, size
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            table = np.zeros((len(values.keys), size), dtype=bool)
            table[self.code, self.entry] = True
            self.packed = np.packbits(table, axis=1)

    def mask(self, keys):
        selected = np.zeros(self.size, dtype=bool)
        selected[self.entry[np.isin(self.code, self.values.codes(keys))]] = True
        return selected

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        return np.bincount(self.code[base[self.entry]], minlength=len(self.values.keys))


class Codes:
    """A single-valued column: one value code per entry, -1 for none."""

    def __init__(self, codes, values):
        self.code = np.asarray(codes, dtype=np.int64)
        self.values = values
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            table = np.zeros((len(values.keys), len(self.code)), dtype=bool)
            has = self.code >= 0
            table[self.code[has], np.flatnonzero(has)] = True
            self.packed = np.packbits(table, axis=1)

    def mask(self, keys):
        return np.isin(self.code, self.values.codes(keys))

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        codes = self.code[base]
        return np.bincount(codes[codes >= 0], minlength=len(self.values.keys))


# --- loading: named rows from one snapshot -------------------------------------------------


class EditionRow(NamedTuple):
    id: int
    slug: str
    name: str


class TopicRow(NamedTuple):
    id: int
    slug: str
    title: str
    edition_id: int
    dimension_id: int


class SectionRow(NamedTuple):
    id: int
    slug: str
    title: str
    topic_id: int
    parent_id: int | None


class LabelRow(NamedTuple):
    id: int
    slug: str
    name: str
    group: str


ENTRY_COLUMNS = "id, year, github_stars, rating, featured, language, url, lower(title), created_at"


@dataclass
class Rows:
    """What the index is built from, read in one snapshot."""

    version: str
    editions: list
    dimensions: list
    topics: list
    sections: list
    groups: list  # (slug, name)
    labels: list
    entries: list  # ENTRY_COLUMNS tuples, in id order
    placements: np.ndarray  # (entry id, section id)
    tagged: np.ndarray  # (entry id, label id)


def _fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _pairs(rows):
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def load_rows():
    """Every row the index needs, from one snapshot, with that snapshot's version."""
    entry, placement, tagged = Entry._meta.db_table, Placement._meta.db_table, TaggedEntry._meta.db_table
    with snapshot():
        version = current_version()
        return Rows(
            version=version,
            editions=[
                EditionRow(*r) for r in Edition.objects.order_by("position", "id").values_list("id", "slug", "name")
            ],
            dimensions=[
                EditionRow(*r)
                for r in Dimension.objects.order_by("edition__position", "position", "id").values_list(
                    "id", "slug", "name"
                )
            ],
            topics=[
                TopicRow(*r)
                for r in Topic.objects.order_by("edition__position", "position", "title").values_list(
                    "id", "slug", "title", "edition_id", "dimension_id"
                )
            ],
            sections=[
                SectionRow(*r)
                for r in Section.objects.order_by("position", "id").values_list(
                    "id", "slug", "title", "topic_id", "parent_id"
                )
            ],
            groups=list(LabelGroup.objects.order_by("position", "id").values_list("slug", "name")),
            labels=[
                LabelRow(*r)
                for r in Label.objects.order_by("group__position", "position", "name").values_list(
                    "id", "slug", "name", "group__slug"
                )
            ],
            # The large tables through a plain cursor: the ORM's row objects cost more than the query.
            # (Table names come from the models, never from input.)
            entries=_fetch(f"SELECT {ENTRY_COLUMNS} FROM {entry} ORDER BY id"),  # noqa: S608
            placements=_pairs(_fetch(f"SELECT entry_id, section_id FROM {placement}")),  # noqa: S608
            tagged=_pairs(_fetch(f"SELECT content_object_id, tag_id FROM {tagged}")),  # noqa: S608
        )


# --- building: one small builder per part ---------------------------------------------------


def _values_by_frequency(raw_values, key_of):
    """Keys for raw values (e.g. languages) with the most frequent spelling as label."""
    spellings = {}
    for value in raw_values:
        if value:
            forms = spellings.setdefault(key_of(value), {})
            forms[value] = forms.get(value, 0) + 1
    keys = sorted(spellings)
    return Values(keys, [max(spellings[k].items(), key=lambda kv: (kv[1], kv[0]))[0] for k in keys])


def _first_of_each(pairs):
    """Values from (key, label) pairs, in first-seen order."""
    keys, labels, seen = [], [], set()
    for key, label in pairs:
        if key not in seen:
            seen.add(key)
            keys.append(key)
            labels.append(label)
    return Values(keys, labels)


def page_order(topics, sections):
    """Section rows topic by topic, each topic's tree depth first as the page shows it."""
    children = tree.children_of(sections, parent=lambda s: (s.topic_id, s.parent_id))
    order = [
        section
        for topic in topics
        for _, section in tree.depth_first(children, (topic.id, None), key=lambda s: (s.topic_id, s.id))
    ]
    placed = {s.id for s in order}
    return order + [s for s in sections if s.id not in placed]  # a parent on another page


class IndexBuilder:
    """Turns `Rows` into the index's columns, one method a part."""

    def __init__(self, rows):
        self.rows = rows
        self.ids = np.array([r[0] for r in rows.entries], dtype=np.int64)
        self.size = len(self.ids)

    def positions(self, entry_ids):
        return np.searchsorted(self.ids, entry_ids) if self.size else np.zeros(0, dtype=np.int64)

    def entry_columns(self, index):
        entries = self.rows.entries
        index.year = np.array([r[1] or 0 for r in entries], dtype=np.int32)
        index.stars = np.array([-1 if r[2] is None else r[2] for r in entries], dtype=np.int64)
        index.rating = np.array([r[3] or 0 for r in entries], dtype=np.int8)
        index.featured = np.array([bool(r[4]) for r in entries], dtype=bool)
        languages = _values_by_frequency([r[5] for r in entries], str.lower)
        index.columns["language"] = Codes(
            [languages.position.get((r[5] or "").lower(), -1) for r in entries], languages
        )
        hosts = [url_host(r[6]) for r in entries]
        site_keys = sorted(set(filter(None, hosts)))
        sites = Values(site_keys, site_keys)
        index.columns["site"] = Codes([sites.position.get(h, -1) for h in hosts], sites)
        years = sorted({int(y) for y in np.unique(index.year) if y}, reverse=True)
        year_values = Values(years, [str(y) for y in years])
        lookup = np.full(max(years, default=0) + 1, -1, dtype=np.int64)
        lookup[years] = np.arange(len(years))
        index.columns["year"] = Codes(lookup[index.year], year_values)
        index.columns["rating"] = Codes(index.rating.astype(np.int64) - 1, Values([1, 2, 3, 4, 5], list("12345")))
        index.columns["stars"] = packed_masks([index.stars >= t for t in STAR_BUCKETS], self.size)
        index.columns["featured"] = packed_masks([index.featured], self.size)

    def placement_columns(self, index):
        """Edition, dimension, topic (by slug and by id) and section, from the placements."""
        rows, size = self.rows, self.size
        placements = rows.placements
        topic_by_id = {t.id: t for t in rows.topics}
        section_by_id = {s.id: s for s in rows.sections}
        parent_of = {s.id: s.parent_id for s in rows.sections}

        def section_key(sid):
            return f"{topic_by_id[section_by_id[sid].topic_id].slug}/{section_by_id[sid].slug}"

        section_values = _first_of_each(
            (section_key(s.id), " › ".join(section_by_id[a].title for a in tree.path_from_top(s.id, parent_of)))
            for s in page_order(rows.topics, rows.sections)
        )
        section_ids = np.array(sorted(section_by_id), dtype=np.int64)
        p_entry = self.positions(placements[:, 0])
        p_section = np.searchsorted(section_ids, placements[:, 1]) if len(section_ids) else p_entry[:0]

        # Each placement counts for its section and every ancestor.
        chains = [
            [section_values.position[section_key(a)] for a in tree.ancestors(sid, parent_of)]
            for sid in section_ids.tolist()
        ]
        table = np.full((len(chains), max((len(c) for c in chains), default=1)), -1, dtype=np.int64)
        for row, chain in enumerate(chains):
            table[row, : len(chain)] = chain
        s_codes = table[p_section] if len(p_section) else np.zeros((0, 1), dtype=np.int64)
        s_entry = np.repeat(p_entry, s_codes.shape[1])
        s_codes = s_codes.reshape(-1)
        index.columns["section"] = Pairs(s_entry[s_codes >= 0], s_codes[s_codes >= 0], section_values, size)

        # Per topic (a row of the topics sorted by id), the code of each placement-derived facet.
        topics = sorted(rows.topics)
        topic_ids = np.array([t.id for t in topics], dtype=np.int64)
        section_topic = np.array([section_by_id[sid].topic_id for sid in section_ids.tolist()], dtype=np.int64)
        p_topic = np.searchsorted(topic_ids, section_topic[p_section]) if len(p_section) else p_entry[:0]
        edition_slug = {e.id: e.slug for e in rows.editions}
        dimension_slug = {d.id: d.slug for d in rows.dimensions}
        by_topic = {
            "edition": (_first_of_each((e.slug, e.name) for e in rows.editions), lambda t: edition_slug[t.edition_id]),
            "dimension": (
                _first_of_each((d.slug, d.name) for d in rows.dimensions),
                lambda t: dimension_slug[t.dimension_id],
            ),
            "topic": (_first_of_each((t.slug, t.title) for t in rows.topics), lambda t: t.slug),
            "topic_id": (Values([t.id for t in rows.topics], [t.title for t in rows.topics]), lambda t: t.id),
        }
        for name, (values, key_of) in by_topic.items():
            codes = np.array([values.position[key_of(t)] for t in topics] or [0], dtype=np.int64)
            index.columns[name] = Pairs(p_entry, codes[p_topic] if len(p_topic) else p_topic, values, size)

    def label_columns(self, index):
        rows = self.rows
        index.groups = list(rows.groups)
        values = Values([lb.slug for lb in rows.labels], [lb.name for lb in rows.labels])
        index.label_group = [lb.group for lb in rows.labels]
        label_ids = np.array([lb.id for lb in rows.labels], dtype=np.int64)
        order = np.argsort(label_ids)
        tagged = rows.tagged
        codes = order[np.searchsorted(label_ids[order], tagged[:, 1])] if len(tagged) else tagged[:, 1]
        index.columns["label"] = Pairs(self.positions(tagged[:, 0]), codes, values, self.size)

    def orders(self, index):
        """Result orders, computed once: each is a permutation of entry indexes."""
        entries, size = self.rows.entries, self.size
        title_rank = np.empty(size, dtype=np.int64)
        title_rank[sorted(range(size), key=lambda i: (entries[i][7] or "", entries[i][0]))] = np.arange(size)
        created = np.array([r[8].timestamp() for r in entries], dtype=np.float64)
        rating = index.rating.astype(np.int32)
        index.orders = {
            "newest": np.lexsort((title_rank, -index.year)),
            "stars": np.lexsort((-index.year, -index.stars)),
            "rating": np.lexsort((title_rank, -index.year, -rating)),
            "title": np.argsort(title_rank, kind="stable"),
            "added": np.lexsort((-self.ids, -created)),
        }

    def build(self):
        index = FacetIndex(self.rows.version, self.ids)
        self.entry_columns(index)
        self.placement_columns(index)
        self.label_columns(index)
        self.orders(index)
        return index


class FacetIndex:
    """Entry attributes as arrays. Entries are numbered 0..size-1 in id order;
    masks are boolean arrays over those numbers; `columns` holds each facet's
    column by name."""

    def __init__(self, version, ids):
        self.version, self.ids, self.size = version, ids, len(ids)
        self.columns = {}
        self.groups, self.label_group, self.orders = [], [], {}

    @classmethod
    def load(cls):
        """Read the database in one snapshot and build."""
        return IndexBuilder(load_rows()).build()

    def __getattr__(self, name):
        # index.label, index.topic, ...: a column by name.
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(name)

    def positions(self, entry_ids):
        """Entry indexes for ids, in the given order, leaving out unknown ids."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        if not self.size:
            return ids[:0]
        pos = np.clip(np.searchsorted(self.ids, ids), 0, self.size - 1)
        return pos[self.ids[pos] == ids]

    def group_keys(self, group):
        return _group_keys(self, group)


def _group_keys(index, group):
    """The label keys of one group, as a mapping (for validation)."""
    return {
        key: i for i, (key, g) in enumerate(zip(index.label.values.keys, index.label_group, strict=True)) if g == group
    }


class AnyKey(dict):
    """A key mapping that takes any value: without the index, a value no
    entry has simply matches nothing."""

    def __contains__(self, key):
        return True


class SqlChoices:
    """What the FilterSet and the URL rules read from the index, from SQL:
    the labels and their groups (two small queries); other facets accept any
    value. Used for the slower page served when the index cannot be built."""

    def __init__(self):
        labels = list(
            Label.objects.order_by("group__position", "position", "name").values_list("slug", "name", "group__slug")
        )
        self.groups = list(LabelGroup.objects.order_by("position", "id").values_list("slug", "name"))
        self.label_group = [group for _, _, group in labels]
        label = SimpleNamespace(values=Values([slug for slug, _, _ in labels], [name for _, name, _ in labels]))
        anything = SimpleNamespace(values=SimpleNamespace(position=AnyKey()))
        self.columns = defaultdict(lambda: anything, label=label)

    label = property(lambda self: self.columns["label"])
    group_keys = _group_keys


_lock = threading.Lock()
_index = None


class IndexUnavailable(Exception):
    """The index could not be built: the caller serves the page from SQL."""


def get_index(version=None):
    """This process's index for the current data version, rebuilt when it changed.

    Raises IndexUnavailable (never anything else) when the build fails, so a
    page can fall back to SQL instead of answering 500.
    """
    global _index
    version = version or current_version()
    index = _index
    if index is not None and index.version == version:
        return index
    with _lock:
        if _index is not None and _index.version == version:
            return _index
        try:
            built = FacetIndex.load()
        except Exception as exc:  # any failure: a slower page, never an error page
            logger.exception("facet index build failed; serving from SQL")
            raise IndexUnavailable from exc
        _index = built
        return built
