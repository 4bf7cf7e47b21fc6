"""The one FilterSet for browsing: URL parameters, their validation, and the
database's answer.

The choices of every facet come from the in-memory facet index, so building
and validating the form costs no query. `BrowseFilterSet.qs` filters in SQL:
it is the reference the in-memory facet counts are tested against.
"""

import re

import django_filters
from django import forms
from django.db.models import Q

from . import search, tree
from .models import Entry, Placement, Section, TaggedEntry

PER_PAGE_CHOICES = (20, 50, 100)
SORT_CHOICES = [
    ("relevance", "Relevance"),
    ("newest", "Newest"),
    ("stars", "Most stars"),
    ("rating", "Rating"),
    ("title", "Title"),
    ("added", "Recently added"),
]
# Each order reversed ("-" + its value): a sorted table column's heading, chosen again, sends it.
REVERSED_SORTS = [
    ("-newest", "Oldest"),
    ("-stars", "Fewest stars"),
    ("-rating", "Lowest rating"),
    ("-title", "Title, Z to A"),
    ("-added", "First added"),
]
# How a list is shown: one line a link (the default), cards, or a table (browse only).
VIEW_CHOICES = [("compact", "Compact"), ("cards", "Cards"), ("table", "Table")]
# Parameters that are not filters; a label group cannot take these names.
RESERVED = {"q", "sort", "per_page", "page", "format", "more", "lang", "tag", "view", "download"}


class KeyChoiceField(forms.MultipleChoiceField):
    """Several values, each a key of a mapping from the facet index.

    The mapping is shared, never copied: Django deep-copies a form's fields
    for every request, and a facet can have thousands of values.
    """

    default_error_messages = {"invalid_choice": "no “%(value)s” in the catalog; this filter was not applied."}

    def __init__(self, *args, keys=None, **kwargs):
        super().__init__(*args, choices=(), **kwargs)
        self.keys = keys if keys is not None else {}

    def valid_value(self, value):
        return value in self.keys


class KeyChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = KeyChoiceField


def number_messages(what):
    """Error messages of a number filter, in a reader's words."""
    return {
        "invalid": f"that is not {what}; this filter was not applied.",
        "min_value": "must be %(limit_value)s or more; this filter was not applied.",
        "max_value": "must be %(limit_value)s or less; this filter was not applied.",
    }


# --- the SQL of each facet (the registry names these) ------------------------------------


def sql_placed(queryset, name, value):
    """Entries placed on a page of these editions, dimensions or topics (by slug)."""
    lookup = {"edition": "section__topic__edition__slug__in", "dimension": "section__topic__dimension__slug__in"}
    lookup = lookup.get(name, "section__topic__slug__in")
    return queryset.filter(id__in=Placement.objects.filter(**{lookup: value}).values("entry_id"))


def sql_section(queryset, name, value):
    """Entries placed in these sections (`topic/section`) or below them."""
    rows = list(Section.objects.values_list("id", "parent_id", "slug", "topic__slug"))
    children = tree.children_of([r[0] for r in rows], parent={r[0]: r[1] for r in rows}.get)
    chosen = [sid for sid, _, slug, topic in rows if f"{topic}/{slug}" in value]
    below = tree.descendants(chosen, children)
    return queryset.filter(id__in=Placement.objects.filter(section_id__in=below).values("entry_id"))


def sql_label(queryset, name, value):
    return queryset.filter(id__in=TaggedEntry.objects.filter(tag__slug__in=value).values("content_object_id"))


def sql_not_label(queryset, name, value):
    return queryset.exclude(id__in=TaggedEntry.objects.filter(tag__slug__in=value).values("content_object_id"))


def sql_language(queryset, name, value):
    condition = Q()
    for language in value:
        condition |= Q(language__iexact=language)
    return queryset.filter(condition)


def sql_flag(field_name):
    """The SQL of a yes-only filter on a boolean field."""

    def flag(queryset, name, value):
        return queryset.filter(**{field_name: True})

    return flag


def sql_link_state(queryset, name, value):
    return queryset.filter(link_state__in=value)


def sql_site(queryset, name, value):
    condition = Q()
    for host in value:
        # The SQL twin of models.url_host(): optional user info and `www.`, then the host.
        pattern = r"^https?://([^@/?#]*@)?(www\.)?" + re.escape(host) + r"([:/?#]|$)"
        condition |= Q(url__iregex=pattern)
    return queryset.filter(condition)


class BrowseFilterSet(django_filters.FilterSet):
    """The search box, label routing and exclusion, plus one filter per URL
    parameter of each facet in the registry (`facets.registry`)."""

    q = django_filters.CharFilter(method="filter_text", label="Search", max_length=search.MAX_QUERY_LENGTH)
    # Any label, whatever its group; the browse page moves known ones to their group's parameter.
    label = KeyChoiceFilter(method=sql_label, label="Label")
    not_label = KeyChoiceFilter(method=sql_not_label, label="Without label")

    class Meta:
        model = Entry
        fields = []

    def __init__(self, data=None, *, index, **kwargs):
        from .facets import registry

        super().__init__(data, queryset=Entry.objects.visible(), **kwargs)
        # No reference to the index here: a FilterSet and its filters (`parent`) form a cycle,
        # which only the garbage collector frees, and it would keep a replaced index (tens of
        # MiB) alive with it; the browse page's result holds the index instead.
        self.filters["label"].extra["keys"] = index.label.values.position
        self.filters["not_label"].extra["keys"] = index.label.values.position
        self.facets = registry(index)
        for facet in self.facets:
            for name, facet_filter in facet.filters(index).items():
                facet_filter.model, facet_filter.parent = Entry, self
                facet_filter.field_name = facet_filter.field_name or name
                self.filters[name] = facet_filter

    def cleaned(self):
        """The valid filter values; a field with an invalid value is left out (its error shows on the form).
        A year range that ends before it starts is left out whole."""
        form = self.form
        form.is_valid()
        low, high = form.cleaned_data.get("year_min"), form.cleaned_data.get("year_max")
        if low is not None and high is not None and low > high:
            message = f"{high:g} is before {low:g} (Year from); the year range was not applied."
            form.add_error("year_max", forms.ValidationError(message, code="year_range"))
            form.cleaned_data.pop("year_min", None)
        return {name: value for name, value in form.cleaned_data.items() if value not in (None, "", [])}

    @property
    def qs(self):
        """The database's answer, applying only the valid fields."""
        queryset = self.queryset
        cleaned = self.cleaned()
        for name, value in cleaned.items():
            queryset = self.filters[name].filter(queryset, value)
        for facet in self.facets:  # what a facet leaves out when nothing is chosen (dead links)
            if hasattr(facet, "sql_default") and facet.name not in cleaned:
                queryset = facet.sql_default(queryset)
        return queryset

    def filter_text(self, queryset, name, value):
        ids = search.sql_matching_ids(value)
        return queryset if ids is None else queryset.filter(id__in=ids)


class ListOptionsForm(forms.Form):
    """How to list the results: order, page size and view (not filters).

    A bad value is reported in the reader's words and the default is used.
    """

    sort = forms.ChoiceField(
        choices=SORT_CHOICES + REVERSED_SORTS,
        required=False,
        error_messages={"invalid_choice": "“%(value)s” is not a way to sort; sorted the default way instead."},
    )
    per_page = forms.TypedChoiceField(
        choices=[(n, n) for n in PER_PAGE_CHOICES],
        coerce=int,
        required=False,
        label="Per page",
        error_messages={
            "invalid_choice": "“%(value)s” is not offered (choose "
            + ", ".join(str(n) for n in PER_PAGE_CHOICES[:-1])
            + f" or {PER_PAGE_CHOICES[-1]}); showing {PER_PAGE_CHOICES[0]} a page."
        },
    )
    view = forms.ChoiceField(
        choices=VIEW_CHOICES,
        required=False,
        error_messages={
            "invalid_choice": "“%(value)s” is not a view (compact, cards or table); showing the compact list."
        },
    )

    def options(self, has_text):
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        sort = data.get("sort") or ("relevance" if has_text else "newest")
        if sort == "relevance" and not has_text:
            sort = "newest"
        return sort, data.get("per_page") or PER_PAGE_CHOICES[0]

    @property
    def chosen_view(self):
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("view") or VIEW_CHOICES[0][0]
