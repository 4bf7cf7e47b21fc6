"""The faceted browse of the catalog, or of one topic page: from URL
parameters to the page a template loops over.

All state lives in the URL. `canonical_params()` turns old parameter names and
the power-user query syntax (`kiali label:guide lang:go year:2021..2023`) into
the same parameters the facets use, so every view has one shareable URL.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import quote

import numpy as np
from django.core.paginator import Paginator
from django.db.models import F
from django.db.models.functions import Lower
from django.http import QueryDict
from django.utils.text import slugify

from . import facets, search
from .filters import PER_PAGE_CHOICES, VIEW_CHOICES, BrowseFilterSet, ListOptionsForm
from .models import Entry, Placement
from .pages import entry_rows

# Old or short parameter names that keep working (moved to the new name).
ALIASES = {"lang": "language", "tag": "label", "min_stars": "stars_min", "host": "site", "ed": "edition"}
FACET_LIMIT = 10
# Parameters the browse form shows as inputs; the others ride along as hidden fields.
VISIBLE_FIELDS = {"q", "sort", "per_page", "page", "format", "year_min", "year_max", "stars_min"}
EXPANDED_LIMIT = facets.SHOWN_AT_MOST
OPERATOR = re.compile(r'(?<!\S)(-?)([a-z_]+):("[^"]*"|\S+)', re.I)


def _operator(params, negated, key, value):
    """Move one `key:value` of the query into URL parameters; False if unknown."""
    value = value.strip('"').strip()
    key = key.lower()
    if key in ("label", "tag"):
        params.appendlist("not_label" if negated else "label", slugify(value))
    elif negated:
        return False
    elif key in ("lang", "language"):
        params.appendlist("language", value.lower())
    elif key in ("site", "host"):
        params.appendlist("site", value.lower().removeprefix("www."))
    elif key in ("edition", "dimension", "topic", "section"):
        params.appendlist(key, value if key == "section" else slugify(value))
    elif key == "year":
        low, _, high = value.partition("..")
        params.setlist("year_min", [low] if low else [])
        params.setlist("year_max", [high] if high else ([] if ".." in value else [low]))
    elif key in ("stars", "rating"):
        params.setlist(f"{key}_min", [value.lstrip(">=").rstrip(".")])
    elif (key, value.lower()) in (("is", "featured"), ("featured", "1"), ("featured", "yes"), ("featured", "true")):
        params.setlist("featured", ["1"])
    elif key == "sort":
        params.setlist("sort", [value.lower()])
    else:
        return False
    return True


def canonical_params(query, index):
    """The request's parameters with aliases renamed, query operators moved to
    their parameters, labels moved to their group, and a too-long query
    trimmed. Returns (params, changed)."""
    params = QueryDict(mutable=True)
    for key, values in query.lists():
        params.setlist(ALIASES.get(key, key), [v for v in values if v.strip()] if key != "q" else values)
    # Renamed parameters and the empty fields of a submitted form make a new URL.
    changed = any(key in ALIASES or not all(v.strip() for v in values) for key, values in query.lists())
    text = " ".join(params.getlist("q"))[: search.MAX_QUERY_LENGTH * 2]
    kept = []
    last = 0
    for match in OPERATOR.finditer(text):
        if _operator(params, match.group(1) == "-", match.group(2), match.group(3)):
            kept.append(text[last : match.start()])
            last = match.end()
            changed = True
    kept.append(text[last:])
    text = " ".join(" ".join(kept).split())
    if len(text) > search.MAX_QUERY_LENGTH:
        text, changed = text[: search.MAX_QUERY_LENGTH].rsplit(" ", 1)[0], True
    if params.getlist("q") != ([text] if text else []):
        changed = True  # operators moved out, spaces tidied, trimmed, or an empty box
    params.setlist("q", [text] if text else [])
    group_of = dict(zip(index.label.values.keys, index.label_group, strict=True))
    unrouted = []
    for slug in params.getlist("label"):
        group = group_of.get(slug)
        if group and group not in params.getlist(group):
            params.appendlist(group, slug)
            changed = True
        elif not group:
            unrouted.append(slug)
    params.setlist("label", unrouted)
    # Defaults stay out of the URL, so one view has one address.
    if params.get("per_page") == str(PER_PAGE_CHOICES[0]):
        params.pop("per_page")
        changed = True
    if params.get("sort") == ("relevance" if text else "newest"):
        params.pop("sort")
        changed = True
    if params.get("view") == VIEW_CHOICES[0][0]:
        params.pop("view")
        changed = True
    for key in list(params):
        if not params.getlist(key):
            del params[key]
    return params, changed


def _encoded(key, values):
    """`key=value` items, quoted as `urlencode(..., safe="/:", quote_via=quote)` quotes them."""
    key = quote(key, safe="/:")
    return [f"{key}={quote(str(v), safe='/:')}" for v in values]


def _changed(key, value):
    """The items of a change: a list or a value; none for None, "" or []."""
    if value is None or value == "" or value == []:
        return []
    return _encoded(key, value if isinstance(value, list) else [value])


class Links:
    """URLs of `path` with `params` and a change or two (`url`), each parameter quoted
    once: a browse page makes a hundred of them (a toggle link per facet value)."""

    def __init__(self, path, params):
        self.path, self.params = path, params
        self.items = [(key, _encoded(key, values)) for key, values in params.lists()]

    def url(self, **changes):
        """`path` with `params`, each change setting (a list or a value) or removing (None) one
        parameter in place. A change of filters drops `page`: a new result starts at page 1."""
        items, done = [], set()
        for key, encoded in self.items:
            if key in changes:
                if key not in done:
                    items += _changed(key, changes[key])
                    done.add(key)
            elif key != "page":
                items += encoded
        for key, value in changes.items():
            if key not in done:
                items += _changed(key, value)
        return f"{self.path}?{'&'.join(items)}" if items else self.path


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    toggle_url: str


@dataclass
class FacetPanel:
    name: str
    label: str
    kind: str
    values: list
    hidden: int = 0
    more_url: str = ""
    less_url: str = ""
    facet: object = None  # the registry's facet (not shown, not in the JSON)
    chart: object = None  # a picture of the facet's counts (the year histogram, the stars bands)

    @property
    def selected(self):
        return [v for v in self.values if v.selected]


@dataclass
class Chip:
    label: str
    remove_url: str
    count_without: int | None = None


@dataclass
class BrowsePage:
    params: QueryDict
    index: object  # the facet index (or `SqlChoices`) the page was computed from
    filterset: BrowseFilterSet
    count: int
    page: object
    entries: list
    facets: list
    chips: list
    sort: str
    per_page: int
    terms: list
    clear_url: str
    errors: dict = field(default_factory=dict)
    error_list: list = field(default_factory=list)  # (field label, messages, input id)
    matching_ids: list = field(default_factory=list)
    hidden_fields: list = field(default_factory=list)
    links: dict = field(default_factory=dict)
    view: str = VIEW_CHOICES[0][0]
    ids: object = ()  # every matching entry's id, in result order (for downloads)
    unfiltered_count: int = 0  # the whole catalog, or the whole topic page


@dataclass
class Found:
    """What a browse request selects: entry ids in result order (a sequence the
    paginator slices), their count, the facet panels and the chips."""

    count: int
    ids: object
    panels: list
    chips: list
    matching_ids: list
    unfiltered_count: int = 0


class Browser:
    """Runs one browse request. `scope` is a topic page (its own entries only)."""

    def __init__(self, params, *, path, index, scope=None):
        self.params, self.path, self.index, self.scope = params, path, index, scope

    def criteria(self, cleaned):
        """{facet name: its criterion} for every facet with a valid selection."""
        criteria = {}
        for facet in self.filterset.facets:
            value = facet.criterion(cleaned)
            if value is not None:
                criteria[facet.name] = value
        return criteria

    def run(self, *, page_number=None, fmt=None, with_entries=True):
        self.links = Links(self.path, self.params)
        self.filterset = BrowseFilterSet(self.params, index=self.index)
        cleaned = self.filterset.cleaned()
        text = cleaned.get("q", "")
        terms = search.words(text)
        options = ListOptionsForm(self.params)
        sort, per_page = options.options(has_text=bool(terms))
        found = self.select(cleaned, sort, fmt)
        page = Paginator(found.ids, per_page).get_page(page_number)
        entries = []
        if with_entries:
            # The compact and card lists from rows of plain values (half the time of entries
            # with their labels prefetched); the table and the formats read more of an entry.
            rows = fmt is None and options.chosen_view != "table"
            entries = (display_rows if rows else fetch_entries)([int(i) for i in page.object_list])
        result = BrowsePage(
            params=self.params,
            index=self.index,
            filterset=self.filterset,
            count=found.count,
            page=page,
            entries=entries,
            facets=found.panels,
            chips=found.chips if fmt is None else [],
            sort=sort,
            per_page=per_page,
            terms=terms,
            clear_url=self.links.url(**{k: None for k in self.params if k not in ("sort", "per_page")}),
            errors={**self.filterset.form.errors, **options.errors},
            matching_ids=found.matching_ids,
            view=options.chosen_view,
            ids=found.ids,
            unfiltered_count=found.unfiltered_count,
        )
        result.error_list = [
            (form[name].label, messages, f"id_{name}")
            for form in (self.filterset.form, options)
            for name, messages in form.errors.items()
        ]
        result.hidden_fields = [
            (key, value) for key, values in self.params.lists() if key not in VISIBLE_FIELDS for value in values
        ]
        links = self.links
        result.links = {name: links.url(format=name) for name in ("json", "csv", "atom")}
        result.links["html"] = links.url(page=page.number if page.number > 1 else None)
        if page.has_next():
            result.links["json_next"] = links.url(format="json", page=page.next_page_number())
        if page.has_previous():
            result.links["json_previous"] = links.url(format="json", page=page.previous_page_number())
        return result

    def select(self, cleaned, sort, fmt):
        """The matching entries in order, their count and the facet panels, from the index."""
        index = self.index
        criteria = self.criteria(cleaned)
        always = []  # on top of the entries a list may show (`index.visible()`)
        # The masks that are not facets, by name, for the "remove this filter" counts.
        self.masks = {"published": index.visible()}
        if self.scope is not None:
            always.append(index.topic_id.mask([self.scope.pk]))
            self.masks["scope"] = always[-1]
        text = cleaned.get("q", "")
        found = search.matches(text, ranked=sort == "relevance", version=index.version) if text else None
        ranked = None
        if found is not None:
            ranked = _positions(index, found)
            mask = np.zeros(index.size, dtype=bool)
            mask[ranked[0]] = True
            always.append(mask)
            self.masks["q"] = mask
        if cleaned.get("label"):  # labels of no group
            always.append(index.label.mask(cleaned["label"]))
            self.masks["label"] = always[-1]
        if cleaned.get("not_label"):
            always.append(~index.label.mask(cleaned["not_label"]))
            self.masks["not_label"] = always[-1]
        scope = None
        if self.scope is not None:
            scope = facets.TopicSections(index, self.scope)
        selection = facets.Selection(index, criteria, always=always, scope=scope)
        panels = self.panels(selection, criteria, fmt)
        return Found(
            count=selection.count,
            ids=selection.ordered_ids(sort, ranked),
            panels=panels,
            chips=self.chips(selection, panels, cleaned) if fmt is None else [],
            matching_ids=index.ids[selection.matches].tolist() if self.scope is not None else [],
            unfiltered_count=self._unfiltered_count(),
        )

    def _unfiltered_count(self):
        """The whole catalog's list (once per index), or the whole topic page's."""
        if "scope" in self.masks:
            return int(np.count_nonzero(self.masks["published"] & self.masks["scope"]))
        return self.index.visible_count()

    def panels(self, selection, criteria, fmt):
        expanded = self.params.get("more")
        links = self.links
        if fmt:
            params = self.params.copy()
            params.setlist("format", [fmt])
            links = Links(self.path, params)
        everything = fmt == "json"
        panels = []
        for facet in self.filterset.facets:
            if not facet.shown(self):
                continue
            counts = selection.counts(facet, criteria.get(facet.name))
            limit = EXPANDED_LIMIT if expanded == facet.name or everything else FACET_LIMIT
            values, more = [], 0
            for key, text, count in zip(counts.keys, counts.labels, counts.counts, strict=True):
                chosen = key in counts.selected
                if not chosen and not count:
                    continue
                if hasattr(facet, "visible") and not facet.visible(self, key):
                    continue
                if counts.presorted and len(values) >= limit and not chosen:
                    more += 1  # not shown: no object for it
                    continue
                values.append(FacetValue(str(key), text, count, chosen, ""))
            more += counts.more
            if facet.sorted_by_count and not counts.presorted:
                values.sort(key=lambda v: (-v.count, v.label.casefold()))
            if not values:
                continue
            shown = [v for i, v in enumerate(values) if i < limit or v.selected]
            # Links only for the values shown: a facet can have thousands.
            for value in shown:
                value.toggle_url = self.toggle_url(links, facet, facet.key_of(value.value), value.selected)
            hidden = len(values) - len(shown) + more
            panel = FacetPanel(facet.name, facet.label, facet.kind, shown, hidden, facet=facet)
            if panel.hidden:
                panel.more_url = self.links.url(more=facet.name, page=self.params.get("page"))
            elif expanded == facet.name:
                panel.less_url = self.links.url(more=None, page=self.params.get("page"))
            panels.append(panel)
        return panels

    def toggle_url(self, links, facet, key, chosen):
        """The URL (of `links`: this page's) that adds (or, when `chosen`, removes) one value of a facet."""
        return links.url(**facet.toggle(links.params, key, chosen))

    def chips(self, selection, panels, cleaned):
        """The active filters, each with a link that removes it and, when
        nothing matches, how many results there would be without it."""
        chips = []
        for panel in panels:
            for value in panel.selected:
                facet = panel.facet
                without = None
                if not selection.count:
                    without = selection.count_without(
                        facet.name, facet.rest([v.value for v in panel.selected], value.value)
                    )
                remove_url = self.toggle_url(self.links, facet, facet.key_of(value.value), True)
                chips.append(Chip(f"{panel.label}: {value.label}", remove_url, without))
        labels_of = dict(zip(self.index.label.values.keys, self.index.label.values.labels, strict=True))
        for slug in cleaned.get("not_label", []):
            rest = [s for s in cleaned["not_label"] if s != slug]
            without = None
            if not selection.count:
                without = self._count_with(selection, not_label=~self.index.label.mask(rest) if rest else None)
            remove = self.links.url(not_label=rest)
            chips.append(Chip(f"Excluding: {labels_of.get(slug, slug)}", remove, without))
        if cleaned.get("q"):
            without = self._count_with(selection, q=None) if not selection.count else None
            chips.append(Chip(f"Search: “{cleaned['q']}”", self.links.url(q=None), without))
        return chips

    def _count_with(self, selection, **replaced):
        """How many entries match if the named non-facet masks ("q", "not_label") were replaced (None: dropped)."""
        mask = np.ones(self.index.size, dtype=bool)
        for own in selection.own.values():
            mask &= own
        for current in {**self.masks, **replaced}.values():
            if current is not None:
                mask &= current
        return int(mask.sum())


def _positions(index, found):
    """The entry numbers of a query's matches (ascending: the index numbers entries in id
    order) and their sort keys, leaving out ids the index does not hold."""
    positions, known = index.located(found.ids)
    return positions, None if found.keys is None else found.keys[known]


class SqlBrowser(Browser):
    """The same request answered from SQL alone (the FilterSet's queryset),
    with the right results and count but no facet counts: what a reader gets
    when the index cannot be built, instead of an error page."""

    ORDER = {
        "newest": (F("year").desc(nulls_last=True), Lower("title"), "id"),
        "stars": (F("github_stars").desc(nulls_last=True), F("year").desc(nulls_last=True), "id"),
        "rating": (F("rating").desc(nulls_last=True), F("year").desc(nulls_last=True), Lower("title"), "id"),
        "title": (Lower("title"), "id"),
        "added": ("-created_at", "-id"),
        # Reversed: the first key turned round, empty values still last, the same tie-breaks.
        "-newest": (F("year").asc(nulls_last=True), Lower("title"), "id"),
        "-stars": (F("github_stars").asc(nulls_last=True), F("year").desc(nulls_last=True), "id"),
        "-rating": (F("rating").asc(nulls_last=True), F("year").desc(nulls_last=True), Lower("title"), "id"),
        "-title": (Lower("title").desc(), "id"),
        "-added": ("created_at", "id"),
    }

    def select(self, cleaned, sort, fmt):
        queryset = self.filterset.qs
        if self.scope is not None:
            queryset = queryset.filter(id__in=Placement.objects.filter(section__topic=self.scope).values("entry_id"))
        if sort == "relevance":
            found = set(queryset.values_list("id", flat=True))
            ids = [i for i in search.sql_matching_ids(cleaned["q"]) if i in found]
            count = len(ids)
        else:
            ids = queryset.order_by(*self.ORDER.get(sort, self.ORDER["newest"])).values_list("id", flat=True)
            count = ids.count()
        chips = []
        for facet in self.filterset.facets:
            criterion = facet.criterion(cleaned)
            for key, text in facet.described(criterion) if criterion is not None else ():
                chips.append(Chip(f"{facet.label}: {text}", self.toggle_url(self.links, facet, key, True)))
        if cleaned.get("q"):
            chips.append(Chip(f"Search: “{cleaned['q']}”", self.links.url(q=None)))
        matching = list(queryset.values_list("id", flat=True)) if self.scope is not None else []
        return Found(count=count, ids=ids, panels=[], chips=chips, matching_ids=matching)


class Row(dict):
    """An entry as a list row shows it (`pages.entry_rows()`): a dict, which the template
    engine reads with one key lookup, that Python code reads and writes by attribute too
    (`row.id`, `row.title_html = ...`)."""

    __slots__ = ()
    __setattr__ = dict.__setitem__

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def display_rows(ids):
    """The list rows of the entries with these ids, in this order (two queries)."""
    rows = entry_rows(ids)
    return [Row(rows[i], id=i) for i in ids if i in rows]


def fetch_entries(ids):
    """The entries with these ids, in this order, with their card data (two queries)."""
    if not ids:
        return []
    found = Entry.objects.with_card_data().in_bulk(ids)
    return [found[i] for i in ids if i in found]
