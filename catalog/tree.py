"""Section trees: the one place that walks parents and children.

A topic page's sections form a tree through `parent_id`. Pages, forms, the
Markdown export, the section filter and the facet index all need the same
walks; they take plain (id, parent id) data so that callers can pass model
instances, `values_list` rows or index rows alike. Every walk stops at a
cycle, which validation forbids but a hand-edited database could still hold.
"""


def children_of(items, *, parent):
    """{parent id (None for the top): [items in the given order]}."""
    children = {}
    for item in items:
        children.setdefault(parent(item), []).append(item)
    return children


def ancestors(node_id, parent_of):
    """`node_id` and its ancestors, nearest first (`parent_of`: id -> parent id or None)."""
    chain, current = [], node_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parent_of.get(current)
    return chain


def path_from_top(node_id, parent_of):
    """The ids from the top section down to `node_id`."""
    return ancestors(node_id, parent_of)[::-1]


def descendants(node_ids, children):
    """`node_ids` and every id below them (`children`: id -> child ids)."""
    found, stack = set(), list(node_ids)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def depth_first(children, top=None, *, key=lambda item: item.pk):
    """Yield (depth, item) for the tree under `top`, each parent before its
    children, siblings in order (`children`: a key -> child items, `key(item)`
    the key its own children are under; depth 1 at the top)."""
    stack = [(1, item) for item in reversed(children.get(top, []))]
    seen = set()
    while stack:
        depth, item = stack.pop()
        item_key = key(item)
        if item_key in seen:
            continue
        seen.add(item_key)
        yield depth, item
        stack.extend((depth + 1, child) for child in reversed(children.get(item_key, [])))
