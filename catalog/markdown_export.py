"""Write topic pages back out as awesome-list markdown that `markdown_import` reads.

Sections become headings (`##` for the top, down to `######`; deeper ones
become link-less list items holding their entries), each followed by its
prose as it was written; entries keep their order in the section, listings
nested under a listing are indented below it with its note, and each entry
line carries all its metadata and the page's ==highlight==:

    - [Title 🌟](https://url) (2023) ⭐ 2,800 · 💻 Go · ★★★★☆ [GUIDE] — Description

so importing the exported files changes nothing. `export_edition_nav()` gives
the mkdocs `nav:` that groups the pages by dimension, for publishing and for
importing back with `--nav`.
"""

import re

import yaml

from . import tree
from .markdown_import import CONTEXT_ADMONITION, LABEL_MARKER
from .models import Placement, Section, Topic, labels_prefetch

MAX_HEADING_DEPTH = 5  # h2..h6
# Characters that would start markdown syntax inside a title or description.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>&#|!])")


def escape(text):
    """Plain text as markdown that parses back to the same text, on one line."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def link_target(url):
    return f"<{url}>" if any(c in url for c in " ()<>") else url


def label_marker(name):
    marker = f"[{name}]"
    return marker if LABEL_MARKER.fullmatch(marker) else f"<span class='md-tag'>[{escape(name)}]</span>"


def marked(text, highlight):
    """Escaped `text` with its highlighted words between == marks, as the page wrote them."""
    text = escape(text)
    if highlight:
        for part in highlight.split(" … "):
            part = escape(part)
            if part and part in text:
                text = text.replace(part, f"=={part}==", 1)
    return text


def entry_line(entry, title=None, description=None, highlight=""):
    """One list item with the entry's link, metadata, labels and description;
    `title` and `description` are a listing's own words (None: the entry's),
    `highlight` its ==marked== words."""
    title = entry.title if title is None else title
    description = entry.description if description is None else description
    in_title = highlight and all(escape(part) in escape(title) for part in highlight.split(" … "))
    title = marked(title, highlight if in_title else "") + (" 🌟" if entry.featured else "")
    parts = [f"[{title}]({link_target(entry.url)})"]
    if entry.year:
        parts.append(f"({entry.year})")
    metadata = []
    if entry.github_stars is not None:
        metadata.append(f"⭐ {entry.github_stars:,}")
    if entry.language:
        metadata.append(f"💻 {' '.join(entry.language.split())}")
    if entry.rating:
        metadata.append("★" * entry.rating + "☆" * (5 - entry.rating))
    if metadata:
        parts.append(" · ".join(metadata))
    parts.extend(label_marker(item.tag.name) for item in entry.tagged_items.all())
    if description:
        parts.append("— " + marked(description, "" if in_title else highlight))
    return "- " + " ".join(parts)


def listing_line(placement):
    """The entry line of one listing, in the page's own words."""
    return entry_line(placement.entry, placement.title, placement.description, placement.highlight)


INDENT = "    "


def listing_lines(placements, indent=""):
    """The lines of a section's listings: each followed by its note and, indented below
    it, the listings nested under it, as the page nests them."""
    present = {p.pk for p in placements}
    children = tree.children_of(placements, parent=lambda p: p.parent_id if p.parent_id in present else None)
    lines = []
    for depth, placement in tree.depth_first(children):
        here = indent + INDENT * (depth - 1)
        lines.append(here + listing_line(placement))
        if placement.note.strip():
            lines.extend((here + INDENT + line) if line.strip() else "" for line in placement.note.split("\n"))
    return lines


def prose_lines(section):
    return [*section.prose.strip("\n").split("\n"), ""] if section.prose.strip() else []


def export_topic(topic):
    """The markdown of one topic page, in three queries."""
    sections = list(Section.objects.filter(topic=topic).order_by("position", "id"))
    children, entries = tree.children_of(sections, parent=lambda s: s.parent_id), {}
    placements = (
        Placement.objects.filter(section__topic=topic)
        .select_related("entry")
        .prefetch_related(labels_prefetch("entry__tagged_items"))
        .order_by("section_id", "position", "id")
    )
    for placement in placements:
        entries.setdefault(placement.section_id, []).append(placement)

    lines = [f"# {escape(topic.title)}", ""]
    if topic.context:
        lines += [f'!!! info "{CONTEXT_ADMONITION.title()}"', "    " + " ".join(topic.context.split()), ""]

    def write(section, depth):
        if depth <= MAX_HEADING_DEPTH:
            lines.extend([f"{'#' * (depth + 1)} {escape(section.title)}", ""])
            lines.extend(prose_lines(section))
            lines.extend(listing_lines(entries.get(section.pk, [])))
            if section.pk in entries:
                lines.append("")
            for child in children.get(section.pk, []):
                write(child, depth + 1)
        else:
            write_as_item(section, "")

    def write_as_item(section, indent):
        # Deeper than h6: a list item without a link, holding its entries and subsections.
        lines.append(f"{indent}- {escape(section.title)}")
        lines.extend(listing_lines(entries.get(section.pk, []), indent + INDENT))
        for child in children.get(section.pk, []):
            write_as_item(child, indent + "    ")
        if not indent:
            lines.append("")

    for section in children.get(None, []):
        write(section, 1)
    return "\n".join(lines).rstrip() + "\n"


def export_edition_nav(edition, topics):
    """A mkdocs config whose nav groups the exported pages by dimension."""
    groups = {}
    for topic in topics:
        groups.setdefault(topic.dimension.name, []).append({topic.title: f"{topic.slug}.md"})
    config = {
        "site_name": edition.name,
        "markdown_extensions": ["admonition"],  # renders the "Architectural Context" block
        "nav": [{name: pages} for name, pages in groups.items()],
    }
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=1000)


def edition_topics(edition, slug=None):
    topics = (
        Topic.objects.filter(edition=edition)
        .select_related("dimension")
        .order_by("dimension__position", "dimension__name", "position", "title")
    )
    return topics.filter(slug=slug) if slug else topics
