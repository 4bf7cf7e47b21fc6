"""Full-text search behind one function, and safe highlighting of matches.

SQLite uses the FTS5 table catalog_entry_fts; PostgreSQL the tsvector column
catalog_entry.search_document. Database triggers keep both in sync on every
write (migration 0002), bulk loads included.

The query syntax is what readers expect from search engines: words match as
prefixes and all must match; `-word` leaves out what has it; `"two words"`
is a phrase; `envoy OR linkerd` is either. `parse_query()` reads it once into
a `Query`, which becomes an FTS5 expression, a PostgreSQL tsquery, or a
Python test on plain text (for topic and section titles).
"""

import re
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .models import Entry

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

    def tsquery(self):
        parts = ["(" + " | ".join(t.tsquery() for t in clause) + ")" for clause in self.clauses]
        parts += [f"!{t.tsquery()}" for t in self.excluded]
        return " & ".join(parts)

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


def matching_ids(text, *, ranked=True):
    """Ids of entries matching the query `text` (see `parse_query`); best match
    first when `ranked`, else in no particular order.

    Returns None when `text` holds no searchable word. A query of exclusions
    only (`-kiali`) matches every entry but those.
    """
    parsed = parse_query(text)
    if not parsed and not parsed.excluded:
        return None
    if not parsed:
        either = Query(clauses=[tuple(parsed.excluded)])
        left_out = set(matching_ids_for(either, ranked=False))
        return [pk for pk in Entry.objects.order_by("pk").values_list("pk", flat=True) if pk not in left_out]
    return matching_ids_for(parsed, ranked=ranked)


def matching_ids_for(parsed, *, ranked):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            query = parsed.tsquery()
            rank = "ts_rank_cd(search_document, query)" if ranked else "0"
            cursor.execute(
                f"SELECT id, -{rank} FROM catalog_entry, to_tsquery('english', %s) query"  # noqa: S608 - no input
                " WHERE search_document @@ query",
                [query],
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
