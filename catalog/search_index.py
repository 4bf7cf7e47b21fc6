"""The full-text search's inverted index, in memory: the database's own terms.

A broad query (`kubernetes`: 33,585 matches at 200,000 entries) costs the
database 44-204 ms just to list its matches, and 155-315 ms ranked. This index
answers the same queries from numpy arrays in a few milliseconds, with the
same matches and the same order, because everything it holds comes from the
database itself:

- the terms and postings are the search index's own: SQLite FTS5's, read
  through an `fts5vocab` table (term, entry, column of every token); the
  PostgreSQL `search_document` tsvectors' lexemes with their weights;
- a query's words become terms the way the database makes them: SQLite
  tokenises each phrase with the same FTS5 tokenizer (a private in-memory
  table); PostgreSQL normalises the whole query (`search.Query.tsquery_sql()`);
- ranks are the database's formulas: FTS5's bm25 with the column weights
  (it needs only each term's count per column and each row's length), and
  `ts_rank_cd` for a query whose positive part is one term or an OR of terms
  (each occurrence is then a cover of its own: the sum of its weights).

What it cannot answer exactly it leaves to SQL (`answer()` returns None):
phrases of more than one term (they need positions, which are not kept), and
on PostgreSQL the rank of a query with two positive terms ANDed (cover
density needs positions too; the matches still come from here and the
database ranks only those).

It follows writes through the change log like the facet index: the entries
logged since it was built are read again (their tokens), their old postings
are masked out of the big arrays (`stale`) and their new ones kept in a small
sorted `delta`; a full build when the log was pruned past it, a table was
emptied, or the delta grew large.
"""

import bisect
import logging
import math
import os
import re
import sqlite3
import threading
from functools import cache, lru_cache

import numpy as np
from django.db import connection

from .dbsync import FTS_COLUMNS
from .facet_index import _fetch, current_state, current_version, logged_since, snapshot, trim_heap
from .facet_index import _in_chunks as _fetch_in
from .models import Entry, Label, TaggedEntry
from .search import Matches

logger = logging.getLogger(__name__)

# bm25's column weights, in the FTS table's column order (title, description, url, labels).
FTS_WEIGHTS = (10.0, 2.0, 1.0, 5.0)
FTS_COLUMN_NAMES = ("title", "description", "url", "labels")
BM25_K1, BM25_B = 1.2, 0.75
# ts_rank_cd's default weights of D, C, B, A, and what one occurrence of each adds
# to a cover-of-one's rank, computed as PostgreSQL does (1 / (1 / float4 weight)).
TS_WEIGHTS = (0.1, 0.2, 0.4, 1.0)
TS_COVER = np.array([1.0 / (1.0 / float(np.float32(w))) for w in TS_WEIGHTS])
# More entries re-read since the last full build than this: build again.
MAX_STALE = 20_000
ROWS = 2_000  # terms parsed at once while building


# --- the arrays -----------------------------------------------------------------------------


class Postings:
    """Terms (UTF-8 bytes, sorted) and, for each, its entries and values.

    `starts[t]:starts[t + 1]` are term t's postings, by entry id. The values
    are, on SQLite, the bm25 weighted count (each occurrence adds its column's
    weight); on PostgreSQL, the count of occurrences of each weight D, C, B, A.
    Terms sharing a prefix are neighbours, so a prefix's postings are one slice.
    """

    def __init__(self, terms, term_code, docs, values):
        self.blob = b"".join(terms)
        self.offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in terms], out=self.offsets[1:])
        self.starts = np.searchsorted(term_code, np.arange(len(terms) + 1)).astype(np.int64)
        self.docs, self.values = docs, values

    def __len__(self):
        return len(self.offsets) - 1

    def term(self, i):
        return self.blob[self.offsets[i] : self.offsets[i + 1]]

    def span(self, prefix, exact=False):
        """The posting slice of the terms starting with `prefix` (equal to it when `exact`)."""
        terms = range(len(self))
        lo = bisect.bisect_left(terms, prefix, key=self.term)
        # 0xff never occurs in UTF-8: every term longer than the prefix sorts before prefix + 0xff.
        hi = bisect.bisect_right(terms, prefix, lo, key=self.term) if exact else None
        if hi is None:
            hi = bisect.bisect_left(terms, prefix + b"\xff", lo, key=self.term)
        return int(self.starts[lo]), int(self.starts[hi])


def _bytes_array(terms):
    return np.array(terms, dtype=np.bytes_) if len(terms) else np.zeros(0, dtype="S1")


class Delta:
    """The postings of the entries re-read since the full build, sorted by term (only:
    a query adds up the postings of a slice of terms, in any order)."""

    def __init__(self, terms=None, docs=None, values=None):
        self.terms = _bytes_array([]) if terms is None else terms
        self.docs = np.zeros(0, dtype=np.int64) if docs is None else docs
        self.values = values

    def span(self, prefix, exact=False):
        terms = self.terms
        if len(prefix) + 1 > terms.dtype.itemsize:  # compared at the array's width: widen it first
            terms = terms.astype(f"S{len(prefix) + 1}")
        lo = int(np.searchsorted(terms, prefix))
        hi = np.searchsorted(terms, prefix, side="right") if exact else np.searchsorted(terms, prefix + b"\xff")
        return lo, int(hi)

    def replaced(self, changed, terms, docs, values):
        """These postings without those of the `changed` entries, plus the new ones (merged
        in: one copy of the arrays, however many postings the delta holds)."""
        keep = ~np.isin(self.docs, changed)
        new = _bytes_array(terms)
        kept = self.terms[keep]
        width = max(kept.dtype.itemsize, new.dtype.itemsize)
        kept, new = kept.astype(f"S{width}", copy=False), new.astype(f"S{width}", copy=False)
        order = np.argsort(new, kind="stable")
        at = np.searchsorted(kept, new[order], side="right")
        docs, values = np.asarray(docs, dtype=np.int64)[order], values[order]
        if self.values is not None:  # in a type that holds both (np.insert casts to the array's)
            dtype = np.promote_types(self.values.dtype, values.dtype)
            values = np.insert(self.values[keep].astype(dtype, copy=False), at, values, axis=0)
        return Delta(np.insert(kept, at, new[order]), np.insert(self.docs[keep], at, docs), values)


def _collect(cursor, width, dtype):
    """The postings of the rows the cursor yields, (term, count, "id,value,...,id,value,...")
    each: (sorted terms, term code of each posting, entry ids, values), sorted by term
    then entry, the values of a repeated (term, entry) pair summed. Read a few
    thousand terms at a time, so that only the compact arrays are ever held whole."""
    terms, codes, docs, values = [], [], [], []
    while rows := cursor.fetchmany(ROWS):
        first = len(terms)
        counts = []
        for term, count, _ in rows:
            terms.append(term.encode())
            counts.append(count)
        numbers = np.fromstring(",".join(r[2] for r in rows), dtype=np.int64, sep=",").reshape(-1, 1 + width)
        code, doc = np.repeat(np.arange(first, len(terms)), counts), numbers[:, 0]
        by = np.lexsort((doc, code))
        code, doc, value = code[by], doc[by], numbers[by, 1:]
        new = np.ones(len(code), dtype=bool)
        new[1:] = (code[1:] != code[:-1]) | (doc[1:] != doc[:-1])
        cuts = np.flatnonzero(new)
        codes.append(code[cuts].astype(np.int32))
        docs.append(doc[cuts].astype(np.int32))
        values.append(np.add.reduceat(value, cuts, axis=0).astype(dtype))
    if not terms:
        return [], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, width), dtype)
    code, doc, value = np.concatenate(codes), np.concatenate(docs), np.concatenate(values)
    order = sorted(range(len(terms)), key=terms.__getitem__)
    if order != list(range(len(terms))):  # the rows did not come in bytes order
        rank = np.empty(len(terms), dtype=np.int32)
        rank[order] = np.arange(len(terms), dtype=np.int32)
        by = np.argsort(rank[code], kind="stable")
        code, doc, value = rank[code][by], doc[by], value[by]
    return [terms[i] for i in order], code, doc, value


def _packed(counts):
    """Four counts of 0-15 a row (D, C, B, A) as one 16-bit number."""
    counts = counts.astype(np.uint16)
    return counts[:, 0] | counts[:, 1] << 4 | counts[:, 2] << 8 | counts[:, 3] << 12


def _unpacked(packed):
    return np.stack([(packed >> shift) & 15 for shift in (0, 4, 8, 12)], axis=1).astype(np.uint8)


def _narrow(values):
    """The values in the smallest unsigned type that holds them."""
    top = int(values.max(initial=0))
    return values.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)


# --- reading the database's own terms -----------------------------------------------------


VOCAB = "meshportal_fts_instance"
_COLUMN_WEIGHT = " ".join(f"WHEN '{n}' THEN {int(w)}" for n, w in zip(FTS_COLUMN_NAMES, FTS_WEIGHTS, strict=True))
# One row a term: its tokens, and "entry,column weight,1" of each (the 1s add up to the row's length).
SQLITE_TERMS = (
    f"SELECT term, count(*), group_concat(doc || ',' || (CASE col {_COLUMN_WEIGHT} END) || ',1', ',')"  # noqa: S608
    " FROM temp.{vocab} GROUP BY term"
)
# One row a (lexeme, weight): the entry id (4 bytes) and the lexeme's occurrences of that
# weight in it (2 bytes) of each entry; raw bytes cost PostgreSQL a fraction of formatted text.
PG_WEIGHTS = "dcba"  # the columns of the values, in TS_WEIGHTS' order
PG_TERMS = (
    "SELECT t.lexeme, w::text, string_agg(int4send(e.id::int4) || int2send(cardinality(t.positions)::int2), ''::bytea)"
    " FROM catalog_entry e, unnest(ARRAY['d', 'c', 'b', 'a']::\"char\"[]) w,"
    " unnest(ts_filter(e.search_document, ARRAY[w])) t {where} GROUP BY t.lexeme, w"
)
PG_POSTING = np.dtype([("id", ">i4"), ("n", ">i2")])


def _collect_lexemes(cursor):
    """`_collect()` of `PG_TERMS` rows: the values are the occurrences of each weight D, C, B, A."""
    terms, codes, docs, weights, counts = {}, [], [], [], []
    while rows := cursor.fetchmany(ROWS):
        sizes = []
        for lexeme, weight, postings in rows:
            sizes.append(len(postings) // PG_POSTING.itemsize)
            codes.append(terms.setdefault(lexeme.encode(), len(terms)))
            weights.append(PG_WEIGHTS.index(weight))
        found = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=PG_POSTING)
        docs.append(found["id"].astype(np.int32))
        counts.append((np.repeat(np.arange(len(codes) - len(rows), len(codes)), sizes), found["n"].astype(np.uint16)))
    if not terms:
        return [], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, 4), np.uint16)
    row = np.concatenate([r for r, _ in counts])
    code, weight = np.array(codes, dtype=np.int32)[row], np.array(weights, dtype=np.int8)[row]
    doc, count = np.concatenate(docs), np.concatenate([n for _, n in counts])
    words = list(terms)
    order = sorted(range(len(words)), key=words.__getitem__)
    rank = np.empty(len(words), dtype=np.int32)
    rank[order] = np.arange(len(words), dtype=np.int32)
    code = rank[code]
    by = np.lexsort((doc, code))
    code, doc, weight, count = code[by], doc[by], weight[by], count[by]
    values = np.zeros((len(code), 4), dtype=np.uint16)
    values[np.arange(len(code)), weight] = count
    new = np.ones(len(code), dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (doc[1:] != doc[:-1])
    cuts = np.flatnonzero(new)
    return [words[i] for i in order], code[cuts], doc[cuts], np.add.reduceat(values, cuts, axis=0)


class Tokenizer:
    """FTS5's tokenizer as the search table is made (`dbsync.FTS_COLUMNS`), in a private
    in-memory database: the terms of a query's phrase, and of entries' stored text."""

    def __init__(self):
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        self.db.execute(f"CREATE VIRTUAL TABLE fts USING fts5({FTS_COLUMNS})")
        self.db.execute(f"CREATE VIRTUAL TABLE temp.{VOCAB} USING fts5vocab(main, fts, 'instance')")

    def postings(self, rows):
        """`_collect()` of rows (id, title, description, url, labels) as the search table holds them."""
        with self.lock:
            self.db.executemany("INSERT INTO fts (rowid, title, description, url, labels) VALUES (?, ?, ?, ?, ?)", rows)
            try:
                return _collect(self.db.execute(SQLITE_TERMS.format(vocab=VOCAB)), 2, np.uint32)
            finally:
                self.db.execute("DELETE FROM fts")

    @lru_cache(maxsize=4096)  # noqa: B019 - one tokenizer a process, never freed
    def terms(self, text):
        """The terms FTS5 makes of a phrase (lowercased, folded, stemmed), in order."""
        with self.lock:
            self.db.execute("INSERT INTO fts (rowid, title) VALUES (1, ?)", [text])
            try:
                rows = self.db.execute(f"SELECT term FROM temp.{VOCAB} ORDER BY offset").fetchall()  # noqa: S608
            finally:
                self.db.execute("DELETE FROM fts")
        return tuple(r[0].encode() for r in rows)


_tokenizer_lock = threading.Lock()
_tokenizer = None


def tokenizer():
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            _tokenizer = Tokenizer()
        return _tokenizer


def _public_labels():
    """{label id: (name, group id)} of the labels the search holds (`catalog.visibility`)."""
    return {pk: (name, group) for pk, name, group in Label.objects.public().values_list("id", "name", "group_id")}


def _read_all(vendor):
    """Every posting, from the search index itself, and every entry id (in the current snapshot)."""
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{VOCAB} USING fts5vocab(main, catalog_entry_fts, 'instance')"
            )
            cursor.execute(SQLITE_TERMS.format(vocab=VOCAB))
            found = _collect(cursor, 2, np.uint32)
        else:
            cursor.execute("SET LOCAL work_mem = '128MB'")  # the grouping in memory, not on disk
            cursor.execute(PG_TERMS.format(where=""))
            found = _collect_lexemes(cursor)
    ids = np.array([r[0] for r in _fetch(f"SELECT id FROM {Entry._meta.db_table}")], dtype=np.int64)  # noqa: S608
    return found, ids


def _read_entries(vendor, ids):
    """`_collect()` of some entries' postings."""
    if vendor == "sqlite":
        sql = "SELECT rowid, title, description, url, labels FROM catalog_entry_fts WHERE rowid IN ({marks})"
        return tokenizer().postings(_fetch_in(sql, ids))
    if not ids:
        return [], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, 4), np.uint16)
    with connection.cursor() as cursor:  # a handful of entries a write: one query
        cursor.execute(PG_TERMS.format(where=f"WHERE e.id IN ({', '.join(['%s'] * len(ids))})"), ids)
        return _collect_lexemes(cursor)


# --- the index ------------------------------------------------------------------------------


class TextIndex:
    """The search index's postings at one data version (see the module docstring)."""

    def __init__(self, vendor, version, seq, found, ids, labels):
        terms, code, docs, values = found
        self.vendor, self.version, self.seq, self.labels = vendor, version, seq, labels
        size = int(max(ids.max(initial=0), docs.max(initial=0))) + 1
        self.present = np.zeros(size, dtype=bool)
        self.present[ids] = True
        self.lengths = None
        if vendor == "sqlite":  # bm25 reads each row's length in tokens (all columns), and their sum
            self.lengths = np.bincount(docs, weights=values[:, 1], minlength=size).astype(np.int32)
            self.tokens = int(self.lengths.sum(dtype=np.int64))
            values = values[:, 0]
        self.rows = int(self.present.sum())
        # PostgreSQL: four counts of at most 15 (nearly always) fit in 16 bits, half the memory.
        self.packed = vendor == "postgresql" and int(values.max(initial=0)) <= 15
        values = _packed(values) if self.packed else _narrow(values)
        self.base = Postings(terms, code, docs.astype(np.int32), values)
        self.stale = np.zeros(size, dtype=bool)
        self.delta = Delta()
        self.restaled = 0

    @classmethod
    def load(cls):
        """Read the search index in one snapshot and build."""
        with snapshot():
            version, seq = current_state()
            found, ids = _read_all(connection.vendor)
            labels = _public_labels()
        return cls(connection.vendor, version, seq, found, ids, labels)

    # --- following the change log

    def caught_up(self):
        """A new index with the entries logged since this one was read; None when a full build is due."""
        with snapshot():
            version = current_version()
            logged = logged_since(self.seq)
            if logged is None:
                return None
            seq, changed = logged
            labels = self.labels
            if None in changed:  # the tree or the labels: a renamed label changes its entries' text
                labels = _public_labels()
                renamed = [pk for pk in set(labels) | set(self.labels) if labels.get(pk) != self.labels.get(pk)]
                tagged = TaggedEntry._meta.db_table
                sql = f"SELECT DISTINCT content_object_id FROM {tagged} WHERE tag_id IN ({{marks}})"  # noqa: S608
                changed = set(changed) | {r[0] for r in _fetch_in(sql, renamed)}
            ids = sorted(i for i in changed if i is not None)
            if self.restaled + len(ids) > MAX_STALE:
                return None
            sql = f"SELECT id FROM {Entry._meta.db_table} WHERE id IN ({{marks}})"  # noqa: S608 - a model's table
            exists = sorted(r[0] for r in _fetch_in(sql, ids))
            found = _read_entries(self.vendor, exists)
        return self._patched(version, seq, labels, np.array(ids, dtype=np.int64), exists, found)

    def _patched(self, version, seq, labels, changed, exists, found):
        terms, code, docs, values = found
        index = object.__new__(TextIndex)
        index.__dict__.update(self.__dict__)
        index.version, index.seq, index.labels = version, seq, labels
        size = max(len(self.present), int(changed.max(initial=-1)) + 1)

        def grown(array):
            return np.concatenate([array, np.zeros(size - len(array), dtype=array.dtype)])

        index.present, index.stale = grown(self.present), grown(self.stale)
        index.present[changed] = False
        index.present[np.array(exists, dtype=np.int64)] = True
        index.stale[changed] = True
        index.restaled = self.restaled + len(changed)
        index.rows = int(index.present.sum())
        if self.vendor == "sqlite":
            index.lengths = grown(self.lengths)
            index.tokens = self.tokens - int(index.lengths[changed].sum(dtype=np.int64))
            index.lengths[changed] = 0
            np.add.at(index.lengths, docs, values[:, 1])
            index.tokens += int(values[:, 1].sum(dtype=np.int64))
            values = values[:, 0]
        posting_terms = [terms[c] for c in code.tolist()]
        index.delta = self.delta.replaced(changed, posting_terms, docs, _narrow(values))
        return index

    # --- reading

    def postings(self, prefix, exact=False):
        """(entry ids, values) of the terms starting with `prefix` (equal to it when `exact`)."""
        lo, hi = self.base.span(prefix, exact)
        docs, values = self.base.docs[lo:hi], self.base.values[lo:hi]
        fresh = ~self.stale[docs]
        docs, values = docs[fresh], _unpacked(values[fresh]) if self.packed else values[fresh]
        lo, hi = self.delta.span(prefix, exact)
        if hi > lo:
            docs = np.concatenate([docs, self.delta.docs[lo:hi]])
            values = np.concatenate([values, self.delta.values[lo:hi]])
        return docs, values

    def frequencies(self, prefix):
        """Over entry ids: the bm25 weighted count of the terms starting with `prefix` (SQLite)."""
        docs, values = self.postings(prefix)
        return np.bincount(docs, weights=values, minlength=len(self.present))

    def has(self, span, postings=None):
        """Over entry ids: True where a term of the (prefix, exact) span occurs. `postings`:
        this index's `postings`, or a query's copy that reads each span once."""
        found = np.zeros(len(self.present), dtype=bool)
        found[(postings or self.postings)(*span)[0]] = True
        return found

    def cover_ranks(self, spans, postings=None):
        """ts_rank_cd over entry ids, for a query whose positive part is these spans ORed:
        each occurrence is a cover of its own and adds its weight's value, once
        however many of the spans hold its lexeme. `postings`: as for `has()`."""
        ranks = np.zeros(len(self.present), dtype=np.float64)
        for span in _disjoint(spans):
            docs, values = (postings or self.postings)(*span)
            ranks += np.bincount(docs, weights=values @ TS_COVER, minlength=len(self.present))
        return ranks.astype(np.float32)

    def bm25(self, ids, phrase_frequencies):
        """FTS5's bm25 (FTS_WEIGHTS) of the entries `ids`, given each phrase's weighted
        count over entry ids in the query's order, in FTS5's order of operations."""
        rows = self.rows
        avgdl = self.tokens / rows
        length = self.lengths[ids].astype(np.float64)
        score = np.zeros(len(ids), dtype=np.float64)
        for frequency in phrase_frequencies:
            hits = int(np.count_nonzero(frequency))
            idf = math.log((rows - hits + 0.5) / (hits + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            f = frequency[ids]
            score += idf * ((f * (BM25_K1 + 1.0)) / (f + BM25_K1 * (1 - BM25_B + BM25_B * length / avgdl)))
        return -1.0 * score


def _disjoint(spans):
    """The spans without those another holds (a lexeme's positions count once in a cover)."""
    prefixes, kept = sorted({p for p, exact in spans if not exact}), []
    for prefix in prefixes:
        if not kept or not prefix.startswith(kept[-1]):
            kept.append(prefix)
    exact = sorted({p for p, e in spans if e and not any(p.startswith(k) for k in kept)})
    return [(p, False) for p in kept] + [(p, True) for p in exact]


# --- one index a process --------------------------------------------------------------------


_lock = threading.Lock()
_index = None


def get_text_index(version=None):
    """This process's text index at the data `version` (or a later one), following the
    change log; None when it cannot be built (the database answers; the failure is logged)."""
    global _index
    version = version or current_version()
    if _index is not None and _index.version == version:
        return _index
    with _lock:
        if _index is None or _index.version != version:
            built = _followed(_index)
            if built is None:
                return None  # the last good index stays, for the follower and the next request
            _index = built
            trim_heap()  # what the index replaced held, and the build's rows
        return _index


def current_text_index():
    """The text index this process holds now, current or not (None before the first build)."""
    return _index


def _after_fork_in_child():
    # Locks held by another thread at fork time would never be released in the child, and an
    # SQLite connection must not cross a fork: the child makes its own tokenizer. The index's
    # arrays stay (shared with the parent until written, which they never are).
    global _lock, _tokenizer_lock, _tokenizer
    _lock, _tokenizer_lock, _tokenizer = threading.Lock(), threading.Lock(), None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _followed(index):
    try:
        if index is not None and index.vendor == connection.vendor:
            try:
                caught = index.caught_up()
            except Exception:  # the kept index cannot follow: build it whole
                logger.exception("search index could not follow the change log; building it again")
                caught = None
            if caught is not None:
                return caught
        return TextIndex.load()
    except Exception:  # any failure: the database answers instead
        logger.exception("search index build failed; searching in SQL")
        return None


# --- answering a query ----------------------------------------------------------------------


def answer(parsed, *, ranked, version=None):
    """The ids `search.matching_ids()` gives for the parsed query (best first when
    `ranked`, else by id), or None when this index cannot answer it exactly."""
    found = matches(parsed, ranked=ranked, version=version)
    return None if found is None else found.ranked_ids()


def matches(parsed, *, ranked, version=None):
    """`answer()` as `search.Matches`: the ids ascending and, when ranked, each one's sort
    key (the database's rank), so that a page sorts only what it shows."""
    index = get_text_index(version)
    if index is None:
        return None
    if index.vendor == "sqlite":
        return _fts5_answer(index, parsed, ranked)
    return _tsquery_answer(index, parsed, ranked)


def _only_excluded(index, hit):
    """A query of exclusions only: every entry but those (by id)."""
    return Matches(np.flatnonzero(index.present & ~hit))


def _fts5_answer(index, parsed, ranked):
    def term(t):
        terms = tokenizer().terms(" ".join(t.words))
        return terms[0] if len(terms) == 1 else None  # a phrase of several terms needs positions

    clauses = [[term(t) for t in clause] for clause in parsed.clauses]
    excluded = [term(t) for t in parsed.excluded]
    if None in excluded or any(None in clause for clause in clauses):
        return None
    frequencies = {}

    def frequency(prefix):
        if prefix not in frequencies:
            frequencies[prefix] = index.frequencies(prefix)
        return frequencies[prefix]

    def any_of(prefixes):
        hit = np.zeros(len(index.present), dtype=bool)
        for prefix in prefixes:
            hit |= frequency(prefix) > 0
        return hit

    if not clauses:
        return _only_excluded(index, any_of(excluded))
    match = index.present & ~any_of(excluded)
    for clause in clauses:
        match &= any_of(clause)
    ids = np.flatnonzero(match)
    if not ranked or not len(ids):
        return Matches(ids)
    # Every phrase of the expression, in its order: the clauses' terms, then the excluded.
    scores = index.bm25(ids, [frequency(p) for p in [*(p for clause in clauses for p in clause), *excluded]])
    return Matches(ids, scores)  # ids ascending: by score, then id, as FTS5's ORDER BY bm25


@lru_cache(maxsize=4096)
def _normalised(sql, params):
    """PostgreSQL's own reading of a query's tsquery (stop words out, words stemmed)."""
    return _fetch(f"SELECT ({sql})::text", params)[0][0]  # noqa: S608 - made by search.Query


TSQUERY_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|'')*)'(:\*)?|(&|\||!|\(|\))|(\S))")


def _parse_tsquery(text):
    """A tsquery's text as a tree: ("term", bytes, prefix), ("not", x), ("and" | "or", [x, ...]);
    None for what this index does not evaluate (phrases, weights)."""
    tokens = []
    for lexeme, star, operator, other in TSQUERY_TOKEN.findall(text):
        if other:
            return None
        tokens.append(operator or ("term", lexeme.replace("''", "'").encode(), bool(star)))
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def joined(kind, operator, part):
        items = [part()]
        while peek() == operator:
            take()
            items.append(part())
        return items[0] if len(items) == 1 else (kind, items)

    def unary():
        item = take()
        if item == "!":
            return ("not", unary())
        if item == "(":
            inner = joined("or", "|", lambda: joined("and", "&", unary))
            if take() != ")":
                raise ValueError(text)
            return inner
        if isinstance(item, tuple):
            return item
        raise ValueError(text)

    if not tokens:
        return ("or", [])
    try:
        tree = joined("or", "|", lambda: joined("and", "&", unary))
    except (IndexError, ValueError):
        return None
    return tree if position == len(tokens) else None


def _evaluate(index, node, postings):
    kind = node[0]
    if kind == "term":
        return index.has((node[1], not node[2]), postings)
    if kind == "not":
        return ~_evaluate(index, node[1], postings)
    parts = [_evaluate(index, item, postings) for item in node[1]]
    if not parts:
        return np.zeros(len(index.present), dtype=bool)
    combine = np.logical_and if kind == "and" else np.logical_or
    return combine.reduce(parts)


def _positive(node):
    """The spans of the terms not under a NOT, when no two of them are ANDed (None otherwise)."""
    kind = node[0]
    if kind == "term":
        return [(node[1], not node[2])]
    if kind == "not":
        return []
    parts = [_positive(item) for item in node[1]]
    if None in parts:
        return None
    if kind == "and" and sum(1 for p in parts if p) > 1:
        return None
    return [span for part in parts for span in part]


def _tsquery_answer(index, parsed, ranked):
    query = parsed if parsed else type(parsed)(clauses=[tuple(parsed.excluded)])
    sql, params = query.tsquery_sql()
    tree = _parse_tsquery(_normalised(sql, tuple(params)))
    if tree is None or (parsed and _positive(tree) == []):
        return None  # phrases; or nothing positive left (stop words) to match
    postings = cache(index.postings)  # each span read once: matched, then ranked
    hit = _evaluate(index, tree, postings) & index.present
    if not parsed:
        return _only_excluded(index, hit)
    ids = np.flatnonzero(hit)
    if not ranked or not len(ids):
        return Matches(ids)
    spans = _positive(tree)
    if spans is not None:
        ranks = index.cover_ranks(spans, postings)[ids]
    else:  # two terms ANDed: cover density needs positions; the database ranks these entries only
        rows = dict(
            _fetch(
                f"SELECT id, ts_rank_cd(search_document, {sql}) FROM catalog_entry WHERE id = ANY(%s)",  # noqa: S608
                [*params, ids.tolist()],
            )
        )
        ranks = np.array([rows[i] for i in ids.tolist()], dtype=np.float32)
    return Matches(ids, -ranks.astype(np.float64))  # by rank, best first, then id
