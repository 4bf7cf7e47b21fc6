"""A browse result as JSON, CSV or Atom: the same entries as the HTML page."""

import csv
import io

from django.http import HttpResponse, JsonResponse
from django.utils.feedgenerator import Atom1Feed

FORMATS = ("json", "csv", "atom")
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


def spreadsheet_safe(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def as_csv(result, request, filename):
    out = io.StringIO()
    out.write("\ufeff")  # lets spreadsheets detect UTF-8
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in result.entries:
        record = entry_record(entry, request)
        record["labels"] = "; ".join(record["labels"])
        record["featured"] = "yes" if record["featured"] else "no"
        writer.writerow([spreadsheet_safe(record[column]) for column in CSV_COLUMNS])
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
