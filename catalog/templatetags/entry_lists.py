"""An entry's list row, its badges, labels and link note, written in Python.

A topic page shows up to 500 rows, and the template engine spent about 90 us on each
(some 45 nodes: 22 lookups, 3 includes, their escaping and localising), most of a big
page's time; these functions write the same HTML in a few microseconds. They read a
row of `pages.entry_rows()` / `listing_rows()` (a dict) or an Entry with
`with_card_data()`, the same names the templates read, and escape every value as the
templates' autoescaping does. Cards keep their template (`_entry_card.html`), which
draws its badges and link note with the tags below, so each piece is written once.
"""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.template.defaultfilters import date
from django.utils.html import conditional_escape as escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

register = template.Library()

LOGO = '<img class="logo" src="{}" width="16" height="16" alt="" loading="lazy" decoding="async">'


def _reader(item):
    """`name -> value` of a row dict or an object, as a template reads it: a missing name is
    None, a callable (a method such as `get_absolute_url`) is called."""
    if isinstance(item, dict):
        return item.get

    def read(name):
        value = getattr(item, name, None)
        return value() if callable(value) else value

    return read


def compact_list(entries):
    """`<ul>` of compact rows (`_entries.html` without "cards")."""
    rows = "".join(compact_row(entry) for entry in entries)
    return f'<ul class="entries entries--compact">\n  {rows}\n</ul>'


def compact_row(entry):
    get = _reader(entry)
    title, link, logo = get("title"), get("link_url"), get("logo_src")
    logo = LOGO.format(escape(logo)) if logo else ""
    if link:
        shown = escape(get("title_html") or title)
        heading = f'<a class="entry__title" href="{escape(link)}" rel="noopener noreferrer">{logo}{shown}</a>'
    else:
        heading = f'<span class="entry__title entry__title--unsafe">{logo}{escape(title)}</span>'
    year, description, highlight, note, children = (
        get(name) for name in ("year", "description", "highlight", "note", "children")
    )
    if description:
        description = escape(get("description_html") or description)
        description = f'<details class="entry__more"><summary>{description}</summary></details>'
    lines = [
        f'<li class="entry" id="entry-{get("pk")}">',
        f'<span class="entry__year">{f"({year})" if year else ""}</span>',
        heading,
        f'<a class="entry__info" href="{escape(get("get_absolute_url"))}" title="Details">'
        f'<span aria-hidden="true">i</span><span class="visually-hidden">Details of {escape(title)}</span></a>',
        badges(get) if get("has_badges") else "",
        link_note(get) if get("has_link_note") else "",
        description or "",
        f'<p class="entry__highlight"><mark>{escape(highlight)}</mark></p>' if highlight else "",
        f'<div class="entry__listing-note prose">{escape(get("note_html") or "")}</div>' if note else "",
        f"{compact_list(children)}\n" if children else "",
    ]
    return "\n  ".join(lines) + "\n</li>\n"


def badges(get):
    """Featured, GitHub stars and activity, language, rating, then the labels."""
    facts = ""
    if get("has_facts"):
        repo, stars, flag, language, rating = (
            get(name) for name in ("github_fetched", "github_stars", "github_flag", "language", "rating")
        )
        featured = (
            '<span class="badge badge--featured" title="Featured: a curator\'s pick"><span aria-hidden="true">🌟</span>'
            '<span class="visually-hidden">Featured</span></span>'
            if get("featured")
            else ""
        )
        if repo:
            refreshed = escape(date(template_localtime(repo.fetched_at), "j F Y"))
            stars = (
                f'<span class="badge badge--stars" title="GitHub stars, refreshed {refreshed}">'
                f'<span aria-hidden="true">★</span> {escape(intcomma(repo.stars))}'
                f'<span class="visually-hidden"> GitHub stars</span> · refreshed'
                f" {escape(naturaltime(repo.fetched_at))}</span>"
            )
        elif stars is not None:
            stars = (
                f'<span class="badge badge--stars" title="GitHub stars"><span aria-hidden="true">⭐</span>'
                f' {escape(intcomma(stars))}<span class="visually-hidden"> GitHub stars</span></span>'
            )
        else:
            stars = ""
        flag = f'<span class="badge badge--inactive">{escape(flag)}</span>' if flag else ""
        if language:
            language = f'<span class="badge badge--lang" title="Main language">{escape(language)}</span>'
        if rating:
            rating = (
                f'<span class="rating" title="Rated {rating} of 5"><span aria-hidden="true">'
                f'{escape(get("rating_stars"))}</span><span class="visually-hidden">Rated {rating} of 5</span></span>'
            )
        facts = "\n  ".join((featured, stars, flag, language or "", rating or ""))
    return f"{facts}\n  {labels(get)}\n\n"


def labels(get):
    shown = get("labels_shown")
    if not shown:
        return ""
    items = []
    for label in shown:
        read = _reader(label)
        items.append(
            f'<li><a class="label {escape(read("css_class"))}" href="{escape(read("get_absolute_url"))}"'
            f' title="{escape(read("tooltip"))}">{escape(read("name"))}</a></li>\n    '
        )
    return f'<ul class="labels" aria-label="Labels">\n    {"".join(items)}</ul>'


def link_note(get):
    copy = get("archived_copy_url")
    if get("link_is_dead") and copy:
        note = (
            '<p class="entry__note entry__note--dead">Link may be broken:'
            f' <a href="{escape(copy)}" rel="noopener noreferrer">archived copy</a></p>'
        )
    elif get("archived_original"):
        note = '<p class="entry__note">Archived copy: the original page is gone.</p>'
    else:
        note = ""
    return f"{note}\n"


@register.simple_tag
def entry_rows(entries):
    """The compact list of `entries`."""
    return mark_safe(compact_list(entries))  # noqa: S308 - every value escaped above


@register.simple_tag
def entry_badges(entry):
    return mark_safe(badges(_reader(entry)))  # noqa: S308 - every value escaped above


@register.simple_tag
def entry_labels(entry):
    return mark_safe(labels(_reader(entry)) + "\n")  # noqa: S308 - every value escaped above


@register.simple_tag
def entry_link_note(entry):
    return mark_safe(link_note(_reader(entry)))  # noqa: S308 - every value escaped above
