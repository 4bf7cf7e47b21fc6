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

from . import search
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


class BrowseFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Search", max_length=search.MAX_QUERY_LENGTH)
    edition = KeyChoiceFilter(method="filter_placed", label="Edition")
    dimension = KeyChoiceFilter(method="filter_placed", label="Dimension")
    topic = KeyChoiceFilter(method="filter_placed", label="Topic")
    section = KeyChoiceFilter(method="filter_section", label="Section")
    # Any label, whatever its group; the browse page moves known ones to their group's parameter.
    label = KeyChoiceFilter(method="filter_label", label="Label")
    not_label = KeyChoiceFilter(method="filter_not_label", label="Without label")
    language = KeyChoiceFilter(method="filter_language", label="Language")
    year_min = django_filters.NumberFilter(
        field_name="year",
        lookup_expr="gte",
        label="Year from",
        min_value=1900,
        max_value=2100,
        error_messages=number_messages("a year"),
    )
    year_max = django_filters.NumberFilter(
        field_name="year",
        lookup_expr="lte",
        label="Year to",
        min_value=1900,
        max_value=2100,
        error_messages=number_messages("a year"),
    )
    stars_min = django_filters.NumberFilter(
        field_name="github_stars",
        lookup_expr="gte",
        label="GitHub stars at least",
        min_value=0,
        max_value=10**9,
        error_messages=number_messages("a number of stars"),
    )
    rating_min = django_filters.NumberFilter(
        field_name="rating",
        lookup_expr="gte",
        label="Rating at least",
        min_value=1,
        max_value=5,
        error_messages=number_messages("a rating from 1 to 5"),
    )
    featured = django_filters.ChoiceFilter(method="filter_featured", label="Featured", choices=[("1", "Featured only")])
    site = KeyChoiceFilter(method="filter_site", label="Source site")

    class Meta:
        model = Entry
        fields = []

    def __init__(self, data=None, *, index, **kwargs):
        super().__init__(data, queryset=Entry.objects.all(), **kwargs)
        self.index = index
        for name in ("edition", "dimension", "topic", "section", "language", "site"):
            self.filters[name].extra["keys"] = getattr(index, name).values.position
        self.filters["label"].extra["keys"] = index.label.values.position
        self.filters["not_label"].extra["keys"] = index.label.values.position
        for slug, name in index.groups:
            if slug in RESERVED or slug in self.filters:
                continue
            group_filter = KeyChoiceFilter(method="filter_label", label=name, keys=index.group_keys(slug))
            group_filter.model, group_filter.parent, group_filter.field_name = Entry, self, slug
            self.filters[slug] = group_filter

    @property
    def label_groups(self):
        return [slug for slug, _ in self.index.groups if slug in self.filters]

    def cleaned(self):
        """The valid filter values; a field with an invalid value is left out (its error shows on the form).
        A year range that ends before it starts is left out whole."""
        form = self.form
        if form.is_valid() or not form.has_error("year_min") and not form.has_error("year_max"):
            low, high = form.cleaned_data.get("year_min"), form.cleaned_data.get("year_max")
            if low is not None and high is not None and low > high:
                form.add_error(
                    "year_max",
                    forms.ValidationError(
                        f"{high:g} is before {low:g} (Year from); the year range was not applied.", code="year_range"
                    ),
                )
                form.cleaned_data.pop("year_min", None)
        return {name: value for name, value in form.cleaned_data.items() if value not in (None, "", [])}

    @property
    def qs(self):
        """The database's answer, applying only the valid fields."""
        queryset = self.queryset
        for name, value in self.cleaned().items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    # --- the SQL of each filter -------------------------------------------------

    def filter_text(self, queryset, name, value):
        ids = search.matching_ids(value)
        return queryset if ids is None else queryset.filter(id__in=ids)

    def filter_placed(self, queryset, name, value):
        lookup = {"edition": "section__topic__edition__slug__in", "dimension": "section__topic__dimension__slug__in"}
        lookup = lookup.get(name, "section__topic__slug__in")
        return queryset.filter(id__in=Placement.objects.filter(**{lookup: value}).values("entry_id"))

    def filter_section(self, queryset, name, value):
        rows = list(Section.objects.values_list("id", "parent_id", "slug", "topic__slug"))
        children = {}
        for sid, parent, _, _ in rows:
            children.setdefault(parent, []).append(sid)
        chosen = [sid for sid, _, slug, topic in rows if f"{topic}/{slug}" in value]
        below = set()
        while chosen:
            sid = chosen.pop()
            if sid not in below:
                below.add(sid)
                chosen.extend(children.get(sid, []))
        return queryset.filter(id__in=Placement.objects.filter(section_id__in=below).values("entry_id"))

    def filter_label(self, queryset, name, value):
        return queryset.filter(id__in=TaggedEntry.objects.filter(tag__slug__in=value).values("content_object_id"))

    def filter_not_label(self, queryset, name, value):
        return queryset.exclude(id__in=TaggedEntry.objects.filter(tag__slug__in=value).values("content_object_id"))

    def filter_language(self, queryset, name, value):
        condition = Q()
        for language in value:
            condition |= Q(language__iexact=language)
        return queryset.filter(condition)

    def filter_featured(self, queryset, name, value):
        return queryset.filter(featured=True)

    def filter_site(self, queryset, name, value):
        condition = Q()
        for host in value:
            # The SQL twin of models.url_host(): optional user info and `www.`, then the host.
            pattern = r"^https?://([^@/?#]*@)?(www\.)?" + re.escape(host) + r"([:/?#]|$)"
            condition |= Q(url__iregex=pattern)
        return queryset.filter(condition)


class ListOptionsForm(forms.Form):
    """How to list the results: order, page size and view (not filters).

    A bad value is reported in the reader's words and the default is used.
    """

    sort = forms.ChoiceField(
        choices=SORT_CHOICES,
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
