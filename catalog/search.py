"""Full-text search behind one function, and safe highlighting of matches.

SQLite uses the FTS5 table catalog_entry_fts; PostgreSQL the tsvector column
catalog_entry.search_document. Database triggers keep both in sync on every
write (migration 0002), bulk loads included.
"""

import re

import numpy as np
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe

MAX_QUERY_LENGTH = 200
WORD = re.compile(r"\w+", re.UNICODE)


def words(text):
    """The searchable words of a query: letters and digits, lowercased."""
    return [w.lower() for w in WORD.findall(text or "")][:20]


def matching_ids(text, *, ranked=True):
    """Ids of entries matching every word of `text` (as a prefix); best match
    first when `ranked`, else in no particular order.

    Returns None when `text` holds no searchable word.
    """
    terms = words(text)
    if not terms:
        return None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            query = " & ".join(f"{t}:*" for t in terms)
            rank = "ts_rank_cd(search_document, query)" if ranked else "0"
            cursor.execute(
                f"SELECT id, -{rank} FROM catalog_entry, to_tsquery('english', %s) query"  # noqa: S608 - no input
                " WHERE search_document @@ query",
                [query],
            )
        else:
            query = " ".join('"{}"*'.format(t.replace('"', '""')) for t in terms)
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
