"""Thin views: parse the request, call a queryset or page builder, render."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from . import charts, facet_index, formats, pages, search, sitesearch, stats
from .browse import Browser, Links, SqlBrowser, canonical_params, fetch_entries
from .contexts import list_controls, pagination
from .filters import PER_PAGE_CHOICES
from .formats import DOWNLOADS, FORMATS, render_format
from .models import Dimension, Edition, Entry, Label, Topic

# Parameters that do not filter a topic page.
LIST_OPTIONS = {"page", "sort", "per_page", "format", "more", "expand", "view"}

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
    newest = list(pages.newest_entries())
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        # The newest entries, as on the page.
        newest_page = Paginator(newest, max(len(newest), 1)).get_page(1)
        result = formats.plain_list(newest_page, path=request.path, sort="added")
        return render_format(fmt, result, request, title="meshportal: newest entries", filename="meshportal-newest")
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
            "newest": newest,
        },
    )


def _browse(request, *, path, scope=None, with_entries=True):
    """Run the faceted browse for this request: (result, redirect URL or None)."""
    try:
        index, browser = facet_index.get_index(getattr(request, "catalog_version", None)), Browser
    except facet_index.IndexUnavailable:
        index, browser = facet_index.SqlChoices(), SqlBrowser
    params, changed = canonical_params(request.GET, index)
    if changed:
        query = params.urlencode(safe="/:")
        return None, f"{path}?{query}" if query else path
    fmt = request.GET.get("format")
    if request.GET.get("download") in DOWNLOADS:
        fmt = "csv"  # no page of entries to fetch: the download streams them all
        with_entries = False
    result = browser(params, path=path, index=index, scope=scope).run(
        page_number=request.GET.get("page"),
        fmt=fmt if fmt in FORMATS else None,
        with_entries=with_entries or (fmt in FORMATS and "download" not in request.GET),
    )
    if result.terms:
        for item in result.entries:
            item.title_html = search.highlight(item.title, result.terms)
            item.description_html = search.highlight(item.description, result.terms)
    return result, None


def _format_response(request, result, *, title, filename):
    fmt, wanted = request.GET.get("format"), request.GET.get("download")
    if wanted in DOWNLOADS:
        return formats.download(wanted, result.ids, result.count, fetch_entries, request, filename=f"{filename}-all")
    if fmt in FORMATS:
        return render_format(fmt, result, request, title=title, filename=filename)
    return None


def browse(request):
    result, moved = _browse(request, path=request.path)
    if moved:
        return redirect(moved)
    response = _format_response(request, result, title="meshportal: browse", filename="meshportal-browse")
    if response:
        return response
    return render(
        request,
        "catalog/browse.html",
        {"result": result, "controls": list_controls(result, request.path), "per_page_choices": PER_PAGE_CHOICES},
    )


def topic(request, slug, edition=None):
    editions = _editions()
    current = _edition(editions, edition)
    switch, exists_somewhere, page = pages.edition_switch(slug, current, editions)
    if not exists_somewhere:
        raise Http404(f"No topic {slug!r}.")
    context = {"edition": current, "editions": editions, "switch": switch, "slug": slug, "topic": page}
    if page is not None:
        result, moved = _browse(request, path=request.path, scope=page, with_entries=False)
        if moved:
            return redirect(moved)
        if request.GET.get("format") in FORMATS:
            pages.use_listing_words(page, result.entries)  # the page's exports in the page's words
        response = _format_response(request, result, title=f"meshportal: {page.title}", filename=f"meshportal-{slug}")
        if response:
            return response
        filtering = any(key not in LIST_OPTIONS for key in request.GET)
        context.update(result=result, filtering=filtering, per_page_choices=PER_PAGE_CHOICES)
        context["controls"] = list_controls(result, request.path, table=False)
        only = set(result.matching_ids) if filtering else None
        index = result.index
        context["outline"] = pages.topic_outline(
            page,
            only=only,
            sections=[s for s in index.tree.sections if s.topic_id == page.pk] if index.tree else None,
            listings=index.topic_listings(page.pk, only),
            expand=request.GET.get("expand"),
            page=request.GET.get("page"),
            link=Links(request.path, request.GET).url,  # a link a long section: parameters quoted once
        )
        related, context["related_curated"] = pages.related_topics(page, shared=index.shared_entries(page.pk))
        context["related"] = [(t, pages.topic_url(t.slug, current, editions[0])) for t in related]
    return render(request, "catalog/topic.html", context)


def entry(request, pk):
    item = get_object_or_404(Entry.objects.visible().with_card_data(), pk=pk)
    listings = pages.entry_listings(item)
    if request.GET.get("format") == "json":
        return formats.entry_detail(item, listings, request)
    return render(request, "catalog/entry.html", {"entry": item, "listings": listings})


def label(request, slug):
    item = get_object_or_404(Label.objects.public().select_related("group"), slug=slug)
    entries = Entry.objects.listed().filter(tagged_items__tag=item).with_card_data().order_by("-year", "title", "id")
    page = Paginator(entries, LABEL_PAGE_SIZE).get_page(request.GET.get("page"))
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        result = formats.plain_list(page, path=request.path, sort="newest")
        return render_format(fmt, result, request, title=f"meshportal: {item.name}", filename=f"meshportal-{slug}")
    context = {
        "label": item,
        "page": page,
        "pagination": pagination(page, lambda n: f"{request.path}?page={n}" if n > 1 else request.path),
        "links": formats.plain_list(page, path=request.path, sort="newest").links,
    }
    return render(request, "catalog/label.html", context)


def labels(request):
    groups = {}
    # Meta.ordering does not apply to a GROUP BY query: without this the order is the table's.
    rows = Label.objects.public().select_related("group")
    rows = rows.annotate(entry_count=Count("tagged_entries"))
    for item in rows.order_by("group__position", "position", "name"):
        groups.setdefault(item.group, []).append(item)
    return render(request, "catalog/labels.html", {"groups": list(groups.items())})


def _stat_chart(table):
    """The chart that draws one statistics table."""
    if table.slug == "years":
        series = charts.series_of(table, [f"series-{i}" for i in range(len(table.keys))])
        chart = charts.columns(table.slug, table.title, [r[0] for r in table.rows], series, grouped=True)
        totals = stats.Table(table.slug, table.title, table.columns[:2], [[r[0], sum(r[1:])] for r in table.rows])
        chart.summary = f"{len(table.rows)} years. " + charts.largest(totals)
    elif table.slug == "maturity":
        series = charts.series_of(table, [f"tier-{key}" for key in table.keys])
        chart = charts.rows(table.slug, table.title, [r[0] for r in table.rows], series)
        chart.summary = f"{len(table.rows)} topics, each bar split by maturity tier."
    elif table.slug in ("languages", "links"):
        chart = charts.rows(table.slug, table.title, [r[0] for r in table.rows], charts.series_of(table, ["series-0"]))
        chart.summary = f"{len(table.rows)} languages. " + charts.largest(table)
    else:
        added = [("", "series-0", [r[1] for r in table.rows])]
        chart = charts.columns(table.slug, table.title, [r[0] for r in table.rows], added)
        chart.summary = f"{len(table.rows)} months. " + charts.largest(table)
    chart.table = table
    return chart


def stats_page(request):
    chart, fmt = request.GET.get("chart"), request.GET.get("format")
    if chart is not None and chart not in stats.STATISTICS:
        return HttpResponseBadRequest(
            f"There is no chart “{chart}”: choose one of {', '.join(stats.STATISTICS)}.", content_type="text/plain"
        )
    tables = [stats.STATISTICS[chart]()] if chart and fmt in ("json", "csv") else stats.all_tables()
    if fmt == "json":
        return JsonResponse({t.slug: t.as_dict() for t in tables}, json_dumps_params={"ensure_ascii": False})
    if fmt == "csv":
        if not chart:
            return HttpResponseBadRequest(
                f"CSV holds one table: add chart= one of {', '.join(stats.STATISTICS)}.", content_type="text/plain"
            )
        response = HttpResponse(formats.table_csv(tables[0]), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="meshportal-stats-{chart}.csv"'
        return response
    return render(request, "catalog/stats.html", {"charts": [_stat_chart(t) for t in tables]})


NEW_PAGE_SIZE = 50


class AddedList:
    """A page of recently added entries, shaped as `formats.render_format` expects."""

    sort = "added"
    errors = ()
    facets = ()
    per_page = NEW_PAGE_SIZE

    def __init__(self, page, path):
        self.page, self.count, self.entries = page, page.paginator.count, list(page.object_list)
        self.links = {
            "html": path,
            "atom": f"{path}?format=atom",
            "json_next": f"{path}?format=json&page={page.next_page_number()}" if page.has_next() else None,
            "json_previous": f"{path}?format=json&page={page.previous_page_number()}" if page.has_previous() else None,
        }


def new(request, slug=None):
    """What's new: entries by when they were added (not their year), paginated, with
    where each is listed; `?format=atom|json|csv`; per topic at /topics/<slug>/new/."""
    topic = None
    if slug is not None:
        topic = Topic.objects.select_related("edition").filter(slug=slug).order_by("edition__position").first()
        if topic is None:
            raise Http404(f"No topic {slug!r}.")
    page = Paginator(pages.recently_added(slug), NEW_PAGE_SIZE).get_page(request.GET.get("page"))
    result = AddedList(page, request.path)
    title = f"New in {topic.title}" if topic else "What's new"
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        return render_format(fmt, result, request, title=title, filename=f"new-{slug}" if slug else "new")
    listed = pages.where_listed(result.entries)
    items = [(entry, listed.get(entry.pk, [])) for entry in result.entries]
    return render(request, "catalog/new.html", {"title": title, "topic": topic, "page": page, "items": items})


def site_search(request):
    """The header search: topics, sections and entries, grouped; `format=json` for the suggestions."""
    text = request.GET.get("q", "")[: search.MAX_QUERY_LENGTH]
    if request.GET.get("format") == "json":
        return JsonResponse(sitesearch.suggestions(text))
    return render(request, "catalog/search.html", {"results": sitesearch.site_search(text), "query": text})
