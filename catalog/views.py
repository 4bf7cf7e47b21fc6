"""Thin views: parse the request, call a queryset or page builder, render."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from . import pages
from .models import Dimension, Edition, Entry, Label

LABEL_PAGE_SIZE = 50


def _editions():
    editions = list(Edition.objects.all())
    if not editions:
        raise Http404("No edition has been loaded yet: run `make run` or `manage.py loaddata base istio networking`.")
    return editions


def _edition(editions, slug):
    if slug is None:
        return editions[0]
    for edition in editions:
        if edition.slug == slug:
            return edition
    raise Http404(f"No edition {slug!r}.")


def home(request, edition=None):
    editions = list(Edition.objects.all())
    if not editions:
        return render(request, "catalog/home.html", {"editions": [], "dimensions": []})
    current = _edition(editions, edition)
    dimensions = list(
        Dimension.objects.filter(edition=current).prefetch_related(
            # Topics with their entry counts, in one query for all dimensions.
            pages.topics_with_counts_prefetch()
        )
    )
    return render(
        request,
        "catalog/home.html",
        {
            "editions": editions,
            "edition": current,
            "dimensions": dimensions,
            "newest": pages.newest_entries(),
        },
    )


def topic(request, slug, edition=None):
    editions = _editions()
    current = _edition(editions, edition)
    switch, exists_somewhere = pages.edition_switch(slug, current, editions)
    if not exists_somewhere:
        raise Http404(f"No topic {slug!r}.")
    page = current.topics.select_related("dimension").prefetch_related("related").filter(slug=slug).first()
    context = {"edition": current, "editions": editions, "switch": switch, "slug": slug, "topic": page}
    if page is not None:
        context["outline"] = pages.topic_outline(page)
        context["related"] = [(t, pages.topic_url(t.slug, current, editions[0])) for t in page.related.all()]
    return render(request, "catalog/topic.html", context)


def entry(request, pk):
    item = get_object_or_404(Entry.objects.with_card_data(), pk=pk)
    return render(request, "catalog/entry.html", {"entry": item, "listings": pages.entry_listings(item)})


def label(request, slug):
    item = get_object_or_404(Label.objects.select_related("group"), slug=slug)
    entries = Entry.objects.filter(tagged_items__tag=item).with_card_data().order_by("-year", "title", "id")
    page = Paginator(entries, LABEL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/label.html", {"label": item, "page": page})


def labels(request):
    groups = {}
    # Meta.ordering does not apply to a GROUP BY query: without this the order is the table's.
    rows = Label.objects.select_related("group").annotate(entry_count=Count("tagged_entries"))
    for item in rows.order_by("group__position", "position", "name"):
        groups.setdefault(item.group, []).append(item)
    return render(request, "catalog/labels.html", {"groups": list(groups.items())})
