"""The facet index: the catalog's entries as numpy arrays, for counting.

SQL GROUP BY over 200,000 entries costs hundreds of milliseconds a facet on
this machine; the same counts from numpy arrays of entry attributes and
(entry, value) pairs cost well under a millisecond each. The index is shared
by the requests of one process and follows every write: database triggers log
the changed entries (`catalog/dbsync.py`), and `caught_up()` applies only
those to a copy (docs/architecture.md, "The facet index under writes").

It is read in one snapshot (`snapshot()`): all its queries see the same data,
and the version and change-log position stored with it are those of that
data. Each facet of the registry (`catalog/facets.py`) reads its column by name.
"""

import bisect
import copy
import ctypes
import functools
import gc
import itertools
import logging
import os
import threading
from collections import defaultdict
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from . import tree
from .arrays import appended, mapped, with_room
from .models import (
    HOME_PATHS,
    CatalogState,
    Dimension,
    Edition,
    Entry,
    Label,
    LabelGroup,
    LinkState,
    Placement,
    Section,
    TaggedEntry,
    Topic,
)
from .visibility import HIDDEN_LINK_STATE, VISIBLE_FIELD

logger = logging.getLogger(__name__)

STAR_BUCKETS = (10, 100, 1000, 10000)
# Facets with at most this many values count from packed bit masks (one AND and
# popcount a value); larger ones from a bincount of their (entry, value) pairs.
PACKED_LIMIT = 64
# Counting passes go this many pairs or entries at a time: their temporary arrays (the
# chosen ones' places, in 64 bits) stay a few MiB, not 8 bytes a pair of a million.
COUNT_CHUNK = 1 << 18
# More ids than this are turned into entry numbers by a table (`FacetIndex.number_of_id`).
LOOKUP_FROM = 2_000


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

    @functools.cached_property
    def label_rank(self):
        """Each value's place in the order of labels (case-insensitive), for sorting by count, then label."""
        rank = np.empty(len(self.labels), dtype=np.int64)
        rank[sorted(range(len(self.labels)), key=lambda i: self.labels[i].casefold())] = np.arange(len(self.labels))
        return rank


def code_type(count):
    """The smallest signed integer type for codes of `count` values and -1 (none): a
    facet of a few values costs a byte an entry or pair, not four."""
    return np.int8 if count < 2**7 else np.int16 if count < 2**15 else np.int32


def coded(codes, chosen, count):
    """Where `codes` (value codes of a facet of `count` values, -1 for none) is one of
    `chosen`: a lookup in a table of the values (np.isin sorts or compares value by value)."""
    table = np.zeros(count + 1, dtype=bool)  # the last one stands for -1
    table[np.asarray(chosen, dtype=np.intp)] = True
    return table[codes]


def unpacked(packed, rows, size):
    """The entries in any of the packed mask rows `rows`, as a boolean mask over `size` entries."""
    if not len(rows):
        return np.zeros(size, dtype=bool)
    return np.unpackbits(np.bitwise_or.reduce(packed[rows], axis=0), count=size).view(bool)


def distinct(values):
    """The distinct values, sorted (numpy's hashing `np.unique` is slower here)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def packed_masks(masks, size):
    """Boolean masks over `size` entries, one row each, as packed bits (n/8 bytes a row)."""
    return np.packbits(np.asarray(masks, dtype=bool).reshape(len(masks), size), axis=1)


def popcounts(packed, packed_base):
    """How many entries of `packed_base` each packed mask row holds."""
    if not len(packed):
        return np.zeros(0, dtype=np.int64)
    # Eight bytes at a time (a row's bulk seen as 64-bit words): an eighth of the counts
    # to add up, which is most of the time byte by byte; the row's last bytes as they are.
    bulk = packed.shape[1] // 8 * 8
    counts = np.zeros(len(packed), dtype=np.int64)
    if bulk:
        words = packed[:, :bulk].view(np.uint64) & packed_base[:bulk].view(np.uint64)
        counts += np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    if bulk < packed.shape[1]:
        counts += np.bitwise_count(packed[:, bulk:] & packed_base[bulk:]).sum(axis=1, dtype=np.int64)
    return counts


def spans(starts, lengths):
    """The positions of runs (each from `starts[i]`, `lengths[i]` long), one after another."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - ends + lengths, lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _written(array, at, values, shared_size):
    """`array` with `values` at positions `at`, copied first when one of the
    positions below `shared_size` (the part an older index shares) changes."""
    values = np.asarray(values, dtype=array.dtype)
    inside = at < shared_size
    if np.any(inside) and not np.array_equal(array[at[inside]], values[inside]):
        array = array.copy()
    array[at] = values
    return array


def _patched_bits(packed, size, changed, entry, code):
    """Packed masks (one row a value) grown to `size` entries, the bits of the
    `changed` entries cleared, then those of the (entry, code) pairs set."""
    grow = (size + 7) // 8 - packed.shape[1]
    packed = np.pad(packed, ((0, 0), (0, grow))) if grow > 0 else packed.copy()
    bit = np.left_shift(1, 7 - (changed & 7)).astype(np.uint8)
    for byte, b in zip((changed >> 3).tolist(), bit.tolist(), strict=True):
        packed[:, byte] &= ~np.uint8(b)
    bit = np.left_shift(1, 7 - (entry & 7)).astype(np.uint8)
    for row, byte, b in zip(code.tolist(), (entry >> 3).tolist(), bit.tolist(), strict=True):
        packed[row, byte] |= b
    return packed


class Pairs:
    """A many-to-many column: unique (entry index, value code) pairs, sorted by entry."""

    def __init__(self, entry_idx, codes, values, size):
        entry_idx, codes = np.asarray(entry_idx, dtype=np.int64), np.asarray(codes, dtype=np.int64)
        if len(entry_idx):
            width = len(values.keys) + 1
            combined = distinct(entry_idx * width + codes)
            entry_idx, codes = combined // width, combined % width
        # Entry numbers in 32 bits, codes in the fewest that hold them: less memory to read,
        # and to copy when the index follows a write.
        self.entry, self.code = entry_idx.astype(np.int32), codes.astype(code_type(len(values.keys)))
        self.values, self.size = values, size
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            table = np.zeros((len(values.keys), size), dtype=bool)
            table[self.code, self.entry] = True
            self.packed = np.packbits(table, axis=1)

    def patched(self, changed, entry_idx, codes, size):
        """These pairs with those of the `changed` entries (sorted numbers) replaced by new ones.

        The pairs are sorted by entry, so the kept ones are the runs between the
        changed entries' rows: one copy of each array, whatever the catalog's size."""
        width = len(self.values.keys) + 1
        fresh = distinct(np.asarray(entry_idx, dtype=np.int64) * width + np.asarray(codes, dtype=np.int64))
        fresh_entry, fresh_code = (fresh // width).astype(np.int32), (fresh % width).astype(self.code.dtype)
        changed32 = np.asarray(changed, dtype=np.int32)
        starts = np.searchsorted(self.entry, changed32)
        ends = np.searchsorted(self.entry, changed32, side="right")
        if self._same_runs(starts, ends, fresh_entry, fresh_code):
            return self._resized(size)  # the write left these pairs as they were: nothing to copy
        if not (ends - starts).any() and (not len(self.entry) or fresh_entry[0] > self.entry[-1]):
            # Only new entries (the highest numbers) have pairs to add: they go at the end.
            pairs = copy.copy(self)
            pairs.size = size
            pairs.entry, pairs.code = appended(self.entry, fresh_entry), appended(self.code, fresh_code)
            if self.packed is not None:
                pairs.packed = _patched_bits(self.packed, size, changed, fresh_entry, fresh_code)
            return pairs
        cuts = np.searchsorted(fresh_entry, changed32)  # the new pairs of each changed entry start here
        cuts_end = np.searchsorted(fresh_entry, changed32, side="right")
        entry_parts, code_parts, kept_from = [], [], 0
        spans = zip(starts.tolist(), ends.tolist(), cuts.tolist(), cuts_end.tolist(), strict=True)
        for start, end, cut, cut_end in spans:
            entry_parts += [self.entry[kept_from:start], fresh_entry[cut:cut_end]]
            code_parts += [self.code[kept_from:start], fresh_code[cut:cut_end]]
            kept_from = end
        entry_parts.append(self.entry[kept_from:])
        code_parts.append(self.code[kept_from:])
        pairs = Pairs.__new__(Pairs)
        pairs.entry, pairs.code = np.concatenate(entry_parts), np.concatenate(code_parts)
        pairs.values, pairs.size, pairs.packed = self.values, size, None
        if self.packed is not None:
            pairs.packed = _patched_bits(self.packed, size, changed, fresh_entry, fresh_code)
        return pairs

    def _same_runs(self, starts, ends, fresh_entry, fresh_code):
        """Whether the changed entries' pairs (their runs) are exactly the fresh ones."""
        if int((ends - starts).sum()) != len(fresh_entry):
            return False
        old = np.concatenate([np.arange(a, b) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)] or [[]])
        old = old.astype(np.int64)
        return np.array_equal(self.entry[old], fresh_entry) and np.array_equal(self.code[old], fresh_code)

    def _resized(self, size):
        """These pairs over `size` entries (the same arrays; the bit masks widened)."""
        if size == self.size:
            return self
        pairs = copy.copy(self)
        pairs.size = size
        grow = (size + 7) // 8 - (self.packed.shape[1] if self.packed is not None else 0)
        if self.packed is not None and grow > 0:
            pairs.packed = np.pad(self.packed, ((0, 0), (0, grow)))
        return pairs

    def mask(self, keys):
        codes = self.values.codes(keys)
        if self.packed is not None:
            return unpacked(self.packed, codes, self.size)
        selected = np.zeros(self.size, dtype=bool)
        selected[self.entry[coded(self.code, codes, len(self.values.keys))]] = True
        return selected

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        counts = np.zeros(len(self.values.keys), dtype=np.int64)
        for start in range(0, len(self.entry), COUNT_CHUNK):
            # np.take: numpy's fancy indexing first copies 32-bit indexes to 64 bits; the chosen
            # pairs' codes by their places (a boolean index branches on every pair, and is slower).
            chosen = np.flatnonzero(np.take(base, self.entry[start : start + COUNT_CHUNK]))
            counts += np.bincount(np.take(self.code[start : start + COUNT_CHUNK], chosen), minlength=len(counts))
        return counts

    def counts_of(self, entries):
        """The counts over a few entries (ascending numbers): their runs of pairs found by
        binary search, instead of a pass over every pair."""
        entries = entries.astype(self.entry.dtype)  # searched in the pairs' own type, not a copy of them
        starts = np.searchsorted(self.entry, entries)
        at = spans(starts, np.searchsorted(self.entry, entries, side="right") - starts)
        return np.bincount(self.code[at], minlength=len(self.values.keys))


class Codes:
    """A single-valued column: one value code per entry, -1 for none. `lookup`
    maps the raw codes of its field (see `ValueColumn`) to value codes."""

    def __init__(self, codes, values, lookup=None):
        self.code = np.asarray(codes).astype(code_type(len(values.keys)), copy=False)
        self.values, self.lookup = values, lookup
        self.packed = None
        if len(values.keys) <= PACKED_LIMIT:
            table = np.zeros((len(values.keys), len(self.code)), dtype=bool)
            has = self.code >= 0
            table[self.code[has], np.flatnonzero(has)] = True
            self.packed = np.packbits(table, axis=1)

    def patched(self, changed, codes, size, values=None, lookup=None):
        """This column grown to `size` entries, with new codes for the `changed`
        entries; `values` (and `lookup`) when values were added at the end."""
        unchanged = (values is None or values is self.values) and (lookup is None or lookup is self.lookup)
        if unchanged and size == len(self.code) and np.array_equal(self.code[changed], codes):
            return self  # the write changed nothing this column holds
        column = Codes.__new__(Codes)
        column.values = self.values if values is None else values
        code = self.code
        if np.dtype(code_type(len(column.values.keys))).itemsize > code.itemsize:  # too many values now
            code = with_room(code.astype(code_type(len(column.values.keys))))
        column.code = appended(code, np.full(size - len(code), -1, dtype=code.dtype))
        column.code = _written(column.code, changed, codes, len(code))
        column.lookup = self.lookup if lookup is None else lookup
        column.packed = None
        if self.packed is not None and len(column.values.keys) <= PACKED_LIMIT:
            packed = self.packed
            added = len(column.values.keys) - len(packed)
            if added:
                packed = np.vstack([packed, np.zeros((added, packed.shape[1]), dtype=np.uint8)])
            has = codes >= 0
            column.packed = _patched_bits(packed, size, changed, changed[has], codes[has])
        elif len(column.values.keys) <= PACKED_LIMIT:
            column.packed = Codes(column.code, column.values).packed
        return column

    def mask(self, keys):
        codes = self.values.codes(keys)
        if self.packed is not None:
            return unpacked(self.packed, codes, len(self.code))
        return coded(self.code, codes, len(self.values.keys))

    def counts(self, base, packed_base):
        if self.packed is not None:
            return popcounts(self.packed, packed_base)
        return self.counts_of(np.flatnonzero(base))

    def counts_of(self, entries):
        """The counts over these entries (their numbers)."""
        counts = np.zeros(len(self.values.keys) + 1, dtype=np.int64)
        for start in range(0, len(entries), COUNT_CHUNK):
            codes = np.take(self.code, entries[start : start + COUNT_CHUNK]) + 1  # none (-1) first, left out
            counts += np.bincount(codes, minlength=len(counts))
        return counts[1:]


class Vocabulary:
    """Strings (languages as spelled, hosts) as small integer codes; grows, never renumbers."""

    def __init__(self):
        self.words, self.code = [], {}

    def copy(self):
        other = Vocabulary()
        other.words, other.code = list(self.words), dict(self.code)
        return other

    def __call__(self, word):
        if not word:
            return -1
        code = self.code.get(word)
        if code is None:
            code = self.code[word] = len(self.words)
            self.words.append(word)
        return code


# --- loading: named rows, in one snapshot ------------------------------------------------


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
    has_prose: bool  # the prose itself is read only for a page that shows some


class TopicListings(NamedTuple):
    """A topic page's listings as arrays, one item a placement: its section id, its id, the id
    of the listing it is nested under (-1: none), its entry's year (0: none) and its position."""

    section: np.ndarray
    pk: np.ndarray
    parent: np.ndarray
    year: np.ndarray
    position: np.ndarray


class LabelRow(NamedTuple):
    id: int
    slug: str
    name: str
    group: str


@dataclass(frozen=True)
class Field:
    """One column of the entry row as the index holds it: a numpy array over
    entries, `index.raw[name]`. With `word`, a text turned into a word by
    `word(value)` and held as its code in the field's `Vocabulary` (-1: none).
    `grouped`: a text of which only equality matters, held as a number that entries
    with the same text share, from the database (no vocabulary: for a text that is
    nearly one per entry, e.g. the URL key, its strings would cost more than the index)."""

    name: str
    sql: object  # a column of the entry table, an expression of the row, or {vendor: expression}
    dtype: object = np.int64
    missing: object = 0  # for NULL
    word: object = None
    grouped: bool = False

    @property
    def none(self):
        """The array's value for no value."""
        return -1 if self.word or self.grouped else self.missing

    def expression(self, vendor):
        if isinstance(self.sql, dict):
            return self.sql[vendor]
        return ADDED[vendor] if self.sql == "{added}" else self.sql


ADDED = {"sqlite": "julianday(created_at)", "postgresql": "extract(epoch from created_at)::float8"}
# The fields every index holds (the result orders read them); facets add theirs (`index_fields()`).
YEAR = Field("year", "year", np.int32)
STARS = Field("stars", "github_stars", np.int32, -1)  # PositiveIntegerField: 32 bits
RATING = Field("rating", "rating", np.int8)
CORE_FIELDS = (
    YEAR,
    STARS,
    RATING,
    Field("created", "{added}", np.float64, 0.0),
    Field("published", VISIBLE_FIELD, bool),
)


# SQL string functions: (find a text, cut from a position), per database.
STRING_FUNCTIONS = {"sqlite": ("INSTR", "SUBSTR"), "postgresql": ("STRPOS", "SUBSTRING")}


def _url_sql(vendor):
    """SQL of the dashboard's URL fields, as `models.url_rest()`, `URL_KEY` and
    `EntryQuerySet.with_url_shape()` compute them: (bare home page, URL key)."""
    find, cut = STRING_FUNCTIONS[vendor]
    rest = f"{cut}(url, {find}(url, '://') + 3)"  # the URL without its scheme
    paths = ", ".join(f"'{path}'" for path in HOME_PATHS)  # constants
    home = f"({find}({rest}, '/') = 0 OR {cut}({rest}, {find}({rest}, '/')) IN ({paths}))"
    return home, f"lower(rtrim(replace({rest}, 'www.', ''), '/'))"


# The curator dashboard's fields (catalog/curation.py), the SQL of its filters: no description,
# a bare home page (`EntryQuerySet.with_url_shape()`), the URL key duplicates share (`URL_KEY`).
DASHBOARD_FIELDS = (
    Field("blank", "description = ''", bool),
    Field("home", {vendor: _url_sql(vendor)[0] for vendor in STRING_FUNCTIONS}, bool),
    Field("url_key", {vendor: _url_sql(vendor)[1] for vendor in STRING_FUNCTIONS}, np.int32, grouped=True),
)


class NumberColumn:
    """A facet's column that is the field's array itself (`AtLeast`, `Flag` masks)."""

    def __init__(self, field):
        self.field = field

    def build(self, index):
        return index.raw[self.field.name]

    def patched(self, index, column, changed):
        return index.raw[self.field.name]


class FlagColumn(NumberColumn):
    """A yes/no field as one packed bit mask (`Flag`)."""

    def build(self, index):
        return packed_masks([index.raw[self.field.name]], index.size)

    def patched(self, index, column, changed):
        return self.build(index)  # n/8 bytes


class ValueColumn:
    """A facet of one value an entry, as `Codes`: the field's words (or numbers)
    grouped by `key(word)`, each key labelled by `label()` of its commonest word;
    keys sorted (`descending`), or the fixed `values`. Following a write, a new
    key is added at the end (facets show values by count, years sort themselves)."""

    def __init__(self, field, *, key=None, label=str, values=None, descending=False):
        self.field, self.values, self.descending = field, values, descending
        self.key, self.label = key or (lambda word: word), label

    def _word(self, index, code):
        return index.vocabularies[self.field.name].words[code] if self.field.word else code

    def _space(self, index, raw):
        if self.field.word:
            return len(index.vocabularies[self.field.name].words)
        return int(raw.max(initial=0)) + 1

    def build(self, index):
        raw = index.raw[self.field.name]
        lookup = np.full(self._space(index, raw) + 1, -1, dtype=np.int64)  # [-1]: none
        if self.values is not None:
            for code in range(len(lookup) - 1):
                lookup[code] = self.values.position.get(self.key(self._word(index, code)), -1)
            return Codes(lookup[raw], self.values, lookup)
        has = index.alive & (raw != self.field.none)
        used = np.bincount(raw[has], minlength=len(lookup) - 1)
        words = {}
        for code in np.flatnonzero(used).tolist():
            word = self._word(index, code)
            words.setdefault(self.key(word), []).append((int(used[code]), word, code))
        keys = sorted(words, reverse=self.descending)
        for i, key in enumerate(keys):
            lookup[[code for _, _, code in words[key]]] = i
        return Codes(lookup[raw], Values(keys, [self.label(max(words[key])[1]) for key in keys]), lookup)

    def patched(self, index, column, changed):
        """The column with the changed entries' codes; None when a new word
        spells a key already known (its label may change: build it again)."""
        raw = index.raw[self.field.name][changed]
        lookup, values = column.lookup, column.values
        unknown = (raw != self.field.none) & ((raw >= len(lookup) - 1) | (lookup[np.minimum(raw, len(lookup) - 1)] < 0))
        if np.any(unknown):
            space = max(self._space(index, raw), len(lookup) - 1)
            lookup = np.concatenate([lookup[:-1], np.full(space + 2 - len(lookup), -1, dtype=np.int64)])
        if np.any(unknown) and self.values is None:
            keys, labels = list(values.keys), list(values.labels)
            known = dict(values.position)
            for code in sorted(set(raw[unknown].tolist())):
                word = self._word(index, code)
                key = self.key(word)
                if key in values.position:
                    return None
                if key not in known:
                    known[key] = len(keys)
                    keys.append(key)
                    labels.append(self.label(word))
                lookup[code] = known[key]
            values = Values(keys, labels)
        elif np.any(unknown):
            for code in sorted(set(raw[unknown].tolist())):
                lookup[code] = self.values.position.get(self.key(self._word(index, code)), -1)
        codes = lookup[raw].astype(np.int32)
        if self.values is None:
            values = self._relabelled(index, lookup, values, column.code[changed[changed < len(column.code)]], codes)
        return column.patched(changed, codes, index.size, values, lookup)

    def _relabelled(self, index, lookup, values, *touched):
        """`values` with the label of each touched key spelled in several ways taken
        again from its commonest spelling, as a full build does (the write may have
        changed which spelling is commonest)."""
        keys = {int(k) for codes in touched for k in codes.tolist() if k >= 0}
        spellings = {k: np.flatnonzero(lookup[:-1] == k) for k in keys}
        spellings = {k: words for k, words in spellings.items() if len(words) > 1}
        if not spellings:
            return values
        raw = index.raw[self.field.name]
        used = np.bincount(raw[index.alive & (raw != self.field.none)], minlength=len(lookup) - 1)
        labels = list(values.labels)
        for k, words in spellings.items():
            count, word, _ = max((int(used[c]), self._word(index, c), c) for c in words.tolist())
            if count:
                labels[k] = self.label(word)
        return values if labels == values.labels else Values(list(values.keys), labels)


def index_fields():
    """The entry fields the index reads: its own, then the registry's facets'."""
    from .facets import index_columns  # the registry imports this module

    fields = {field.name: field for field in (*CORE_FIELDS, *DASHBOARD_FIELDS)}
    for spec in index_columns().values():
        fields.setdefault(spec.field.name, spec.field)
    return list(fields.values())


# The link-status facet's values (catalog.linkhealth): every state, in their order.
LINK_STATES = Values([key for key, _ in LinkState.choices], [label for _, label in LinkState.choices])
CHANGES = "catalog_catalogchange"
# More changed entries than this since an index was built: build it again instead.
MAX_CHANGES = 5_000
CHUNK = 500
FETCH = 10_000
PROBES = 31  # titles read a round when an entry is put in title order (`FacetIndex._titled`)
# The title order: by the lower-cased title byte by byte (code point order, as Python compares
# the same text), then id; with no collation rules that differ between databases or locales.
TITLE_KEY = "lower(title)"
TITLE_ORDER = {"sqlite": f"{TITLE_KEY} COLLATE BINARY", "postgresql": f'{TITLE_KEY} COLLATE "C"'}
# A placement as the index reads it: the (entry, section) pair the facets count, then what a
# topic page orders its listings by (`FacetIndex.topic_listings`): its id, position and parent (-1: none).
PLACEMENT_COLUMNS = "entry_id, section_id, id, position, COALESCE(parent_id, -1)"
LISTING_ARRAYS = ("p_id", "p_position", "p_parent")  # beside p_pos and p_section, in their order


@dataclass
class Tree:
    """The page tree and the labels: small tables, read whole."""

    editions: list
    dimensions: list
    topics: list
    sections: list
    groups: list  # (slug, name)
    labels: list


def _fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _chunks(sql, params=()):
    """The rows of a large query, FETCH at a time (a server-side cursor on PostgreSQL), so
    that a build never holds all of them as Python tuples: their heap would stay with the
    process after the build (at 200,000 entries, over 100 MiB)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH):
            yield rows


def _pairs(rows, width=2):
    return np.array(rows, dtype=np.int64).reshape(-1, width)


def _narrow(numbers):
    """Entry numbers or ids as 32-bit integers when they fit (half the memory), else 64-bit;
    joined with others, numpy keeps the wider."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return numbers.astype(np.int32) if not len(numbers) or numbers.max() < 2**31 else numbers


def _appended(array, tail):
    """`appended()` for `_narrow` arrays: a tail too wide for the array's type makes a wider copy."""
    if array.dtype.itemsize < tail.dtype.itemsize:
        return np.concatenate([array, tail])
    return appended(array, tail)


def _rows_followed(old, new, dropped):
    """Rows (parallel arrays, entry numbers first) with those of the entries `dropped` (a
    mask over entry numbers) replaced by `new`, theirs now, and which rows were taken away.
    A write that only adds rows (a label added, the placements as they were) puts them in
    the room after the arrays, copying nothing; one that takes a row away copies the arrays
    without it. Either way the rows kept stay in their order, and new ones go at the end."""
    gone = np.flatnonzero(dropped[old[0]])
    before = set(zip(*(column[gone].tolist() for column in old), strict=True))
    rows = list(zip(*(column.tolist() for column in new), strict=True))
    if before <= set(rows):
        added = np.array([row not in before for row in rows], dtype=bool)
        return [_appended(column, part[added]) for column, part in zip(old, new, strict=True)], gone[:0]
    keep = np.ones(len(old[0]), dtype=bool)
    keep[gone] = False
    return [np.concatenate([column[keep], part]) for column, part in zip(old, new, strict=True)], gone


def _stacked_pairs(chunks, width=2):
    return np.concatenate([_pairs([], width), *(_pairs(rows, width) for rows in chunks)])


def field_values(spec, column, vocabularies):
    """A field's values (from SQL rows) as its array holds them."""
    if spec.word:
        code = vocabularies[spec.name]
        return np.array([code(spec.word(v)) if v else -1 for v in column], dtype=np.int32)
    return np.array([spec.missing if v is None else v for v in column], dtype=spec.dtype)


@dataclass
class EntryArrays:
    """The entry rows as arrays: ids in order, {field name: values}, the vocabularies of
    text fields, and the entry numbers in title order."""

    fields: list
    ids: np.ndarray
    raw: dict
    vocabularies: dict
    title_sorted: np.ndarray = None

    @classmethod
    def read(cls, fields):
        """Two queries: the entry rows, then their ranks (`ranks()`)."""
        vocabularies = {f.name: Vocabulary() for f in fields if f.word}
        read = [f for f in fields if not f.grouped]
        ids, raw = [np.zeros(0, dtype=np.int64)], {f.name: [field_values(f, [], vocabularies)] for f in read}
        sql = f"SELECT {_entry_columns(read, title=False)} FROM {Entry._meta.db_table} ORDER BY id"  # noqa: S608
        for rows in _chunks(sql):
            columns = list(zip(*rows, strict=True))
            ids.append(np.array(columns[0], dtype=np.int64))
            for spec, column in zip(read, columns[1:], strict=True):
                raw[spec.name].append(field_values(spec, column, vocabularies))
        raw = {n: np.concatenate(parts) for n, parts in raw.items()}
        for name, words in vocabularies.items():  # a word's code in the fewest bits that hold them all
            raw[name] = raw[name].astype(code_type(len(words.words)))
        arrays = cls(fields, np.concatenate(ids), raw, vocabularies)
        arrays.ranks()
        return arrays

    def ranks(self):
        """One query, of ranks the database computes over all entries: each entry's place in
        title order, and for each `grouped` field a number equal for equal texts (NULL,
        read as -1, for none)."""
        vendor, grouped = connection.vendor, [f for f in self.fields if f.grouped]
        columns = [f"row_number() OVER (ORDER BY {TITLE_ORDER[vendor]}, id) - 1"] + [
            f"CASE WHEN {text} <> '' THEN dense_rank() OVER (ORDER BY {text}) END"
            for text in (f.expression(vendor) for f in grouped)
        ]
        sql = f"SELECT id, {', '.join(columns)} FROM {Entry._meta.db_table}"  # noqa: S608
        table = np.concatenate(
            [
                np.zeros((0, len(columns) + 1), dtype=np.int64),
                *(
                    np.array([[-1 if v is None else v for v in row] for row in rows], dtype=np.int64)
                    for rows in _chunks(sql)
                ),
            ]
        )
        at = np.searchsorted(self.ids, table[:, 0])
        self.title_sorted = np.empty(len(self.ids), dtype=np.int32)
        self.title_sorted[table[:, 1]] = at
        for spec, ranked in zip(grouped, table[:, 2:].T, strict=True):
            self.raw[spec.name] = np.full(len(self.ids), -1, dtype=np.int32)
            self.raw[spec.name][at] = ranked


def load_tree():
    return Tree(
        editions=[EditionRow(*r) for r in Edition.objects.order_by("position", "id").values_list("id", "slug", "name")],
        dimensions=[
            EditionRow(*r)
            for r in Dimension.objects.order_by("edition__position", "position", "id").values_list("id", "slug", "name")
        ],
        topics=[
            TopicRow(*r)
            for r in Topic.objects.order_by("edition__position", "position", "title").values_list(
                "id", "slug", "title", "edition_id", "dimension_id"
            )
        ],
        sections=[
            SectionRow(*r)
            for r in Section.objects.order_by("position", "id")
            .annotate(has_prose=ExpressionWrapper(~Q(prose=""), output_field=BooleanField()))
            .values_list("id", "slug", "title", "topic_id", "parent_id", "has_prose")
        ],
        # Labels of internal groups are for curators only: no facet, no filter.
        groups=list(LabelGroup.objects.public().order_by("position", "id").values_list("slug", "name")),
        labels=[
            LabelRow(*r)
            for r in Label.objects.public()
            .order_by("group__position", "position", "name")
            .values_list("id", "slug", "name", "group__slug")
        ],
    )


def current_state():
    """(data version, the change log's last row as (sequence number, token)): one query."""
    row = _fetch(
        f"SELECT s.version, c.id, c.token FROM {CatalogState._meta.db_table} s"  # noqa: S608 - constants
        f" LEFT JOIN (SELECT id, token FROM {CHANGES} ORDER BY id DESC LIMIT 1) c ON 1 = 1 WHERE s.id = 1"
    )
    version, seq, token = row[0] if row else ("empty", None, None)
    return version, (seq, token)


def _entry_columns(fields, title=True):
    """An entry row: id, its title's sort key (`title`), then each of `fields`. Plain tuples
    through a plain cursor: the ORM's row objects cost more than the query, and 200,000
    named tuples a second to make. (Table names come from the models, never from input.)"""
    return ", ".join(["id", *([TITLE_KEY] if title else []), *(f.expression(connection.vendor) for f in fields)])


def _in_chunks(sql, ids):
    rows = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows += _fetch(sql.format(marks=", ".join(["%s"] * len(chunk))), chunk)
    return rows


def _entries_by_id(columns, ids):
    """Rows of `columns` (SQL of this module) of the entries with these ids."""
    return _in_chunks(f"SELECT {columns} FROM {Entry._meta.db_table} WHERE id IN ({{marks}})", ids)  # noqa: S608


def logged_since(seen):
    """(the log's last row, the distinct entry ids logged after the row `seen`, None for
    a change to the tree or the labels), read in the current snapshot; None when a full
    build is due: the row seen is gone or is another (the log was pruned past it, or the
    database restored), a table was emptied, or too many entries changed."""
    since, token = seen
    if since is None:  # the log was empty then: not from a migrated database
        return None
    row = _fetch(f"SELECT token FROM {CHANGES} WHERE id = %s", [since])  # noqa: S608 - a constant
    if not row or row[0][0] != token:
        return None
    last = _fetch(f"SELECT id, token FROM {CHANGES} ORDER BY id DESC LIMIT 1")[0]  # noqa: S608 - a constant
    changed = [r[0] for r in _fetch(f"SELECT DISTINCT entry_id FROM {CHANGES} WHERE id > %s", [since])]  # noqa: S608
    if len(changed) > MAX_CHANGES or 0 in changed:
        return None
    return tuple(last), changed


def load_changes(seen):
    """What changed after the log row `seen` (sequence number, token), read in
    the current snapshot: (the last row, changed entry ids, their rows,
    placements and labels, the tree if it changed). None when a full build is
    due: the row seen is gone or is another (the log was pruned past it, or
    the database restored), a table was emptied, or too many entries changed."""
    logged = logged_since(seen)
    if logged is None:
        return None
    last, changed = logged
    tree = load_tree() if None in changed else None
    ids = sorted(i for i in changed if i is not None)
    placement, tagged = Placement._meta.db_table, TaggedEntry._meta.db_table
    entries = _entries_by_id(_entry_columns(index_fields()), ids)
    placements = _pairs(
        _in_chunks(f"SELECT {PLACEMENT_COLUMNS} FROM {placement} WHERE entry_id IN ({{marks}})", ids),  # noqa: S608
        width=5,
    )
    labels = _pairs(
        _in_chunks(f"SELECT content_object_id, tag_id FROM {tagged} WHERE content_object_id IN ({{marks}})", ids)  # noqa: S608
    )
    return last, ids, sorted(entries), placements, labels, tree


# --- building ----------------------------------------------------------------------------


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


def _first_of_each(pairs):
    """Values from (key, label) pairs, in first-seen order."""
    keys, labels, seen = [], [], set()
    for key, label in pairs:
        if key not in seen:
            seen.add(key)
            keys.append(key)
            labels.append(label)
    return Values(keys, labels)


class TreeCodes:
    """Lookups from a placement's section to the codes of every facet that
    placements give (section and its ancestors, topic, edition, dimension),
    and from a label id to its code."""

    def __init__(self, rows):
        topic_by_id = {t.id: t for t in rows.topics}
        section_by_id = {s.id: s for s in rows.sections}
        parent_of = {s.id: s.parent_id for s in rows.sections}

        def section_key(sid):
            return f"{topic_by_id[section_by_id[sid].topic_id].slug}/{section_by_id[sid].slug}"

        self.section_values = _first_of_each(
            (section_key(s.id), " › ".join(section_by_id[a].title for a in tree.path_from_top(s.id, parent_of)))
            for s in page_order(rows.topics, rows.sections)
        )
        self.section_ids = np.array(sorted(section_by_id), dtype=np.int64)
        chains = [
            [self.section_values.position[section_key(a)] for a in tree.ancestors(sid, parent_of)]
            for sid in self.section_ids.tolist()
        ]
        self.chains = np.full((len(chains), max((len(c) for c in chains), default=1)), -1, dtype=np.int64)
        for row, chain in enumerate(chains):
            self.chains[row, : len(chain)] = chain
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
        # Per section row, the code of each topic-level facet.
        section_topic = [topic_by_id[section_by_id[sid].topic_id] for sid in self.section_ids.tolist()]
        self.topic_values = {name: values for name, (values, _) in by_topic.items()}
        self.topic_codes = {
            name: np.array([values.position[key_of(t)] for t in section_topic], dtype=np.int64)
            for name, (values, key_of) in by_topic.items()
        }
        self.label_values = Values([lb.slug for lb in rows.labels], [lb.name for lb in rows.labels])
        self.label_group = [lb.group for lb in rows.labels]
        self.label_ids = np.array([lb.id for lb in rows.labels], dtype=np.int64)
        self.label_order = np.argsort(self.label_ids)

    def placement_pairs(self, p_pos, p_section):
        """{facet name: (entry indexes, codes)} for these placements."""
        rows = np.searchsorted(self.section_ids, p_section) if len(self.section_ids) else p_pos[:0]
        chains = self.chains[rows] if len(rows) else np.zeros((0, 1), dtype=np.int64)
        s_entry, s_codes = np.repeat(p_pos, chains.shape[1]), chains.reshape(-1)
        pairs = {"section": (s_entry[s_codes >= 0], s_codes[s_codes >= 0])}
        for name, codes in self.topic_codes.items():
            pairs[name] = (p_pos, codes[rows] if len(rows) else rows)
        return pairs

    def label_pairs(self, t_pos, t_label):
        """(entry indexes, codes) of these labellings, without those of internal labels."""
        known = np.isin(t_label, self.label_ids)
        t_pos, t_label = t_pos[known], t_label[known]
        if not len(t_label):
            return t_pos, t_label
        return t_pos, self.label_order[np.searchsorted(self.label_ids[self.label_order], t_label)]

    def values(self, name):
        return self.section_values if name == "section" else self.topic_values[name]


class FacetIndex:
    """The catalog's entries as arrays, for counting.

    Entries are numbered in id order; a new entry (a higher id) takes the
    next number, a deleted one keeps its number with `alive` false, so that
    numbers stay put while the index follows the change log. Masks are
    boolean arrays over those numbers; `columns` holds each facet's column by
    name (see the registry in `catalog/facets.py`).
    """

    def __init__(self, version, seq, tree_rows, entries, placements, tagged):
        """`entries`: `EntryArrays`; `placements`: PLACEMENT_COLUMNS rows; `tagged`: (entry id, label id) rows."""
        self.version, self.seq, self.tree, self._memo = version, seq, tree_rows, {}
        self.fields, self.vocabularies = entries.fields, entries.vocabularies
        self.ids, self.raw = _narrow(entries.ids), entries.raw
        self.size = len(self.ids)
        self.alive = np.ones(self.size, dtype=bool)
        # Title order: entry numbers by (title, id), as the database sorts them byte by byte.
        self.title_sorted = entries.title_sorted
        self.title_rank = np.empty(self.size, dtype=np.float64)
        self.title_rank[self.title_sorted] = np.arange(self.size, dtype=np.float64)
        # Placements by section (`section_rows()`): a topic page reads its own rows only.
        by_section = np.argsort(placements[:, 1], kind="stable")
        self.p_sorted = len(placements)  # how many rows, from the first, are in section order
        self.p_pos = _narrow(self.positions(placements[by_section, 0]))
        self.p_section = _narrow(placements[by_section, 1])
        for i, name in enumerate(LISTING_ARRAYS, start=2):
            setattr(self, name, _narrow(placements[by_section, i]))
        self.t_pos, self.t_label = _narrow(self.positions(tagged[:, 0])), _narrow(tagged[:, 1])
        self.codes = TreeCodes(tree_rows)
        self.columns, self._orders = {}, {}
        # Room after each array a write grows (`appended()`), from the start: the first write
        # that adds an entry then writes after the arrays instead of copying them, so gunicorn's
        # workers go on sharing their parent's (`prepare_fork()`).
        self.ids, self.alive, self.title_rank = with_room(self.ids), with_room(self.alive), with_room(self.title_rank)
        self.raw = {name: with_room(values) for name, values in self.raw.items()}
        self.p_pos, self.p_section = with_room(self.p_pos), with_room(self.p_section)
        for name in LISTING_ARRAYS:
            setattr(self, name, with_room(getattr(self, name)))
        self.t_pos, self.t_label = with_room(self.t_pos), with_room(self.t_label)
        self._derive_entry_columns()
        self._derive_placed_columns()
        for column in self.columns.values():
            if isinstance(column, Codes):
                column.code = with_room(column.code)
            elif isinstance(column, Pairs):
                column.entry, column.code = with_room(column.entry), with_room(column.code)

    @classmethod
    def load(cls):
        """Read the database in one snapshot and build."""
        placement, tagged = Placement._meta.db_table, TaggedEntry._meta.db_table
        with snapshot():
            version, seq = current_state()
            tree_rows, entries = load_tree(), EntryArrays.read(index_fields())
            placements = _stacked_pairs(_chunks(f"SELECT {PLACEMENT_COLUMNS} FROM {placement}"), width=5)  # noqa: S608
            labels = _stacked_pairs(_chunks(f"SELECT content_object_id, tag_id FROM {tagged}"))  # noqa: S608
        return cls(version, seq, tree_rows, entries, placements, labels)

    def __getattr__(self, name):
        # index.year, index.published, ...: a field's array; index.label, index.topic, ...: a column.
        for part in ("raw", "columns"):
            found = self.__dict__.get(part, {})
            if name in found:
                return found[name]
        raise AttributeError(name)

    @property
    def groups(self):
        return self.tree.groups

    @property
    def label_group(self):
        return self.codes.label_group

    # --- raw rows -> columns

    def _set_rows(self, at, rows, followed=None):
        """Write entry rows at entry numbers `at`. `followed`: the index this one
        follows, whose field arrays this one shares until a value differs."""
        if not len(rows):
            return
        for spec, column in zip(self.fields, list(zip(*rows, strict=True))[2:], strict=True):
            if spec.grouped:
                new = self._grouped_values(spec, at, column)
            else:
                new = field_values(spec, column, self.vocabularies)
            if spec.word and np.dtype(code_type(len(self.vocabularies[spec.name].words))) != self.raw[spec.name].dtype:
                # New words: their codes need more bits (never fewer: the vocabulary never shrinks).
                wider = code_type(len(self.vocabularies[spec.name].words))
                self.raw[spec.name] = with_room(self.raw[spec.name].astype(wider))
            if followed is None:
                self.raw[spec.name][at] = new
            else:  # copied only when the write changed a value the followed index holds
                self.raw[spec.name] = _written(self.raw[spec.name], at, new, followed.size)

    def _grouped_values(self, spec, at, texts):
        """The numbers of a `grouped` field for the changed entries `at`, whose texts these
        are: that of an unchanged entry with the same text (found by the database, through
        its index on the text when there is one), else a number no entry has."""
        expression, table = spec.expression(connection.vendor), Entry._meta.db_table
        sql = f"SELECT {expression}, id FROM {table} WHERE {expression} IN ({{marks}})"  # noqa: S608
        changed, numbers = set(self.ids[at].tolist()), self.raw[spec.name]
        known = {
            text: int(numbers[self.positions([entry_id])[0]])
            for text, entry_id in _in_chunks(sql, sorted({t for t in texts if t}))
            if entry_id not in changed
        }
        fresh = itertools.count(int(numbers.max(initial=-1)) + 1)
        return [(known[t] if t in known else known.setdefault(t, next(fresh))) if t else -1 for t in texts]

    def _derive_entry_columns(self):
        from .facets import index_columns

        for name, spec in index_columns().items():
            self.columns[name] = spec.build(self)

    def _patch_entry_columns(self, changed):
        """The columns of entry fields with the changed entries' new values;
        False when one must be derived again (see `ValueColumn.patched`)."""
        from .facets import index_columns

        columns = {}
        for name, spec in index_columns().items():
            columns[name] = spec.patched(self, self.columns[name], changed)
            if columns[name] is None:
                return False
        self.columns.update(columns)
        return True

    def _derive_placed_columns(self):
        pairs = self.codes.placement_pairs(self.p_pos, self.p_section)
        for name, (entry, codes) in pairs.items():
            self.columns[name] = Pairs(entry, codes, self.codes.values(name), self.size)
        self.columns["label"] = Pairs(
            *self.codes.label_pairs(self.t_pos, self.t_label), self.codes.label_values, self.size
        )

    # --- following the change log

    def caught_up(self):
        """A new index with what the change log holds since this one was built,
        read in one snapshot; None when a full build is due."""
        with snapshot():  # the titles of the entries placed around the new ones are read in it too
            version = current_version()
            changes = load_changes(self.seq)
            if changes is None:
                return None
            seq, ids, rows, placements, tagged, tree_rows = changes
            return self._patched(version, seq, ids, rows, placements, tagged, tree_rows)

    def _patched(self, version, seq, ids, rows, placements, tagged, tree_rows):
        if not ids and tree_rows is None:
            # A write the index holds nothing of (related topics, an update of no row): the
            # same arrays, orders and masks under the new version, nothing copied.
            index = copy.copy(self)
            index.version, index.seq, index._orders, index._memo = version, seq, dict(self._orders), dict(self._memo)
            return index
        ids = np.array(ids, dtype=np.int64)
        known = self.positions(ids)
        new_ids = np.setdiff1d(ids, self.ids[known]) if len(ids) else ids
        if len(new_ids) and self.size and new_ids.min() <= self.ids[-1]:
            return None  # an id below the last one: numbers would move
        index = copy.copy(self)
        index.version, index.seq, index._orders, index.columns = version, seq, {}, dict(self.columns)
        index._memo = {}
        index.__dict__.pop("_facets", None)  # the registry's facets of this index (label groups may change)
        grow = len(new_ids)
        index.ids = _appended(self.ids, _narrow(new_ids))
        index.size = self.size + grow

        def grown(array, fill):
            return appended(array, np.full(grow, fill, dtype=array.dtype))

        # Arrays are shared with this index, grown in the room after them, and copied only
        # when the write changes a value this index holds (`_written`).
        index.alive = grown(self.alive, False)
        index.raw = {field.name: grown(self.raw[field.name], field.none) for field in self.fields}
        index.vocabularies = {name: words.copy() for name, words in self.vocabularies.items()}
        index.title_rank = grown(self.title_rank, 0)

        changed = index.positions(ids)
        at = index.positions([r[0] for r in rows])
        index.alive = _written(index.alive, changed, np.isin(changed, at), self.size)
        index._set_rows(at, rows, followed=self)
        kept = self.title_sorted[~np.isin(self.title_sorted, changed)] if len(changed) else self.title_sorted
        index.title_sorted = index._titled(kept, at, [(r[1] or "", r[0]) for r in rows], self.size)
        if index.title_sorted is None:
            return None  # ranks worn too thin between two titles: build again
        changed = np.sort(changed)
        p_pos, t_pos = _narrow(index.positions(placements[:, 0])), _narrow(index.positions(tagged[:, 0]))
        p_section, t_label = _narrow(placements[:, 1]), _narrow(tagged[:, 1])
        listed = {name: _narrow(placements[:, i]) for i, name in enumerate(LISTING_ARRAYS, start=2)}
        if changed.size and changed[0] >= self.size:  # new entries only: their rows go at the end
            index.p_pos, index.p_section = _appended(self.p_pos, p_pos), _appended(self.p_section, p_section)
            index.t_pos, index.t_label = _appended(self.t_pos, t_pos), _appended(self.t_label, t_label)
            for name, values in listed.items():
                setattr(index, name, _appended(getattr(self, name), values))
        else:
            dropped = np.zeros(index.size, dtype=bool)
            dropped[changed] = True
            names = ["p_pos", "p_section", *LISTING_ARRAYS]
            followed, removed = _rows_followed(
                [getattr(self, n) for n in names], [p_pos, p_section, *listed.values()], dropped
            )
            for name, values in zip(names, followed, strict=True):
                setattr(index, name, values)
            # The rows kept keep their order: those in section order less the ones taken away.
            index.p_sorted = self.p_sorted - int(np.count_nonzero(removed < self.p_sorted))
            (index.t_pos, index.t_label), _ = _rows_followed([self.t_pos, self.t_label], [t_pos, t_label], dropped)
        index._orders = {sort: index._patched_order(sort, order, changed, self) for sort, order in self._orders.items()}
        if not index._patch_entry_columns(changed):
            index._derive_entry_columns()
        if tree_rows is not None:
            index.tree, index.codes = tree_rows, TreeCodes(tree_rows)
            index._derive_placed_columns()
        else:
            for name, (entry, codes) in index.codes.placement_pairs(p_pos, placements[:, 1]).items():
                index.columns[name] = self.columns[name].patched(changed, entry, codes, index.size)
            label = self.columns["label"]
            index.columns["label"] = label.patched(changed, *index.codes.label_pairs(t_pos, tagged[:, 1]), index.size)
        return index

    def _patched_order(self, sort, order, changed, followed):
        """`order` (that of `followed`) without the changed entries, then each living one
        put back in its place: binary searches, and one copy of the order."""
        old_key = functools.partial(ORDER_KEYS[sort], followed)
        gone, lost = [], False
        for p in changed.tolist():
            if p < followed.size:  # where `followed`'s values put it (a deleted entry may be left out)
                g = bisect.bisect_left(order, old_key(p), key=old_key)
                if g < len(order) and order[g] == p:
                    gone.append(g)
                else:
                    lost = lost or bool(followed.alive[p])
        if lost:  # a living entry not where its values say: look for every changed one
            gone = np.flatnonzero(np.isin(order, changed, kind="table"))
        key = functools.partial(ORDER_KEYS[sort], self)
        back = sorted((p for p in changed.tolist() if self.alive[p]), key=key)
        kept = np.delete(order, gone) if len(gone) else order
        at = [bisect.bisect_left(kept, key(p), key=key) for p in back]
        parts, start = [], 0
        for cut, position in zip(at, back, strict=True):
            parts += [kept[start:cut], np.array([position], dtype=kept.dtype)]
            start = cut
        return np.concatenate([*parts, kept[start:]]) if parts else kept

    def _titled(self, kept, positions, keys, shared_size):
        """The title order `kept` with the entries at `positions` put in, each given a rank
        between its neighbours'; None when no float fits between two ranks. The ranks are
        copied first when one below `shared_size` (those the followed index holds) moves.

        `keys` are their (title key, id). The index holds no titles (at 200,000 entries, their
        Python strings cost more than all its arrays): each search reads the titles it compares
        with from the database, in the caller's snapshot, where the entries of `kept` have the
        titles they were ordered by. A round reads PROBES titles an entry, cutting its range
        PROBES + 1 times: 4 rounds (4 queries) at 1,000,000 entries."""
        lo, hi = np.zeros(len(keys), dtype=np.int64), np.full(len(keys), len(kept), dtype=np.int64)
        while np.any(lo < hi):
            searching = np.flatnonzero(lo < hi).tolist()
            probes = {}
            for i in searching:
                width = hi[i] - lo[i]
                count = min(PROBES, width)
                probes[i] = (lo[i] + np.arange(1, count + 1) * width // (count + 1)).tolist()
            wanted = sorted({int(self.ids[kept[p]]) for i in searching for p in probes[i]})
            title_of = dict(_entries_by_id(f"id, {TITLE_KEY}", wanted))
            if len(title_of) != len(wanted):
                return None  # not the catalog this index holds: build again
            for i in searching:
                for p in probes[i]:  # in title order
                    entry_id = int(self.ids[kept[p]])
                    if (title_of[entry_id] or "", entry_id) >= keys[i]:
                        hi[i] = p
                        break
                    lo[i] = p + 1
        # New entries between the same two neighbours take ranks evenly spaced between theirs.
        if np.any(positions < shared_size):
            self.title_rank = self.title_rank.copy()
        ranks = self.title_rank
        put = sorted(range(len(keys)), key=lambda i: (lo[i], keys[i]))
        for at, group in itertools.groupby(put, key=lambda i: lo[i]):
            group = list(group)
            left = ranks[kept[at - 1]] if at > 0 else None
            right = ranks[kept[at]] if at < len(kept) else None
            steps = np.arange(1, len(group) + 1, dtype=np.float64)
            if left is None and right is None:
                placed = steps - 1
            elif left is None:
                placed = right - steps[::-1]
            elif right is None:
                placed = left + steps
            else:
                placed = left + (right - left) * steps / (len(group) + 1)
                if not np.all(np.diff(np.concatenate(([left], placed, [right]))) > 0):
                    return None
            ranks[positions[group]] = placed
        return np.insert(kept, lo[put], positions[put]).astype(np.int32)

    # --- reading

    def shared_entries(self, topic_id):
        """{topic id: how many published entries it shares with the topic `topic_id`},
        for every other topic sharing at least one (the pages' "Explore related")."""
        column = self.columns["topic_id"]
        mine = column.mask([topic_id]) & self.published & self.alive
        counts = column.counts(mine, np.packbits(mine))
        keys = column.values.keys
        return {keys[code]: int(counts[code]) for code in np.flatnonzero(counts).tolist() if keys[code] != topic_id}

    def memo(self, key, compute):
        """What `compute()` derives from this index's arrays, computed on first use and kept
        (an index never changes: following a write makes a new one, which starts afresh).
        For the few masks and counts every request reads; never written by the caller."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = compute()
        return found

    def visible(self):
        """The entries a list may show: alive and published (a shared mask: do not write)."""
        return self.memo("visible", lambda: self.alive & self.published)

    def topic_listings(self, topic_id, only=None):
        """The listings a topic page orders (`TopicListings`, in no order): the placements in
        its sections of the entries it lists (visible, the link not dead); with `only` (entry
        ids the reader's filters chose), of those of them that are visible."""
        position = self.codes.topic_values["topic_id"].position.get(topic_id, -1)
        at = self.section_rows(self.codes.section_ids[self.codes.topic_codes["topic_id"] == position])
        entry = self.p_pos[at]
        shown = self.visible()[entry]
        if only is None:
            shown &= self.columns["link"].code[entry] != LINK_STATES.position[HIDDEN_LINK_STATE]
        else:
            shown &= np.isin(self.ids[entry], np.fromiter(only, dtype=np.int64, count=len(only)))
        at, entry = at[shown], entry[shown]
        section, pk, parent, position = self.p_section[at], self.p_id[at], self.p_parent[at], self.p_position[at]
        return TopicListings(section, pk, parent, self.year[entry], position)

    def section_rows(self, sections):
        """The rows of the placements in these sections (ids): where each section's run of
        the rows in section order starts and ends (binary searches), then the rows placed
        since the index was built, at the end; a topic page reads only its own rows."""
        head, sections = self.p_section[: self.p_sorted], np.asarray(sections, dtype=np.int64)
        if head.dtype != sections.dtype:  # searched in the rows' own type, not a copy of them
            sections = sections[sections <= np.iinfo(head.dtype).max].astype(head.dtype)
        starts = np.searchsorted(head, sections)
        runs = spans(starts, np.searchsorted(head, sections, side="right") - starts)
        tail = self.p_section[self.p_sorted :]
        later = np.flatnonzero(np.isin(tail, sections, kind="table")) + self.p_sorted if len(sections) else runs[:0]
        return np.concatenate([runs, later]).astype(np.intp, copy=False)

    def number_of_id(self):
        """Each id's entry number (-1: none) for ids up to the highest, kept with the index;
        None when ids are too sparse for such a table (a binary search each, then)."""
        if self.size and int(self.ids[-1]) >= 4 * self.size + 1024:
            return None

        def table():
            numbers = np.full(int(self.ids[-1]) + 1 if self.size else 0, -1, dtype=np.int32)
            numbers[self.ids] = np.arange(self.size, dtype=np.int32)
            return numbers

        return self.memo("number of id", table)

    def visible_count(self):
        return self.memo("visible count", lambda: int(np.count_nonzero(self.visible())))

    def positions(self, entry_ids):
        """Entry numbers for ids, in the given order, leaving out unknown ids."""
        return self.located(entry_ids)[0]

    def located(self, entry_ids):
        """(the entry numbers of the ids this index holds, in the given order; which of
        `entry_ids` it holds, a mask over them)."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        if not self.size:
            return ids[:0], np.zeros(len(ids), dtype=bool)
        table = self.number_of_id() if len(ids) > LOOKUP_FROM else None
        if table is not None:  # many ids (a broad search's): a lookup each, not a binary search
            inside = (ids >= 0) & (ids < len(table))
            numbers = np.full(len(ids), -1, dtype=table.dtype)
            numbers[inside] = table[ids[inside]]
            known = numbers >= 0
            return numbers[known], known
        fits = True
        if self.ids.dtype != ids.dtype:  # searched in the ids' own type (not a 64-bit copy of them)
            fits = (ids >= np.iinfo(self.ids.dtype).min) & (ids <= np.iinfo(self.ids.dtype).max)
            ids = np.where(fits, ids, 0).astype(self.ids.dtype)
        pos = np.clip(np.searchsorted(self.ids, ids), 0, self.size - 1)
        known = (self.ids[pos] == ids) & fits
        return pos[known], known

    def order(self, sort):
        """A result order (a permutation of entry numbers), computed on first use."""
        if sort not in ORDERS:
            sort = "newest"
        if sort not in self._orders:
            self._orders[sort] = ORDERS[sort](self).astype(np.int32)  # half the memory of numpy's int64
        return self._orders[sort]

    def group_keys(self, group):
        return _group_keys(self, group)


# Each result order as a sort key of one entry number, for following a write
# (ties never happen: the entry number ends every key).
ORDER_KEYS = {
    "newest": lambda ix, p: (-ix.year[p], ix.title_rank[p], p),
    "stars": lambda ix, p: (-ix.stars[p], -ix.year[p], p),
    "rating": lambda ix, p: (-ix.rating[p], -ix.year[p], ix.title_rank[p], p),
    "title": lambda ix, p: (ix.title_rank[p], p),
    "added": lambda ix, p: (-ix.created[p], -p),
    # Reversed (a table column's heading chosen again): the first key turned round, none still last.
    "-newest": lambda ix, p: (ix.year[p] == 0, ix.year[p], ix.title_rank[p], p),
    "-stars": lambda ix, p: (ix.stars[p] < 0, ix.stars[p], -ix.year[p], p),
    "-rating": lambda ix, p: (ix.rating[p] == 0, ix.rating[p], -ix.year[p], ix.title_rank[p], p),
    "-title": lambda ix, p: (-ix.title_rank[p], p),
    "-added": lambda ix, p: (ix.created[p], p),
}
# ...and the same orders for all entries at once.
ORDERS = {
    "newest": lambda ix: np.lexsort((ix.title_rank, -ix.year)),
    "stars": lambda ix: np.lexsort((ix.ids, -ix.year, -ix.stars)),
    "rating": lambda ix: np.lexsort((ix.title_rank, -ix.year, -ix.rating.astype(np.int32))),
    "title": lambda ix: np.argsort(ix.title_rank, kind="stable"),
    "added": lambda ix: np.lexsort((-ix.ids, -ix.created)),
    "-newest": lambda ix: np.lexsort((ix.title_rank, ix.year, ix.year == 0)),
    "-stars": lambda ix: np.lexsort((ix.ids, -ix.year, ix.stars, ix.stars < 0)),
    "-rating": lambda ix: np.lexsort((ix.title_rank, -ix.year, ix.rating.astype(np.int32), ix.rating == 0)),
    "-title": lambda ix: np.lexsort((ix.ids, -ix.title_rank)),
    "-added": lambda ix: np.lexsort((ix.ids, ix.created)),
}


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
            Label.objects.public()
            .order_by("group__position", "position", "name")
            .values_list("slug", "name", "group__slug")
        )
        self.groups = list(LabelGroup.objects.public().order_by("position", "id").values_list("slug", "name"))
        self.label_group = [group for _, _, group in labels]
        label = SimpleNamespace(values=Values([slug for slug, _, _ in labels], [name for _, name, _ in labels]))
        anything = SimpleNamespace(values=SimpleNamespace(position=AnyKey()))
        self.columns = defaultdict(lambda: anything, label=label)
        self.tree = None  # the pages read their sections themselves

    def shared_entries(self, topic_id):
        return None  # pages.related_topics() counts them in SQL

    def topic_listings(self, topic_id, only=None):
        return None  # pages.topic_outline() reads them in SQL

    label = property(lambda self: self.columns["label"])
    group_keys = _group_keys


_lock = threading.Lock()
_index = None


class IndexUnavailable(Exception):
    """The index could not be built: the caller serves the page from SQL."""


def get_index(version=None):
    """This process's index for the current data version, brought up to date when it changed.

    Raises IndexUnavailable (never anything else) when the build fails, so a
    page can fall back to SQL instead of answering 500. A process that serves
    pages also follows the change log between requests (`catalog/index_follower.py`),
    so a request usually finds the index current already.
    """
    version = version or current_version()
    index = _index
    if index is None or index.version != version:
        index = refresh(version)
    from . import index_follower  # it imports this module

    index_follower.ensure_following()
    return index


def refresh(version):
    """Bring this process's index to `version` (or later): follow the change log, or
    build it whole when that cannot be done. Requests and the follower share one lock,
    so a request arriving while the follower catches up waits for it instead of doing
    the same work again."""
    global _index
    with _lock:
        if _index is not None and _index.version == version:
            return _index
        try:
            built = _index.caught_up() if _index is not None else None
            if built is None:
                built = FacetIndex.load()
        except Exception as exc:  # any failure: a slower page, never an error page
            logger.exception("facet index build failed; serving from SQL")
            raise IndexUnavailable from exc
        _index = built
    trim_heap()  # what the index replaced held, and the build's or catch-up's temporaries
    return built


def current_index():
    """The index this process holds now, current or not (None before the first build)."""
    return _index


def _after_fork_in_child():
    # A lock held by another thread at fork time would never be released in the child.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def trim_heap():
    """Hand the heap's free pages back to the system (glibc's `malloc_trim`): a full build
    frees its rows and temporary arrays, but the C heap keeps its free pages otherwise."""
    with suppress(OSError, AttributeError):  # not glibc
        _libc().malloc_trim(0)


@functools.cache
def _libc():
    return ctypes.CDLL(None)


MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter


@functools.cache
def fixed_mmap_threshold():
    """Have glibc give an allocation of `MMAP_THRESHOLD` bytes or more pages of its own,
    handed back to the system when it is freed (once a process, in each that serves pages).
    glibc otherwise raises that threshold to the size of the largest block freed, up to 32
    MiB, and then keeps a page's temporary arrays (masks, gathers and counts of a million
    entries) in its heap: a worker at 1,000,000 entries held 25-35 MiB more after a browse
    page, until the next `trim_heap()` (bench/worker_memory.py)."""
    with suppress(OSError, AttributeError):  # not glibc
        _libc().mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def prepare_fork():
    """In a server's parent process, before it forks a worker (gunicorn's `preload_app`,
    `meshportal/prefork.py`): build this process's index and the search's
    (`catalog/search_index.py`), or catch them up from the change log, so that the worker
    starts with them at no cost and shares their memory pages with the parent and the other
    workers (copy-on-write) until it follows a write; then let go of what a child must not
    share (database connections, PostgreSQL's connection pool, cache clients) and freeze the
    objects made so far, so that the children's garbage collector never writes to their
    pages. Each worker then follows the change log as usual."""
    from . import search_index  # it imports this module

    fixed_mmap_threshold()  # inherited by the workers
    version = current_version()
    with suppress(IndexUnavailable):  # else the workers build it themselves
        refresh(version).order("newest")  # not get_index(): no follower thread in the parent
    text = search_index.get_text_index(version)  # the search's own index, shared the same way
    # File-backed pages (`catalog/arrays.py`): a worker's memory holds only those it reads.
    mapped(_index, text)  # with the default order, which a worker would otherwise sort first
    for conn in connections.all(initialized_only=True):
        conn.close()
        if conn.vendor == "postgresql":
            conn.close_pool()
    caches.close_all()
    gc.collect()
    trim_heap()
    gc.freeze()
