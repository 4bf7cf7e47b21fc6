"""A list of entries as JSON, CSV or Atom: the same entries as the HTML page;
and the whole of a filtered result as a streamed CSV or JSON Lines download."""

import csv
import io
import json
from dataclasses import dataclass, field

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.feedgenerator import Atom1Feed

FORMATS = ("json", "csv", "atom")
DOWNLOADS = ("csv", "jsonl")
# Entries fetched a batch at a time while streaming: memory stays flat whatever the result's size.
DOWNLOAD_BATCH = 500
CSV_COLUMNS = [
    "title",
    "url",
    "year",
    "github_stars",
    "language",
    "rating",
    "featured",
    "labels",
    "description",
    "permalink",
]
# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entry_record(entry, request):
    return {
        "title": entry.title,
        "url": entry.url,
        "year": entry.year,
        "github_stars": entry.github_stars,
        "language": entry.language,
        "rating": entry.rating,
        "featured": entry.featured,
        "labels": [item.tag.name for item in entry.tagged_items.all()],
        "description": entry.description,
        "permalink": request.build_absolute_uri(entry.get_absolute_url()),
    }


def as_json(result, request):
    page = result.page
    absolute = request.build_absolute_uri
    return JsonResponse(
        {
            "count": result.count,
            "page": page.number,
            "num_pages": page.paginator.num_pages,
            "per_page": result.per_page,
            "sort": result.sort,
            "next": absolute(result.links["json_next"]) if page.has_next() else None,
            "previous": absolute(result.links["json_previous"]) if page.has_previous() else None,
            "errors": result.errors,
            "results": [entry_record(entry, request) for entry in result.entries],
            "facets": [
                {
                    "name": panel.name,
                    "label": panel.label,
                    "values": [
                        {
                            "value": value.value,
                            "label": value.label,
                            "count": value.count,
                            "selected": value.selected,
                            "toggle_url": absolute(value.toggle_url),
                        }
                        for value in panel.values
                    ],
                }
                for panel in result.facets
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def entry_detail(entry, listings, request):
    """An entry page as JSON: the record and every place that lists it."""
    record = entry_record(entry, request)
    record["added"] = entry.created_at.isoformat()
    record["updated"] = entry.updated_at.isoformat()
    record["listed_in"] = [
        {
            "edition": topic.edition.slug,
            "topic": topic.title,
            "path": path,
            "url": request.build_absolute_uri(f"{topic.get_absolute_url()}#{section.slug}"),
            "title": listing.shown_title,  # the words this page uses for the link
            "description": listing.shown_description,
        }
        for topic, path, section, listing in listings
    ]
    return JsonResponse(record, json_dumps_params={"ensure_ascii": False})


@dataclass
class PlainList:
    """A list of entries without facets (a label page, the newest entries), shaped
    like a browse result for the formats above."""

    count: int
    page: object
    entries: list
    per_page: int
    sort: str
    links: dict
    errors: dict = field(default_factory=dict)
    facets: list = field(default_factory=list)


def plain_list(page, *, path, sort, extra=""):
    """A PlainList for a Django page of entries at `path` (`extra`: its other parameters)."""

    def url(fmt, number=None):
        query = [f"format={fmt}"] if fmt else []
        if number and number > 1:
            query.append(f"page={number}")
        return f"{path}?{'&'.join(query + ([extra] if extra else []))}" if query or extra else path

    links = {fmt: url(fmt, page.number) for fmt in FORMATS}
    links["html"] = url(None, page.number)
    if page.has_next():
        links["json_next"] = url("json", page.next_page_number())
    if page.has_previous():
        links["json_previous"] = url("json", page.previous_page_number())
    return PlainList(page.paginator.count, page, list(page.object_list), page.paginator.per_page, sort, links)


def spreadsheet_safe(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(entry, request):
    record = entry_record(entry, request)
    record["labels"] = "; ".join(record["labels"])
    record["featured"] = "yes" if record["featured"] else "no"
    return [spreadsheet_safe(record[column]) for column in CSV_COLUMNS]


def as_csv(result, request, filename):
    out = io.StringIO()
    out.write("\ufeff")  # lets spreadsheets detect UTF-8
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in result.entries:
        writer.writerow(csv_row(entry, request))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


class TextAtomFeed(Atom1Feed):
    """Atom whose entry summaries are plain text (`type="text"`): a description is
    what a curator or reader typed, never markup for a feed reader to run."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"]:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


def as_atom(result, request, title):
    feed = TextAtomFeed(
        title=title,
        link=request.build_absolute_uri(result.links["html"]),
        description=f"{result.count} entries",
        feed_url=request.build_absolute_uri(result.links["atom"]),
        language="en",
        author_name="meshportal",  # RFC 4287: entries need an author, here or in each entry
    )
    for entry in result.entries:
        feed.add_item(
            title=entry.title,
            link=entry.link_url or request.build_absolute_uri(entry.get_absolute_url()),
            description=entry.description,
            unique_id=request.build_absolute_uri(entry.get_absolute_url()),
            unique_id_is_permalink=True,
            pubdate=entry.created_at,
            updateddate=entry.updated_at,
            categories=[item.tag.name for item in entry.tagged_items.all()],
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8")


def render_format(fmt, result, request, *, title, filename):
    if fmt == "json":
        return as_json(result, request)
    if fmt == "csv":
        return as_csv(result, request, filename)
    return as_atom(result, request, title)


def table_csv(table):
    """A statistics table as CSV text (with a byte-order mark for spreadsheets)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def _batches(ids, count, fetch):
    for start in range(0, count, DOWNLOAD_BATCH):
        yield from fetch([int(i) for i in ids[start : start + DOWNLOAD_BATCH]])


def _csv_lines(entries, request):
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(csv_row(entry, request))
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _json_lines(entries, request):
    lines = []
    for entry in entries:
        lines.append(json.dumps(entry_record(entry, request), ensure_ascii=False) + "\n")
        if len(lines) >= DOWNLOAD_BATCH:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def download(fmt, ids, count, fetch, request, *, filename):
    """The `count` entries of `ids` (entry ids in order: an array or a queryset) streamed
    as CSV or JSON Lines, fetched `DOWNLOAD_BATCH` at a time with `fetch(list_of_ids)`."""
    entries = _batches(ids, count, fetch)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(entries, request), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    else:
        response = StreamingHttpResponse(_json_lines(entries, request), content_type="application/jsonl; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.jsonl"'
    response["X-Entry-Count"] = str(count)
    return response
