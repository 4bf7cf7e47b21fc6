"""Read awesome-list markdown into a page structure: pure, no database.

`read_page(path)` and `parse_page(text, path=...)` return a `ParsedPage`:
the `# Title`, the section tree built from the headings (plus bold lines and
link-less list items that hold nested items), each section's entries in page
order with their line numbers, and what was skipped, counted by reason.

The markdown is parsed by markdown-it-py (CommonMark plus GFM tables), never
by line regexes. The only errors are for a file that cannot be a page: not
readable, not UTF-8, or without a `# Title` heading. Anything else that is not
an entry (images, tweets, raw HTML, a table of contents, links that cannot be
stored) is skipped and counted, so any real-world list imports.

An entry line, as written by `catalog.markdown_export` and read back here:

    - [Title 🌟](https://url) (2023) ⭐ 2,800 · 💻 Go · ★★★★☆ [GUIDE] — Description

Every part after the link is optional; `🌟` (or `⭐`) inside the link text marks
a featured entry; `[UPPER-CASE]` markers, bare or inside
`<span class='md-tag ...'>`, are labels wherever they stand.
"""

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from .models import Entry, Section, Topic, validate_http_url

FEATURED_MARKS = ("🌟", "⭐")
TOC_HEADINGS = {"table of contents", "contents", "toc"}
CONTEXT_ADMONITION = "architectural context"
# A label marker: [GUIDE], [DE FACTO STANDARD], [COMMUNITY-TOOL]; two characters at least.
LABEL_MARKER = re.compile(r"\[([A-Z][A-Z0-9]+(?:[ &/-][A-Z0-9]+)*)\]")
MARK_HIGHLIGHT = re.compile(r"==(.+?)==")  # pymdownx "mark", common in mkdocs lists
# Metadata right after the link, in any order: (2023) ⭐ 2,800 💻 Go ★★★★☆, separated by spaces or "·".
METADATA = re.compile(
    r"\s*(?:"
    r"\((?P<year>(?:19|20|21)\d\d)\)"
    r"|⭐\s?(?P<stars>\d[\d,]*)"
    r"|(?P<rating>★{1,5})☆*"
    r"|💻\s?(?P<language>[^·—\[\]]+?)(?=\s*(?:·|—|\[|$))"
    r"|·"
    r")"
)
# One separator between the metadata (or the link) and the description.
DESCRIPTION_SEPARATOR = re.compile(r"^\s*(?:(?:—|–|-|:|·)(?=\s|$))?\s*")
BADGE_HINTS = ("shields.io", "badge", "badgen.net")

MAX_TITLE = Entry._meta.get_field("title").max_length
MAX_SECTION_TITLE = Section._meta.get_field("title").max_length
MAX_TOPIC_TITLE = Topic._meta.get_field("title").max_length
MAX_URL = Entry._meta.get_field("url").max_length


class MarkdownImportError(Exception):
    """A file that cannot be imported; str() is `path:line: reason`."""

    def __init__(self, path, line, reason, code):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason, self.code = str(path), line, reason, code


@dataclass
class ParsedEntry:
    url: str
    title: str
    line: int
    description: str = ""
    featured: bool = False
    labels: tuple = ()
    year: int | None = None
    github_stars: int | None = None
    language: str = ""
    rating: int | None = None
    # The URL of the listing this one is nested under (in the same section), or None at the top.
    parent: str | None = None
    highlight: str = ""  # the ==marked== words of the item
    note: str = ""  # markdown of the link-less items nested under this one
    # Found in prose (a paragraph, heading, admonition, quote or note) rather than as a list item:
    # listed after the section's items, as an export writes the prose before them.
    from_prose: bool = False


@dataclass
class ParsedSection:
    title: str
    line: int
    entries: list = field(default_factory=list)
    children: list = field(default_factory=list)
    # Markdown blocks of the section that are not link lists: intro text, admonitions,
    # tables, code, images, raw HTML, link-less items; in page order.
    prose: list = field(default_factory=list)

    @property
    def prose_text(self):
        return "\n\n".join(self.prose)


@dataclass
class ParsedPage:
    path: str
    slug: str
    title: str
    context: str = ""
    sections: list = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    # (reason, line) of each skipped item, for the detailed report.
    skipped_lines: list = field(default_factory=list)
    # Blocks kept as prose or notes, counted by kind.
    kept: Counter = field(default_factory=Counter)

    def walk(self):
        """Yield (path of titles, position among siblings, section) depth first, in page order."""

        def visit(sections, path):
            for position, section in enumerate(sections, start=1):
                here = (*path, section.title)
                yield here, position, section
                yield from visit(section.children, here)

        yield from visit(self.sections, ())

    @property
    def entry_count(self):
        return sum(len(section.entries) for _, _, section in self.walk())


# A link target that markdown-it would mangle (a host cut off with "…" became "t.xn--rvg"):
# it is reported as an invalid URL, never stored.
INVALID_TARGET = "invalid-url:"
HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#]*)", re.I)


def _host_is_readable(url):
    match = HOST.match(url)
    host = match.group(1).rpartition("@")[2].rsplit(":", 1)[0] if match else ""
    return all(ch.isalnum() or ch in ".-_[]:" for ch in host)


def _markdown():
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    # Let every link through: the importer judges URLs itself and counts what it skips.
    md.validateLink = lambda url: True
    normalize = md.normalizeLink
    md.normalizeLink = lambda url: normalize(url) if _host_is_readable(url) else INVALID_TARGET + url
    return md


MARKDOWN = _markdown()


def read_page(path, *, nav_title=None):
    """Read and parse one markdown file; MarkdownImportError when it cannot be a page."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MarkdownImportError(path, 0, f"cannot read the file: {exc.strerror or exc}", "unreadable") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)"
        raise MarkdownImportError(path, line, reason, "not_utf8") from exc
    return parse_page(text, path=str(path), nav_title=nav_title)


def parse_page(text, *, path, nav_title=None):
    """Parse the markdown of one page; the topic slug comes from the file name.

    The title is the page's first heading when that is an h1; otherwise, as
    mkdocs does, the `title:` of its front matter or its title in the nav.
    """
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise MarkdownImportError(path, line, "contains a NUL byte: not a text file", "binary")
    text, front_title = split_front_matter(text, path=path)
    nodes = SyntaxTreeNode(MARKDOWN.parse(text)).children
    first_heading = next((node for node in nodes if node.type == "heading"), None)
    builder = _PageBuilder(path, text.splitlines())
    if first_heading is None or first_heading.tag != "h1":
        title = front_title or nav_title
        if not title:
            line = block_line(first_heading) if first_heading else 1
            reason = "no '# Title' heading (nor a title in the front matter or the nav): a page needs one"
            raise MarkdownImportError(path, line, reason, "no_title")
        builder.start_page(title)
    builder.visit_blocks(nodes)
    return builder.finish()


FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
# A page's front matter holds a title and a few settings; more is not front matter we read.
MAX_FRONT_MATTER = 16 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses YAML aliases (`*name`): a few hundred bytes of nested
    aliases expand to gigabytes ("billion laughs"), and front matter never needs them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "a YAML alias (*name) is not allowed here", mark)
        return super().compose_node(parent, index)


def split_front_matter(text, *, path="<text>"):
    """Blank out a YAML front matter block (keeping line numbers); return its title too.

    MarkdownImportError for front matter larger than MAX_FRONT_MATTER or using aliases.
    """
    match = FRONT_MATTER.match(text)
    if not match:
        return text, None
    if len(match.group(1).encode()) > MAX_FRONT_MATTER:
        reason = f"front matter larger than {MAX_FRONT_MATTER // 1024} KB: not read"
        raise MarkdownImportError(path, 1, reason, "front_matter_too_large")
    try:
        meta = yaml.load(match.group(1), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader without aliases
    except yaml.composer.ComposerError as exc:
        line = 1 + (exc.problem_mark.line + 1 if exc.problem_mark else 0)
        raise MarkdownImportError(path, line, f"front matter: {exc.problem}", "front_matter_alias") from exc
    except yaml.YAMLError:
        return text, None  # not front matter after all: leave it to the markdown
    title = meta.get("title") if isinstance(meta, dict) else None
    return "\n" * match.group(0).count("\n") + text[match.end() :], str(title) if title else None


def topic_slug_for(path):
    return slugify(Path(path).stem)[: Topic._meta.get_field("slug").max_length] or "page"


def flatten(nodes, labels=None):
    """Plain text of inline nodes; label markers inside md-tag spans go to `labels`."""
    parts, in_tag = [], False
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if node.type == "text":
            if in_tag and labels is not None:
                labels.extend(name.strip("[] ") for name in re.findall(r"\[[^\]]+\]", node.content))
            else:
                parts.append(node.content)
        elif node.type == "code_inline":
            parts.append(node.content)
        elif node.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif node.type == "html_inline":
            tag = node.content.lower()
            if tag.startswith("<span") and "md-tag" in tag:
                in_tag = True
            elif tag.startswith("</span") and in_tag:
                in_tag = False
        elif node.type == "image":
            continue  # an image inside text says nothing a reader of the list needs
        else:
            stack.extend(reversed(node.children))
    return "".join(parts)


def clean_text(text):
    return " ".join(MARK_HIGHLIGHT.sub(r"\1", text).split())


def clip(text, length):
    """Cut to a column's length, without a trailing space (which an export would lose)."""
    return text[:length].rstrip()


def take_labels(text, labels):
    """Remove bare [LABEL] markers from `text`, adding them to `labels`."""
    labels.extend(LABEL_MARKER.findall(text))
    return LABEL_MARKER.sub(" ", text)


def parse_metadata(tail):
    """Split the text after a link into its metadata and the description."""
    values, position = {}, 0
    while position < len(tail):
        match = METADATA.match(tail, position)
        if not match or match.end() == position:
            break
        for name, value in match.groupdict().items():
            if value is not None and name not in values:
                values[name] = value
        position = match.end()
    description = DESCRIPTION_SEPARATOR.sub("", tail[position:], count=1)
    result = {"description": clean_text(description)}
    if "year" in values:
        result["year"] = int(values["year"])
    if "stars" in values:
        result["github_stars"] = int(values["stars"].replace(",", ""))
    if "rating" in values:
        result["rating"] = len(values["rating"])
    if "language" in values:
        result["language"] = values["language"].strip()
    return result


def link_problem(href, link_node=None):
    """Why a link target cannot be an entry (a skip reason), or None when it can."""
    if href.startswith("#"):
        return "table of contents"
    if href.startswith(INVALID_TARGET):
        return "invalid URL"
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return "invalid URL"
    if not scheme:
        return "link to another page"
    if scheme not in ("http", "https"):
        return "non-web link"
    if len(href) > MAX_URL:
        return "invalid URL"
    try:
        validate_http_url(href)
    except ValidationError:
        return "invalid URL"
    return None


def is_image_link(link_node):
    return any(n.type == "image" for n in link_node.children)


def inline_nodes(inline, kind):
    """The nodes of `kind` in an inline node, in order, also inside emphasis (not inside
    links nor images)."""
    stack = list(reversed(inline.children))
    while stack:
        node = stack.pop()
        if node.type == kind:
            yield node
        elif node.type not in ("link", "image"):
            stack.extend(reversed(node.children))


def links(inline):
    """The link nodes of an inline node, in order, also inside emphasis."""
    return inline_nodes(inline, "link")


def first_link(inline):
    return next(links(inline), None)


def following_siblings(inline, link):
    """The inline nodes after `link`, flattened out of any emphasis around it."""
    after, found = [], False

    def visit(nodes):
        nonlocal found
        for node in nodes:
            if found:
                after.append(node)
            elif node is link:
                found = True
            else:
                visit(node.children)

    visit(inline.children)
    return after


# Embedded media become entries labelled by kind, so readers can filter them in or out.
TWEET_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status/\d+", re.I)
VIDEO_LABEL, TWEET_LABEL = "VIDEO", "TWEET"


class _EmbedParser(HTMLParser):
    """Finds what a raw HTML block embeds: YouTube iframes and twitter-tweet blockquotes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.videos, self.tweets = [], []  # [(url, title)], [(url, text, author, date)]
        self.anchors = []  # [(url, text)] of <a href> outside embedded tweets
        self._anchor = None
        self._tweet = None  # {"text": [], "tail": [], "status": None, "in_p": bool, "date": []}
        self._in_status = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and self._tweet is None and (attrs.get("href") or "").lower().startswith(("http://", "https://")):
            self._anchor = [attrs["href"].strip(), []]
            self.anchors.append(self._anchor)
        elif tag == "img" and self._anchor is not None:
            self._anchor[1].append(attrs.get("alt") or "")
        if tag == "iframe":
            match = re.match(
                r"^(?:https?:)?//(?:www\.)?youtube(?:-nocookie)?\.com/embed/([\w-]{6,})", attrs.get("src") or ""
            )
            if match:
                title = (attrs.get("title") or "").strip()
                if not title or title.lower() == "youtube video player":
                    title = f"YouTube video {match.group(1)}"
                self.videos.append((f"https://www.youtube.com/watch?v={match.group(1)}", title))
        elif tag == "blockquote" and "twitter-tweet" in (attrs.get("class") or ""):
            self._tweet = {"text": [], "tail": [], "status": None, "in_p": False, "date": []}
        elif self._tweet is not None and tag == "p":
            self._tweet["in_p"] = True
        elif self._tweet is not None and tag == "br":
            self._tweet["text"].append(" ")
        elif (
            self._tweet is not None
            and tag == "a"
            and TWEET_URL.match(attrs.get("href") or "")
            and not self._tweet["in_p"]
        ):
            self._tweet["status"] = TWEET_URL.match(attrs["href"]).group(0)
            self._in_status = True

    def handle_endtag(self, tag):
        if tag == "a":
            self._anchor = None
        if self._tweet is None:
            return
        if tag == "p":
            self._tweet["in_p"] = False
        elif tag == "a":
            self._in_status = False
        elif tag == "blockquote":
            tweet, self._tweet = self._tweet, None
            if tweet["status"]:
                author = " ".join("".join(tweet["tail"]).replace("—", " ").split())
                self.tweets.append(
                    (tweet["status"], " ".join("".join(tweet["text"]).split()), author, "".join(tweet["date"]))
                )

    def handle_data(self, data):
        if self._anchor is not None:
            self._anchor[1].append(data)
        if self._tweet is None:
            return
        if self._in_status:
            self._tweet["date"].append(data)
        elif self._tweet["in_p"]:
            self._tweet["text"].append(data)
        else:
            self._tweet["tail"].append(data)


def embedded_entries(html, line):
    """Entries for the videos and tweets a raw HTML block embeds, labelled by kind; their
    titles read as a link's text would (🌟 and [LABEL] marks taken out), so they export
    and import back unchanged."""
    parser = _EmbedParser()
    parser.feed(html)
    parser.close()
    found = [(url, title, VIDEO_LABEL, None) for url, title in parser.videos]
    for url, text, author, date in parser.tweets:
        year = re.search(r"\b(19|20)\d\d\b", date)
        found.append((url, f"{author}: {text}" if author else text, TWEET_LABEL, int(year.group(0)) if year else None))
    found += [(MARKDOWN.normalizeLink(url), " ".join(words), None, None) for url, words in parser.anchors]
    entries = []
    for url, text, kind, year in found:
        labels = [kind] if kind else []
        title, featured = link_text(take_labels(text, labels))
        entries.append(
            ParsedEntry(url=url, title=title or url, line=line, featured=featured, labels=tuple(labels), year=year)
        )
    return entries


def link_text(text):
    """A link's title without its 🌟 marks, and whether it had one."""
    featured = any(mark in text for mark in FEATURED_MARKS)
    for mark in (*FEATURED_MARKS, "\ufe0f"):
        text = text.replace(mark, " ")
    return clip(clean_text(text), MAX_TITLE), featured


def star_rating(text):
    """V1 rates a link with repeated 🌟 in its text: 🌟🌟🌟 is a rating of 3 (one 🌟 only features it)."""
    count = sum(text.count(mark) for mark in FEATURED_MARKS)
    return min(count, 5) if count >= 2 else None


def highlights(text):
    """The ==marked== words of a text, joined."""
    parts = []
    for found in MARK_HIGHLIGHT.findall(text):
        for mark in (*FEATURED_MARKS, "\ufe0f"):
            found = found.replace(mark, " ")
        if found.strip():
            parts.append(" ".join(found.split()))
    return " … ".join(parts)


def entry_from_link(link, inline, line, *, parent=None):
    labels = []
    raw_title = flatten(link.children, labels)
    title, featured = link_text(take_labels(raw_title, labels))
    raw_tail = flatten(following_siblings(inline, link), labels)
    tail = take_labels(raw_tail, labels)
    metadata = parse_metadata(tail)
    if metadata.get("rating") is None and (rating := star_rating(raw_title)):
        metadata["rating"] = rating
    href = link.attrs["href"]
    title = title or image_text(link) or clip(href, MAX_TITLE)
    return ParsedEntry(
        url=href,
        title=title,
        line=line,
        featured=featured,
        labels=tuple(dict.fromkeys(labels)),
        parent=parent,
        highlight=clip(highlights(f"{raw_title} {raw_tail}"), MAX_HIGHLIGHT),
        **metadata,
    )


def image_text(link):
    """The alt text of the images a link wraps (a badge's or a logo's), as its title."""
    alts = [" ".join(node.content.split()) for node in link.children if node.type == "image"]
    return clip(clean_text(" ".join(alt for alt in alts if alt)), MAX_TITLE)


def other_link_entry(link, line, parent):
    """An entry for a further link of an item or a link in prose: its own words only."""
    labels = []
    title, featured = link_text(take_labels(flatten(link.children, labels), labels))
    href = link.attrs["href"]
    return ParsedEntry(
        url=href,
        title=title or image_text(link) or clip(href, MAX_TITLE),
        line=line,
        featured=featured,
        labels=tuple(dict.fromkeys(labels)),
        parent=parent,
    )


# A URL written out in text (no link syntax); trailing punctuation is the sentence's.
BARE_URL = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]+", re.I)
TRAILING = ".,;:!?*_~)'\""


def bare_urls(text):
    for match in BARE_URL.finditer(text):
        url = match.group(0)
        while url and url[-1] in TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        yield MARKDOWN.normalizeLink(url)


def text_nodes(inline):
    """The text nodes of an inline node outside links, in order."""
    return inline_nodes(inline, "text")


MAX_HIGHLIGHT = 500


def block_line(node):
    return node.map[0] + 1 if node.map else 0


class _PageBuilder:
    """Walks the block tree once, keeping the sections open at the current point.

    Every link of the page becomes an entry of the section it stands in: the
    first link of a list item (its words, metadata and labels), the item's
    further links, links around images and badges, URLs written out in text,
    links in prose, tables, headings and raw HTML (those nested under a
    listing as its children). What is not a link list is kept as the
    section's prose (markdown), and the link-less items nested under a
    listing as its note.
    """

    def __init__(self, path, lines):
        self.path = path
        self.lines = lines  # the source, to keep prose as it was written
        self.offset = 0  # line offset of the text being visited (an admonition's body)
        self.page = None
        # Sections open at the current point, outermost first: [(depth, section, from_heading)].
        # Bold lines and link-less list items open sections one level below.
        self.open = []
        self.loose = None  # entries outside any section go to a section named after the page
        self.skipped_before_title = []
        self.parent = None  # the listing whose nested items are being visited
        self.in_prose = 0  # > 0 inside a block already kept as prose: only its links are taken

    def line(self, node):
        return block_line(node) + self.offset if node.map else 0

    def source(self, node):
        """The markdown a block was written as (dedented), for prose and notes."""
        if not node.map or self.offset:
            return None
        start, end = node.map
        return textwrap.dedent("\n".join(self.lines[start:end])).strip("\n")

    # -- sections ------------------------------------------------------------

    def current_section(self, line):
        if self.open:
            return self.open[-1][1]
        if self.loose is None:
            self.loose = ParsedSection(title=clip(self.page.title, MAX_SECTION_TITLE), line=line)
            self.page.sections.insert(0, self.loose)
        return self.loose

    def open_section(self, depth, title, line, *, from_heading=True):
        while self.open and self.open[-1][0] >= depth:
            self.open.pop()
        section = ParsedSection(title=clip(title or "Untitled section", MAX_SECTION_TITLE), line=line)
        siblings = self.open[-1][1].children if self.open else self.page.sections
        siblings.append(section)
        self.open.append((depth, section, from_heading))

    def start_page(self, title):
        self.page = ParsedPage(path=self.path, slug=topic_slug_for(self.path), title=clip(title, MAX_TOPIC_TITLE))
        for reason, line in self.skipped_before_title:
            self.skip(reason, line)

    def heading_depth(self):
        return next((depth for depth, _, from_heading in reversed(self.open) if from_heading), 0)

    def skip(self, reason, line):
        if self.page is None:
            self.skipped_before_title.append((reason, line))
        else:
            self.page.skipped[reason] += 1
            self.page.skipped_lines.append((reason, line))

    def keep_prose(self, node, what):
        """Keep a block as prose: the note of the listing it is nested under, or its section's."""
        if self.in_prose or self.page is None:
            return
        text = self.source(node)
        if not text:
            return
        self.page.kept[what] += 1
        if self.parent is not None:
            self.parent.note = f"{self.parent.note}\n{text}" if self.parent.note else text
        else:
            self.current_section(self.line(node)).prose.append(text)

    # -- entries -------------------------------------------------------------

    def add(self, entry):
        if self.page is None:
            self.skip("before the title", entry.line)
            return None
        problem = link_problem(entry.url)
        if problem:
            self.skip(problem, entry.line)
            return None
        entry.from_prose = self.in_prose > 0
        self.current_section(entry.line).entries.append(entry)
        return entry

    def add_prose_links(self, inline, line, *, parent):
        self.in_prose += 1
        try:
            self.add_links(inline, line, parent=parent)
        finally:
            self.in_prose -= 1

    def add_links(self, inline, line, *, parent, skip_link=None):
        """Every link of an inline node but `skip_link`, and the URLs written out in its text."""
        for link in links(inline):
            if link is not skip_link:
                self.add(other_link_entry(link, line, parent))
        for node in text_nodes(inline):
            for url in bare_urls(node.content):
                self.add(ParsedEntry(url=url, title=clip(url, MAX_TITLE), line=line, parent=parent))

    def parent_url(self):
        return self.parent.url if self.parent is not None else None

    # -- blocks --------------------------------------------------------------

    def visit_blocks(self, nodes):
        nodes = list(nodes)
        for index, node in enumerate(nodes):
            handler = getattr(self, f"visit_{node.type}", None)
            if node.type == "paragraph" and is_admonition(node):
                body = nodes[index + 1] if index + 1 < len(nodes) and nodes[index + 1].type == "code_block" else None
                self.visit_admonition(node, body)
                if body is not None:
                    body.admonition_body = True
            elif getattr(node, "admonition_body", False):
                continue
            elif handler is not None:
                handler(node)
            # a thematic break carries nothing

    def visit_admonition(self, node, body):
        """`!!! note "Title"` or a collapsed `??? note` block: the architectural context, or
        prose (header and indented body); links and media inside it are entries."""
        line = self.line(node)
        inline = node.children[0]
        header, _, rest = inline.content.partition("\n")
        text = rest if rest.strip() else (body.content if body is not None else "")
        if self.page is not None and CONTEXT_ADMONITION in header.lower() and text.strip() and not self.in_prose:
            self.page.context = clean_text(text)
            return
        if self.page is not None and not self.in_prose:
            start, end = node.map
            if body is not None:
                end = body.map[1]
            chunk = textwrap.dedent("\n".join(self.lines[start:end])).strip("\n") if not self.offset else ""
            if chunk:
                self.page.kept["admonition"] += 1
                if self.parent is not None:
                    self.parent.note = f"{self.parent.note}\n{chunk}" if self.parent.note else chunk
                else:
                    self.current_section(line).prose.append(chunk)
        self.in_prose += 1
        try:
            self.add_links(inline, line, parent=self.parent_url())
            if body is not None:
                self.visit_inner(body.content, self.line(body) - 1)
        finally:
            self.in_prose -= 1

    def visit_inner(self, text, offset):
        """Visit markdown nested in a block (an admonition's body), lines counted from `offset`."""
        saved = self.offset
        self.offset = offset
        try:
            self.visit_blocks(SyntaxTreeNode(MARKDOWN.parse(text)).children)
        finally:
            self.offset = saved

    def visit_code_block(self, node):
        # Indented code; in these lists mostly embeds indented with a tab, which mkdocs renders as HTML.
        self.keep_prose(node, "code")
        if node.content.lstrip().startswith("<"):
            self.add_html(node.content, self.line(node))

    def visit_fence(self, node):
        self.keep_prose(node, "code")

    def visit_heading(self, node):
        line = self.line(node)
        title = clean_text(flatten(node.children))
        level = int(node.tag[1])
        if self.page is None:  # parse_page made sure this is the page's h1
            self.start_page(title or "Untitled")
            self.add_prose_links(node.children[0], line, parent=None)
            return
        depth = max(level - 1, 1)
        if depth == 1 and title.lower().rstrip(":") in TOC_HEADINGS and not self.offset:
            # A "Table of Contents" heading is not a section: what stands under it is
            # either the page's own anchors (skipped) or entries of the page itself.
            self.open = []
            self.skip("table of contents", line)
            return
        if self.in_prose:
            return  # a heading inside an admonition is part of its prose
        self.parent = None
        self.open_section(depth, title, line)
        self.add_prose_links(node.children[0], line, parent=None)

    def visit_paragraph(self, node):
        line = self.line(node)
        inline = node.children[0]
        kinds = [n.type for n in inline.children if not (n.type == "text" and not n.content.strip())]
        if kinds == ["strong"] and self.page is not None and self.parent is None and not self.in_prose:
            # A bold line standing alone names a subsection of the current heading.
            self.open_section(self.heading_depth() + 1, clean_text(flatten(inline.children)), line, from_heading=False)
            self.add_prose_links(inline, line, parent=None)
            return
        self.keep_prose(node, "paragraph")
        self.add_prose_links(inline, line, parent=self.parent_url())

    def add_html(self, html, line):
        """Add the videos, tweets and links of raw HTML to the current section; how many."""
        found = embedded_entries(html, line) if self.page is not None else []
        for entry in found:
            entry.parent = self.parent_url()
            self.add(entry)
        return len(found)

    def visit_html_block(self, node):
        # Embedded videos and tweets are their entries; other raw HTML is kept as prose.
        if not self.add_html(node.content, self.line(node)):
            self.keep_prose(node, "raw HTML")

    def visit_blockquote(self, node):
        self.keep_prose(node, "quote")
        self.in_prose += 1
        try:
            self.visit_blocks(node.children)
        finally:
            self.in_prose -= 1

    def visit_bullet_list(self, node):
        for item in node.children:
            self.visit_list_item(item)

    visit_ordered_list = visit_bullet_list

    def visit_list_item(self, item):
        line = self.line(item)
        if self.page is None:
            self.skip("before the title", line)
            return
        paragraph = next((c for c in item.children if c.type == "paragraph"), None)
        nested = [c for c in item.children if c.type in ("bullet_list", "ordered_list")]
        others = [c for c in item.children if c is not paragraph and c not in nested]
        inline = paragraph.children[0] if paragraph else None
        found = list(links(inline)) if inline else []
        # The item's own link: its first that is not a table-of-contents anchor nor an image
        # (a badge before the name); its other links are nested under it.
        usable = [link for link in found if not link.attrs["href"].startswith("#")]
        link = next((lk for lk in usable if not is_image_link(lk)), usable[0] if usable else None)
        text = clean_text(flatten(inline.children)).rstrip(":") if inline else ""
        urls = [url for node in text_nodes(inline) for url in bare_urls(node.content)] if inline else []
        if link is None and found and not urls:
            self.skip("table of contents", line)  # the page's own anchors
            self.visit_nested(None, others, nested)
            return
        if link is not None:
            entry = self.add(entry_from_link(link, inline, line, parent=self.parent_url()))
            self.add_links(inline, line, parent=entry.url if entry else self.parent_url(), skip_link=link)
            self.visit_nested(entry, others, nested)
        elif urls:
            # A URL written out as the item: the entry, titled by the item's other words.
            words, featured = link_text(BARE_URL.sub(" ", text))
            words = words.strip(" :-—·")
            entry = self.add(
                ParsedEntry(
                    url=urls[0],
                    title=clip(words, MAX_TITLE) or clip(urls[0], MAX_TITLE),
                    featured=featured,
                    line=line,
                    parent=self.parent_url(),
                    highlight=clip(highlights(text), MAX_HIGHLIGHT),
                )
            )
            for url in urls[1:]:
                self.add(ParsedEntry(url=url, title=clip(url, MAX_TITLE), line=line, parent=entry and entry.url))
            self.visit_nested(entry, others, nested)
        elif nested and text and self.parent is None and not self.in_prose:
            # A list item without a link that holds nested items names a subsection.
            saved = list(self.open)
            depth = (self.open[-1][0] if self.open else 0) + 1
            self.open_section(depth, text, line, from_heading=False)
            self.visit_nested(None, others, nested)
            self.open = saved
        else:
            # Text: the note of the listing it is nested under, or its section's prose.
            if text or nested:
                self.keep_prose(item, "text item")
            else:
                self.skip("empty list item", line)
            self.in_prose += 1
            try:
                self.visit_blocks(others)
                self.visit_blocks(nested)
            finally:
                self.in_prose -= 1

    def visit_nested(self, entry, others, nested):
        saved = self.parent
        if entry is not None:
            self.parent = entry
        try:
            self.visit_blocks(others)
            self.visit_blocks(nested)
        finally:
            self.parent = saved

    def visit_table(self, node):
        has_links = any(
            True
            for part in node.children
            for row in part.children
            for cell in row.children
            for inline in cell.children
            for _ in links(inline)
        )
        if not has_links:
            self.keep_prose(node, "table")
        for part in node.children:
            for row in part.children:
                self.visit_table_row(row, header=part.type == "thead")

    def visit_table_row(self, row, *, header):
        line = self.line(row)
        found = [link for cell in row.children for inline in cell.children for link in links(inline)]
        if self.page is None:
            if found or not header:
                self.skip("before the title", line)
            return
        for link in found:
            self.add(entry_from_link(link, _Only(link), line, parent=self.parent_url()))
        for cell in row.children:
            for inline in cell.children:
                for node in text_nodes(inline):
                    for url in bare_urls(node.content):
                        self.add(ParsedEntry(url=url, title=clip(url, MAX_TITLE), line=line, parent=self.parent_url()))

    def finish(self):
        # Every heading stays a section, also one with no link under it: it is part of the
        # page's outline (its text, a video or a tweet may be all it holds).
        if self.page is not None:
            for _, _, section in self.page.walk():
                section.entries.sort(key=lambda entry: entry.from_prose)  # stable: page order otherwise
        return self.page


def is_admonition(node):
    return node.children and node.children[0].content.startswith(("!!! ", "??? ", "???+ "))


class _Only:
    """An inline holder with one link: a table cell's link has no description."""

    def __init__(self, link):
        self.children = [link]


@dataclass(frozen=True)
class NavPage:
    dimension: str
    title: str


def read_nav(path):
    """Map each page file name of a mkdocs `nav:` to its dimension and nav title.

    The dimension is the page's top-level group ("CI/CD" for CI/CD > DevOps
    Tools > argo.md); a page at the top level is its own dimension, named by
    its nav title; a page listed twice keeps its first place.
    """
    try:
        config = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_MkdocsLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise MarkdownImportError(path, mark.line + 1 if mark else 0, f"cannot read the nav: {exc}", "bad_nav") from exc
    nav = config.get("nav") if isinstance(config, dict) else None
    if not isinstance(nav, list):
        raise MarkdownImportError(path, 1, "no 'nav:' list in this mkdocs file", "bad_nav")
    pages = {}

    def visit(value, dimension, title):
        if isinstance(value, str):
            if value.endswith(".md"):
                pages.setdefault(Path(value).name, NavPage(dimension or title, title or Path(value).stem))
        elif isinstance(value, list):
            for item in value:
                visit(item, dimension, None)
        elif isinstance(value, dict):
            for name, child in value.items():
                visit(child, dimension or (str(name).strip() if isinstance(child, list) else None), str(name).strip())

    visit(nav, None, None)
    return pages


class _MkdocsLoader(yaml.SafeLoader):
    """A safe loader that reads mkdocs files: their !ENV and !!python/name tags become plain values."""


def _ignore_tag(loader, suffix, node):
    return None


_MkdocsLoader.add_multi_constructor("!", _ignore_tag)
_MkdocsLoader.add_multi_constructor("tag:yaml.org,2002:python/", _ignore_tag)
