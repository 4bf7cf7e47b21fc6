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
# Parameters that are not filters; a label group cannot take these names.
RESERVED = {"q", "sort", "per_page", "page", "format", "more", "lang", "tag"}


class KeyChoiceField(forms.MultipleChoiceField):
    """Several values, each a key of a mapping from the facet index.

    The mapping is shared, never copied: Django deep-copies a form's fields
    for every request, and a facet can have thousands of values.
    """

    def __init__(self, *args, keys=None, **kwargs):
        super().__init__(*args, choices=(), **kwargs)
        self.keys = keys if keys is not None else {}

    def valid_value(self, value):
        return value in self.keys


class KeyChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = KeyChoiceField


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
        self.index = index
        self.filters["label"].extra["keys"] = index.label.values.position
        self.filters["not_label"].extra["keys"] = index.label.values.position
        self.facets = registry(index)
        for facet in self.facets:
            for name, facet_filter in facet.filters(index).items():
                facet_filter.model, facet_filter.parent = Entry, self
                facet_filter.field_name = facet_filter.field_name or name
                self.filters[name] = facet_filter

    def cleaned(self):
        """The valid filter values; a field with an invalid value is left out (its error shows on the form)."""
        self.form.is_valid()
        return {name: value for name, value in self.form.cleaned_data.items() if value not in (None, "", [])}

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
        ids = search.matching_ids(value)
        return queryset if ids is None else queryset.filter(id__in=ids)


class ListOptionsForm(forms.Form):
    """How to list the results: order and page size (not filters)."""

    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)
    per_page = forms.TypedChoiceField(
        choices=[(n, n) for n in PER_PAGE_CHOICES], coerce=int, required=False, label="Per page"
    )

    def options(self, has_text):
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        sort = data.get("sort") or ("relevance" if has_text else "newest")
        if sort == "relevance" and not has_text:
            sort = "newest"
        return sort, data.get("per_page") or PER_PAGE_CHOICES[0]
