"""Facets: one small class per kind, listed once in the registry.

Each facet knows its URL parameters and their SQL twin (the FilterSet's
filters, the reference the counts are tested against), its criterion, its
mask over the index, its counts and its toggle links. The FilterSet, the
browse page's panels and chips, and the JSON all read `registry(index)`.
Adding a facet is one entry in `_registry()`: a facet over a field of the
entry names it there (`column=ValueColumn(Field(...))`, `AtLeast(field=...)`,
`Flag(field=...)`) and the index reads, builds and follows that column
(docs/howto.md, "Add a facet"); placements and labels give the others.

Semantics (ENGINEERING.md §2): values of one facet combine with OR, facets
combine with AND, and each facet's counts apply every active filter but its
own.
"""

from dataclasses import dataclass

import django_filters
import numpy as np

from . import tree
from .facet_index import (
    LINK_STATES,
    RATING,
    STAR_BUCKETS,
    STARS,
    YEAR,
    Field,
    FlagColumn,
    NumberColumn,
    ValueColumn,
    Values,
    coded,
    packed_masks,
    popcounts,
)
from .filters import (
    RESERVED,
    KeyChoiceFilter,
    number_messages,
    sql_flag,
    sql_label,
    sql_language,
    sql_link_state,
    sql_placed,
    sql_section,
    sql_site,
)
from .models import LinkState, url_host

# --- the registry: one small class per kind of facet ----------------------------------------


@dataclass
class Counts:
    """One facet's counts: keys, labels and counts aligned, and what is selected."""

    keys: list
    labels: list
    counts: list
    selected: set
    presorted: bool = False  # only values counted or selected, already by count then label
    more: int = 0  # presorted: values counted but left out, past the most a panel shows


# The most values a facet panel shows (its "show more" list, or the JSON): a presorted
# facet's counts hold these and the selected ones only.
SHOWN_AT_MOST = 500


class Facet:
    """A facet: its URL parameters, its mask over the index, its counts, its
    links and its SQL twin (the FilterSet filter the counts are tested against)."""

    kind = "values"
    on_site_only = False  # not offered on topic pages (their scope fixes it)
    sorted_by_count = False
    # How the facet index holds this facet's data, when it comes from a field of the entry
    # (`facet_index.ValueColumn`, `NumberColumn`, `FlagColumn`): the index reads the field
    # and builds `index.columns[name]` from it. None: a column the index derives itself
    # (placements, labels).
    index_column = None

    def __init__(self, name, label):
        self.name, self.label = name, label

    @property
    def params(self):
        return (self.name,)

    def column(self, index):
        return index.columns[self.name]

    def criterion(self, cleaned):
        """The selected value from the FilterSet's cleaned data, or None."""
        return cleaned.get(self.name) or None

    def shown(self, browser):
        return not (self.on_site_only and browser.scope is not None)

    def mask_in(self, selection, value):
        """The criterion's mask for one request's selection (a topic page may narrow it)."""
        return self.mask(selection.index, value)

    def key_of(self, value):
        """A facet value (as text in a link) as the criterion holds it."""
        return value

    def toggle(self, params, key, chosen):
        """Parameter changes that add (or, when `chosen`, remove) one value."""
        current = params.getlist(self.name)
        return {self.name: [v for v in current if v != key] if chosen else [*current, key]}

    def rest(self, selected_values, value):
        """The criterion once `value` is removed from the selection (None: none left)."""
        return None

    def described(self, criterion):
        """(key, text) for each selected value of a criterion, for chips without counts."""
        return [(key, str(key)) for key in criterion]


class ValueList(Facet):
    """Several values (OR), from a column of Pairs or Codes."""

    sorted_by_count = True

    def __init__(self, name, label, *, sql, on_site_only=False, column=None):
        super().__init__(name, label)
        self.sql, self.on_site_only, self.index_column = sql, on_site_only, column

    def filters(self, index):
        return {self.name: KeyChoiceFilter(method=self.sql, label=self.label, keys=self.column(index).values.position)}

    def mask(self, index, value):
        return self.column(index).mask(value)

    def counts(self, selection, base, packed_base, selected):
        column = self.column(selection.index)
        counts = selection.column_counts(column, base, packed_base)  # label groups share one column
        wanted = self.wanted(selection.index, column)
        values = column.values
        selected = set(selected or ())
        more = 0
        if self.sorted_by_count:
            # Thousands of values (sites): order them in numpy, keep those counted or selected,
            # and only as many as a panel ever shows (the rest are counted in `more`).
            wanted, chosen = np.asarray(wanted, dtype=np.int64), values.codes(selected)
            keep = wanted[(counts[wanted] > 0) | coded(wanted, chosen, len(values.keys))]
            keep = keep[np.lexsort((values.label_rank[keep], -counts[keep]))]
            tail = keep[SHOWN_AT_MOST:]
            tail_chosen = tail[coded(tail, chosen, len(values.keys))]
            more = len(tail) - len(tail_chosen)
            wanted = np.concatenate([keep[:SHOWN_AT_MOST], tail_chosen]).tolist()
        return Counts(
            [values.keys[i] for i in wanted],
            [values.labels[i] for i in wanted],
            counts[wanted].tolist() if len(wanted) else [],
            selected,
            presorted=self.sorted_by_count,
            more=more,
        )

    def wanted(self, index, column):
        return range(len(column.values.keys))

    def rest(self, selected_values, value):
        return [v for v in selected_values if v != value] or None


class LabelGroupFacet(ValueList):
    """The labels of one group (e.g. "kind"): a slice of the label column."""

    def __init__(self, slug, name, index):
        super().__init__(slug, name, sql=sql_label)
        self.keys = index.group_keys(slug)

    def column(self, index):
        return index.columns["label"]

    def filters(self, index):
        return {self.name: KeyChoiceFilter(method=self.sql, label=self.label, keys=self.keys)}

    def wanted(self, index, column):
        return [i for i, group in enumerate(index.label_group) if group == self.name]


class SectionTree(ValueList):
    """Sections of topic pages; a section holds the entries of its subsections.
    Offered on a topic page and when a topic or section is chosen."""

    sorted_by_count = False  # page order

    def shown(self, browser):
        return browser.scope is not None or bool(browser.params.getlist("topic") or browser.params.getlist("section"))

    def visible(self, browser, key):
        if browser.scope is not None:
            return True  # only the page's own sections are counted (`counts`)
        topics = browser.params.getlist("topic")
        return not topics or key.split("/", 1)[0] in topics

    # On a topic page, a section is one of that page's sections: the same key
    # (`istio/docs`) can name a section of the same topic in another edition,
    # whose entries must neither be offered nor counted here.

    def mask_in(self, selection, value):
        if selection.scope is None:
            return self.mask(selection.index, value)
        return selection.scope.mask(value)

    def counts(self, selection, base, packed_base, selected):
        if selection.scope is None:
            return super().counts(selection, base, packed_base, selected)
        counts = selection.scope.counts(base)
        values = selection.scope.values
        return Counts(list(values.keys), list(values.labels), [int(n) for n in counts], set(selected or ()))


class TopicSections:
    """One topic page's sections and the entries placed in each (a section holds
    its subsections' entries), over the index: what the page's section facet
    offers and counts. From the index's own rows: no query.
    """

    def __init__(self, index, topic):
        sections = [s for s in index.tree.sections if s.topic_id == topic.pk]
        parent_of = {s.id: s.parent_id for s in sections}
        by_id = {s.id: s for s in sections}
        children = tree.children_of(sections, parent=lambda s: s.parent_id if s.parent_id in parent_of else None)
        ordered = [s.id for _, s in tree.depth_first(children, None, key=lambda s: s.id)]
        self.values = Values(
            [f"{topic.slug}/{by_id[sid].slug}" for sid in ordered],
            [" › ".join(by_id[a].title for a in tree.path_from_top(sid, parent_of)) for sid in ordered],
        )
        code_of = {sid: i for i, sid in enumerate(ordered)}
        # Per section (sorted by id), the codes of itself and its ancestors, padded with -1.
        ids = np.array(sorted(ordered), dtype=np.int64)
        chains = [[code_of[a] for a in tree.ancestors(sid, parent_of) if a in code_of] for sid in ids.tolist()]
        table = np.full((len(chains), max((len(c) for c in chains), default=1)), -1, dtype=np.int64)
        for row, chain in enumerate(chains):
            table[row, : len(chain)] = chain
        here = index.section_rows(ids)
        rows = np.searchsorted(ids, index.p_section[here])
        entry = np.repeat(index.p_pos[here], table.shape[1])
        code = table[rows].reshape(-1)
        entry, code = entry[code >= 0], code[code >= 0]
        width = len(ordered) + 1
        combined = np.unique(entry * width + code)  # an entry once per section
        self.entry, self.code, self.size = combined // width, combined % width, index.size

    def mask(self, keys):
        chosen = np.zeros(self.size, dtype=bool)
        chosen[self.entry[coded(self.code, self.values.codes(keys), len(self.values.keys))]] = True
        return chosen

    def counts(self, base):
        return np.bincount(self.code[base[self.entry]], minlength=len(self.values.keys))


class YearRange(Facet):
    """Years, filtered as a range (year_min, year_max); each year a value."""

    kind = "year"
    params = ("year_min", "year_max")
    index_column = ValueColumn(YEAR, descending=True)

    def filters(self, index):
        bounds = {"field_name": "year", "min_value": 1900, "max_value": 2100}
        bounds["error_messages"] = number_messages("a year")
        return {
            "year_min": django_filters.NumberFilter(lookup_expr="gte", label="Year from", **bounds),
            "year_max": django_filters.NumberFilter(lookup_expr="lte", label="Year to", **bounds),
        }

    def criterion(self, cleaned):
        if "year_min" not in cleaned and "year_max" not in cleaned:
            return None
        low, high = cleaned.get("year_min"), cleaned.get("year_max")
        return (None if low is None else int(low), None if high is None else int(high))

    def mask(self, index, value):
        low, high = value
        mask = index.year > 0
        if low is not None:
            mask &= index.year >= low
        if high is not None:
            mask &= index.year <= high
        return mask

    def counts(self, selection, base, packed_base, selected):
        column = selection.index.columns[self.name]
        per_year = column.counts(base, packed_base)
        # Newest first (a year added since the index was built comes last in its values).
        found = sorted(((y, int(n)) for y, n in zip(column.values.keys, per_year, strict=True) if n), reverse=True)
        keys, numbers = [y for y, _ in found], [n for _, n in found]
        labels = [str(y) for y in keys]
        low, high = selected or (None, None)
        chosen = set()
        if low is not None and low == high:
            chosen = {low}
        elif selected:
            # A range, e.g. from the form or `year:2021..2023`: shown as one selected value.
            key = f"{low or ''}..{high or ''}"
            keys, labels = [key, *keys], [f"{low or '…'}–{high or '…'}", *labels]
            numbers = [int(np.count_nonzero(base & selection.own[self.name])), *numbers]
            chosen = {key}
        return Counts(keys, labels, numbers, chosen)

    def key_of(self, value):
        return value if ".." in value else int(value)

    def described(self, criterion):
        low, high = criterion
        return [(low, str(low))] if low == high else [(None, f"{low or '…'}–{high or '…'}")]

    def toggle(self, params, key, chosen):
        value = None if chosen else str(key)
        return {"year_min": value, "year_max": value}


class AtLeast(Facet):
    """A threshold ("4 stars and up"): one parameter `<name>_min`."""

    def __init__(self, name, label, *, field, thresholds, value_label, min_value, max_value, what):
        super().__init__(name, label)
        self.what = what  # "a number of stars": what a valid value is, for error messages
        self.kind = name
        self.index_column = NumberColumn(field)  # the number of each entry (the field's missing value for none)
        self.field_name, self.thresholds = field.sql, thresholds
        self.value_label, self.min_value, self.max_value = value_label, min_value, max_value

    @property
    def params(self):
        return (f"{self.name}_min",)

    def filters(self, index):
        return {
            self.params[0]: django_filters.NumberFilter(
                field_name=self.field_name,
                lookup_expr="gte",
                label=f"{self.label} at least",
                min_value=self.min_value,
                max_value=self.max_value,
                error_messages=number_messages(self.what),
            )
        }

    def criterion(self, cleaned):
        value = cleaned.get(self.params[0])
        return None if value is None else int(value)

    def mask(self, index, value):
        return index.columns[self.name] >= value

    def counts(self, selection, base, packed_base, selected):
        index = selection.index
        values = index.columns[self.name]
        thresholds = list(self.thresholds)
        # Each threshold's entries as packed bits, once per index: one AND and popcount each.
        at_least = index.memo(
            ("at least", self.name), lambda: packed_masks([values >= t for t in self.thresholds], index.size)
        )
        counts = popcounts(at_least, packed_base).tolist()
        if selected is not None and selected not in thresholds:
            position = sorted([*thresholds, selected]).index(selected)
            thresholds.insert(position, selected)
            counts.insert(position, int(np.count_nonzero(base & (values >= selected))))
        return Counts(thresholds, [self.value_label(t) for t in thresholds], counts, {selected})

    def key_of(self, value):
        return int(value)

    def described(self, criterion):
        return [(criterion, self.value_label(criterion))]

    def toggle(self, params, key, chosen):
        return {self.params[0]: None if chosen else str(key)}


class Flag(Facet):
    """A yes-only filter (`featured=1`)."""

    kind = "featured"

    def __init__(self, name, label, *, value_label, field=None):
        super().__init__(name, label)
        self.value_label = value_label
        self.index_column = FlagColumn(field or Field(name, name, bool))

    def filters(self, index):
        return {
            self.name: django_filters.ChoiceFilter(
                method=sql_flag(self.name), label=self.label, choices=[("1", f"{self.label} only")]
            )
        }

    def criterion(self, cleaned):
        return True if cleaned.get(self.name) else None

    def mask(self, index, value):
        return index.raw[self.index_column.field.name].copy()

    def counts(self, selection, base, packed_base, selected):
        count = int(popcounts(selection.index.columns[self.name], packed_base)[0])
        return Counts(["1"], [self.value_label], [count], {"1"} if selected else set())

    def toggle(self, params, key, chosen):
        return {self.name: None if chosen else "1"}

    def described(self, criterion):
        return [("1", self.value_label)]


class DefaultStates(list):
    """The link states a list shows when the reader chose none: all but dead."""


class LinkStatus(ValueList):
    """An entry's link state (catalog.linkhealth). Without a choice, dead links
    are left out (`DefaultStates`); choosing values shows exactly those, so
    "Dead" lists the dead links."""

    sorted_by_count = False  # state order

    def __init__(self, name, label):
        column = ValueColumn(Field("link", "link_state", word=str), values=LINK_STATES)
        super().__init__(name, label, sql=sql_link_state, column=column)

    def criterion(self, cleaned):
        return cleaned.get(self.name) or DefaultStates(k for k in LinkState.values if k != LinkState.DEAD)

    def mask(self, index, value):
        if isinstance(value, DefaultStates):  # every request without a choice: once per index
            return index.memo(("link", "default"), lambda: ValueList.mask(self, index, value))
        return super().mask(index, value)

    def counts(self, selection, base, packed_base, selected):
        counts = super().counts(selection, base, packed_base, selected)
        if isinstance(selected, DefaultStates):
            counts.selected = set()
        return counts

    def described(self, criterion):
        if isinstance(criterion, DefaultStates):
            return []
        labels = dict(LinkState.choices)
        return [(key, labels.get(key, key)) for key in criterion]

    def sql_default(self, queryset):
        """The SQL twin of the default: no dead links."""
        return queryset.exclude(link_state=LinkState.DEAD)


def _registry():
    return [
        ValueList("edition", "Edition", sql=sql_placed, on_site_only=True),
        ValueList("dimension", "Dimension", sql=sql_placed, on_site_only=True),
        ValueList("topic", "Topic", sql=sql_placed, on_site_only=True),
        SectionTree("section", "Section", sql=sql_section),
        LABEL_GROUPS,
        # One key per lowercased spelling, labelled by its commonest spelling.
        ValueList("language", "Language", sql=sql_language, column=ValueColumn(LANGUAGE, key=str.lower)),
        YearRange("year", "Year"),
        AtLeast(
            "stars",
            "GitHub stars",
            field=STARS,
            thresholds=STAR_BUCKETS,
            value_label=lambda t: f"{t:,}+",
            min_value=0,
            max_value=10**9,
            what="a number of stars",
        ),
        AtLeast(
            "rating",
            "Rating",
            field=RATING,
            thresholds=(5, 4, 3, 2, 1),
            value_label=lambda n: "★" * n + " & up" if n < 5 else "★★★★★",
            min_value=1,
            max_value=5,
            what="a rating from 1 to 5",
        ),
        Flag("featured", "Featured", value_label="Featured 🌟"),
        ValueList("site", "Source site", sql=sql_site, column=ValueColumn(Field("host", "url", word=url_host))),
        LinkStatus("link", "Link status"),
    ]


LANGUAGE = Field("language", "language", word=str)
LABEL_GROUPS = "label groups"  # where in the order the index's label groups go
_registry_cache = []


def index_columns():
    """{facet name: how the index holds its column} for the facets over entry fields."""
    if not _registry_cache:
        _registry_cache.extend(_registry())
    return {
        facet.name: facet.index_column
        for facet in _registry_cache
        if facet is not LABEL_GROUPS and facet.index_column is not None
    }


def registry(index):
    """The facets, in display order, with one facet per label group of `index`."""
    if not _registry_cache:
        _registry_cache.extend(_registry())
    cache = index.__dict__.setdefault("_facets", None)
    if cache is None:
        cache = []
        taken = {"label", "not_label", *RESERVED}
        for facet in _registry_cache:
            if facet is not LABEL_GROUPS:
                taken.update((facet.name, *facet.params))
        for facet in _registry_cache:
            if facet is LABEL_GROUPS:
                cache += [LabelGroupFacet(slug, name, index) for slug, name in index.groups if slug not in taken]
            else:
                cache.append(facet)
        index._facets = cache
    return cache


def fixed_parameters():
    """The URL parameters of every facet but the label groups' (those are data)."""
    return {param for facet in _registry() if facet is not LABEL_GROUPS for param in facet.params}


def facet_named(index, name):
    for facet in registry(index):
        if facet.name == name:
            return facet
    raise KeyError(name)


# A base holding fewer than this share of the entries (or leaving out fewer of the visible
# ones) is counted entry by entry (`Selection._counted_over`).
SPARSE_SHARE = 1 / 128


class Selection:
    """The entries that a set of criteria selects, and every facet's counts.

    `criteria` maps a facet name to its criterion (see each facet's
    `criterion()`); `always` masks apply to every count (topic page scope,
    text query, excluded labels, a chosen label outside any group), on top of
    the entries a list may show (`index.visible()`). Masks are never written
    in place: several of them are the index's own, shared by requests.
    """

    def __init__(self, index, criteria, *, always=(), scope=None):
        self.index, self.scope = index, scope  # scope: a topic page's TopicSections
        self.always = index.visible()
        for mask in always:
            self.always = self.always & mask
        self.own = {name: facet_named(index, name).mask_in(self, value) for name, value in criteria.items()}
        self.matches = self.always
        for mask in self.own.values():
            self.matches = self.matches & mask
        self.count = int(np.count_nonzero(self.matches))
        self._packed, self._counted = {}, {}

    def base_without(self, name):
        """Entries matching everything but the named facet."""
        if name not in self.own:
            return self.matches
        base = self.always
        for other, mask in self.own.items():
            if other != name:
                base = base & mask
        return base

    def count_without(self, name, keep=None):
        """How many results if facet `name` kept only `keep` (None: dropped)."""
        base = self.base_without(name)
        if keep is not None:
            base = base & facet_named(self.index, name).mask_in(self, keep)
        return int(np.count_nonzero(base))

    def packed(self, base):
        """`base` as packed bits: computed once for the facets counted over the same base."""
        found = self._packed.get(id(base))
        if found is None or found[0] is not base:
            found = self._packed[id(base)] = (base, np.packbits(base))
        return found[1]

    def column_counts(self, column, base, packed_base):
        """A column's counts over `base`, once for the facets reading the same column (label groups)."""
        key = (id(column), id(base))
        found = self._counted.get(key)
        if found is None or found[0] is not column or found[1] is not base:
            found = self._counted[key] = (column, base, self._counted_over(column, base, packed_base))
        return found[2]

    def _counted_over(self, column, base, packed_base):
        """A column of many values (no bit masks) counts a base of few entries entry by entry,
        and a base of nearly every visible entry as every visible entry's counts (kept with the
        index) less those of the few it leaves out; the others with one pass over the column.
        (Every base of a selection is within `index.visible()`.)"""
        if getattr(column, "packed", None) is not None:
            return column.counts(base, packed_base)
        index, few = self.index, len(base) * SPARSE_SHARE
        chosen = int(np.count_nonzero(base))
        if chosen < few:
            return column.counts_of(np.flatnonzero(base))
        visible = index.visible()
        if index.visible_count() - chosen < few:
            _, every = index.memo(
                ("visible counts", id(column)), lambda: (column, column.counts(visible, np.packbits(visible)))
            )
            return every - column.counts_of(np.flatnonzero(visible & ~base))
        return column.counts(base, packed_base)

    def counts(self, facet, selected):
        """One facet's counts, under every active filter but its own."""
        base = self.base_without(facet.name)
        return facet.counts(self, base, self.packed(base), selected)

    def ordered_ids(self, sort, ranked=None):
        """The matching entries' ids in result order, as a sequence (`ResultIds`) that orders
        only as much as is read. `ranked`: the text query's (entry numbers ascending, sort
        keys or None), for the order of relevance."""
        if sort == "relevance" and ranked is not None:
            positions, keys = ranked
            hit = self.matches[positions]
            return RankedIds(self.index, positions[hit], None if keys is None else keys[hit])
        return OrderedIds(self.index, self.index.order(sort), self.matches, self.count)


class ResultIds:
    """Entry ids in result order, as a sequence the paginator slices: a page near the start
    is found by ordering only as far as it reaches (`first()`); a download, a far page or
    a walk through all of them computes the whole order once (`whole()`)."""

    PAGE_REACH = 10_000  # a slice ending further than this reads the whole order

    def __init__(self, index, size):
        self.index, self.size, self._whole = index, size, None

    def __len__(self):
        return self.size

    def __getitem__(self, key):
        if isinstance(key, slice) and self._whole is None:
            start, stop, step = key.indices(self.size)
            if step == 1 and stop <= self.PAGE_REACH:
                return self.index.ids[self.first(stop)[start:stop]]
        return self.whole()[key]

    def __iter__(self):
        return iter(self.whole())

    def __array__(self, dtype=None, copy=None):
        return self.whole() if dtype is None else self.whole().astype(dtype)

    def whole(self):
        if self._whole is None:
            self._whole = self.index.ids[self.positions()]
        return self._whole


class OrderedIds(ResultIds):
    """The entries of `matches` in the index's order `order` (a permutation of entry numbers)."""

    def __init__(self, index, order, matches, size):
        super().__init__(index, size)
        self.order, self.matches = order, matches

    def positions(self):
        return self.order[self.matches[self.order]]

    def first(self, n):
        """The first `n` matching entry numbers: the order read in growing chunks, from a
        guess of how far `n` matches reach (the matches' share of all entries)."""
        order, matches = self.order, self.matches
        step = int(n * len(order) / max(self.size, 1) * 1.25) + 256
        parts, found, at = [order[:0]], 0, 0
        while found < n and at < len(order):
            chunk = order[at : at + step]
            parts.append(chunk[matches[chunk]])
            found, at, step = found + len(parts[-1]), at + step, step * 2
        return np.concatenate(parts)[:n]


class RankedIds(ResultIds):
    """The entries a text query matches, best first: entry numbers ascending (by id) and each
    one's sort key (lower first; equal keys by id), or no keys (by id)."""

    def __init__(self, index, positions, keys):
        super().__init__(index, len(positions))
        self.ranked, self.keys = positions, keys

    def positions(self):
        if self.keys is None:
            return self.ranked
        return self.ranked[np.argsort(self.keys, kind="stable")]

    def first(self, n):
        """The best `n`: those with a key up to the n-th smallest, then ordered (a stable sort
        of a few, instead of every match)."""
        if self.keys is None or not n or n >= len(self.keys):
            return self.positions()[:n]
        kth = np.partition(self.keys, n - 1)[n - 1]
        take = np.flatnonzero(self.keys <= kth)
        return self.ranked[take[np.argsort(self.keys[take], kind="stable")][:n]]
