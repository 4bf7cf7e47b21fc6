"""Full-text search behind one function, and safe highlighting of matches.

SQLite uses the FTS5 table catalog_entry_fts; PostgreSQL the tsvector column
catalog_entry.search_document. Database triggers keep both in sync on every
write (migration 0002), bulk loads included.

The query syntax is what readers expect from search engines: words match as
prefixes and all must match; `-word` leaves out what has it; `"two words"`
is a phrase; `envoy OR linkerd` is either. `parse_query()` reads it once into
a `Query`, which becomes an FTS5 expression, a PostgreSQL tsquery (each word
stemmed, or as it is for the URL's words), or a
Python test on plain text (for topic and section titles).
"""

import logging
import re
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .models import Entry

logger = logging.getLogger(__name__)
MAX_QUERY_LENGTH = 200
WORD = re.compile(r"\w+", re.UNICODE)


def words(text):
    """The searchable words of a query: letters and digits, lowercased."""
    return [w.lower() for w in WORD.findall(text or "")][:20]


# A token of a query: an optional "-", then a "quoted phrase" or a run of non-space characters.
QUERY_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
MAX_CLAUSES = 20


@dataclass(frozen=True)
class Term:
    """A word (a prefix) or a phrase (its words in order, the last a prefix)."""

    words: tuple

    def fts5(self):
        return '"{}"*'.format(" ".join(self.words))  # words are letters and digits only

    def tsquery(self):
        return "(" + " <-> ".join(self.words[:-1] + (f"{self.words[-1]}:*",)) + ")"

    def tsquery_sql(self):
        """SQL of this term as a tsquery, and its parameters. A document's URL words are made
        with the 'simple' configuration (not stemmed: "envoyproxy", not "envoyproxi"), the
        rest with 'english': a term matches either spelling. A term of English stop words only
        ("with", "a") is no term at all, as in the document's text: the empty tsquery, which
        `&&`, `||` and `!!` leave out."""
        return (
            "(CASE WHEN numnode(to_tsquery('english', %s)) = 0 THEN to_tsquery('english', %s)"
            " ELSE to_tsquery('english', %s) || to_tsquery('simple', %s) END)",
            [self.tsquery()] * 4,
        )

    def pattern(self):
        return r"\b" + r"\W+".join(re.escape(w) for w in self.words)


@dataclass
class Query:
    """All `clauses` must match (each a tuple of terms, any of which will do); no `excluded` term may."""

    clauses: list = field(default_factory=list)
    excluded: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.clauses)

    @property
    def terms(self):
        """The words to highlight in results."""
        return [w for clause in self.clauses for term in clause for w in term.words]

    def fts5(self):
        positive = " AND ".join("(" + " OR ".join(t.fts5() for t in clause) + ")" for clause in self.clauses)
        return positive + "".join(f" NOT {t.fts5()}" for t in self.excluded)

    def tsquery_sql(self):
        """SQL of the query as a tsquery (see `Term.tsquery_sql`), and its parameters."""
        parts, params = [], []
        for terms, prefix in [*((clause, "") for clause in self.clauses), *(((t,), "!!") for t in self.excluded)]:
            sql = [t.tsquery_sql() for t in terms]
            parts.append(prefix + "(" + " || ".join(part for part, _ in sql) + ")")
            params += [p for _, values in sql for p in values]
        return " && ".join(parts), params

    def matcher(self):
        """A function telling whether a plain text matches (case-insensitive)."""
        clauses = [re.compile("|".join(t.pattern() for t in clause), re.I) for clause in self.clauses]
        excluded = [re.compile(t.pattern(), re.I) for t in self.excluded]
        return lambda text: all(c.search(text) for c in clauses) and not any(e.search(text) for e in excluded)


def parse_query(text):
    """Read a reader's query: `istio -kiali`, `"service mesh"`, `envoy OR linkerd`.

    Only letters and digits count in a word, so nothing a reader types can
    change the shape of the database query. An OR between two terms joins
    them; a lone OR, an empty phrase, or a query of exclusions only match
    nothing (the Query is false).
    """
    query, pending_or = Query(), False
    for minus, phrase, bare in QUERY_TOKEN.findall((text or "")[:MAX_QUERY_LENGTH]):
        if bare == "OR" and not minus:
            pending_or = bool(query.clauses)
            continue
        # A bare word ("istio-kiali" holds two, both needed), or a phrase.
        terms = [Term((w,)) for w in words(bare)] if bare else [Term(tuple(words(phrase)))] if words(phrase) else []
        if not terms:
            continue
        if minus:
            query.excluded.extend(terms)
        elif pending_or:
            query.clauses[-1] = (*query.clauses[-1], terms[0])
            query.clauses.extend((t,) for t in terms[1:])
        else:
            query.clauses.extend((t,) for t in terms)
        pending_or = False
    query.clauses = query.clauses[:MAX_CLAUSES]
    query.excluded = query.excluded[:MAX_CLAUSES]
    return query


@dataclass
class Matches:
    """The entries a query matches: their ids, ascending, and when ranked each one's sort
    key (lower first, ties by id), so that a page can order only the entries it shows
    instead of every match (`facets.Selection.ordered_ids`)."""

    ids: np.ndarray
    keys: np.ndarray | None = None

    @classmethod
    def in_order(cls, ids):
        """The matches of a list of ids in result order (the database's answer)."""
        ids = np.asarray(ids, dtype=np.int64)
        by_id = np.argsort(ids, kind="stable")
        return cls(ids[by_id], by_id.astype(np.float64))

    def ranked_ids(self):
        """The ids, best first (by id when not ranked), as a list."""
        ids = self.ids if self.keys is None else self.ids[np.argsort(self.keys, kind="stable")]
        return ids.tolist()


def matching_ids(text, *, ranked=True, version=None):
    """Ids of entries matching the query `text` (see `parse_query`); best match
    first when `ranked`, else in no particular order.

    Returns None when `text` holds no searchable word. A query of exclusions
    only (`-kiali`) matches every entry but those. The in-memory index
    (`catalog/search_index.py`, at the data `version` when given) answers what
    it can answer exactly; the database the rest (`sql_matching_ids`).
    """
    found = matches(text, ranked=ranked, version=version)
    return None if found is None else found.ranked_ids()


def matches(text, *, ranked=True, version=None):
    """`matching_ids()` as `Matches` (ids ascending, each one's rank), or None."""
    from . import search_index  # it reads this module's queries

    parsed = parse_query(text)
    if not parsed and not parsed.excluded:
        return None
    try:
        found = search_index.matches(parsed, ranked=ranked, version=version)
    except Exception:  # a slower answer, never an error page
        logger.exception("in-memory search failed; searching in SQL")
        found = None
    return found if found is not None else Matches.in_order(_sql_answer(parsed, ranked=ranked))


def sql_matching_ids(text, *, ranked=True):
    """`matching_ids()` asking the database: the FilterSet's SQL and the page served
    without the index use it, and the tests compare the index's answers with it."""
    parsed = parse_query(text)
    if not parsed and not parsed.excluded:
        return None
    return _sql_answer(parsed, ranked=ranked)


def _sql_answer(parsed, *, ranked):
    if not parsed:
        either = Query(clauses=[tuple(parsed.excluded)])
        left_out = set(matching_ids_for(either, ranked=False))
        return [pk for pk in Entry.objects.order_by("pk").values_list("pk", flat=True) if pk not in left_out]
    return matching_ids_for(parsed, ranked=ranked)


def matching_ids_for(parsed, *, ranked):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            query, params = parsed.tsquery_sql()
            rank = "ts_rank_cd(search_document, q.query)" if ranked else "0"
            cursor.execute(
                f"SELECT id, -{rank} FROM catalog_entry, (SELECT {query} AS query) q"  # noqa: S608 - no input
                " WHERE search_document @@ q.query",
                params,
            )
        else:
            query = parsed.fts5()
            rank = "bm25(catalog_entry_fts, 10.0, 2.0, 1.0, 5.0)" if ranked else "0"
            cursor.execute(
                f"SELECT rowid, {rank} FROM catalog_entry_fts WHERE catalog_entry_fts MATCH %s",  # noqa: S608
                [query],
            )
        rows = cursor.fetchall()
    if not ranked or not rows:
        return [row[0] for row in rows]
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    scores = np.array([row[1] for row in rows], dtype=np.float64)  # lower is better
    return ids[np.lexsort((ids, scores))].tolist()


def highlight(text, terms):
    """`text` escaped, with words starting with one of `terms` wrapped in <mark>."""
    if not text or not terms:
        return escape(text or "")
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*", re.I
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped
