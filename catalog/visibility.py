"""What readers may see, said once.

- An entry is *visible* to readers (its own page, search, the formats) when it
  is published.
- It is *listed* (topic pages, browse, the home page, feeds) when it is visible
  and its link is not dead (a reader may still ask for dead links).
- A label is *public* unless its group is internal: internal labels are for
  curators only, and never reach a reader page, a facet, the submit form or
  the full-text search.

Every reader path reads the rule from here: the QuerySets
(`EntryQuerySet.visible()`/`listed()`, `LabelQuerySet.public()`,
`labels_prefetch(public=True)`), the facet index's rows and labels
(`catalog/facet_index.py`) and the search index's triggers
(`catalog/dbsync.py`). No model is imported: `catalog/models.py` uses this.
"""

from django.db.models import Q

from .linkhealth.models import LinkState

# The entry's column that makes it visible, and the link state that keeps a visible entry off lists.
VISIBLE_FIELD = "published"
HIDDEN_LINK_STATE = LinkState.DEAD


def _at(prefix):
    return f"{prefix}__" if prefix else ""


def visible_entries(prefix=""):
    """Q: entries readers may see (`prefix`: the path to the entry, e.g. "entry")."""
    return Q(**{f"{_at(prefix)}{VISIBLE_FIELD}": True})


def listed_entries(prefix=""):
    """Q: entries reader lists show by default: visible, and the link not dead."""
    return visible_entries(prefix) & ~Q(**{f"{_at(prefix)}link_state": HIDDEN_LINK_STATE})


def public_labels(prefix=""):
    """Q: labels readers may see (`prefix`: the path to the label, e.g. "tag"): not of an
    internal group (a label of no group is public)."""
    return ~Q(**{f"{_at(prefix)}group__internal": True})


def public_groups():
    """Q: label groups readers may see."""
    return Q(internal=False)


def public_label_sql(label):
    """SQL: true when the label row `label` (a table alias) is public; for the search triggers."""
    return f"NOT EXISTS (SELECT 1 FROM catalog_labelgroup g WHERE g.id = {label}.group_id AND g.internal)"  # noqa: S608 - an alias, never input
