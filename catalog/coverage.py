"""How much of each Nubenetes page the importer keeps: every http(s) link and every heading.

`page_links(text)` finds the links of one page of markdown on its own terms,
sharing no rules with `markdown_import`'s builder: it walks markdown-it's token
stream and takes every link target, every URL written out in text, the `href`
of raw HTML anchors, embedded YouTube videos and tweets (their status link;
the links inside an embedded tweet are part of the tweet's text), also
inside admonition bodies. Image sources are not links; fenced code is code.

`edition_coverage()` compares them with what `edition_pages()` parses into
entries, page by page (a link placed on another page does not count), and
`headings_kept()` each heading with the page's sections. The management
command `corpus_coverage` prints both for each edition; tests hold the
targets (99.5% of links, every heading).
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from .markdown_import import MARKDOWN, split_front_matter
from .models import Entry, validate_http_url

MAX_URL = Entry._meta.get_field("url").max_length
WRITTEN_URL = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]+", re.I)
HREF = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*["']?(https?://[^"'\s>]+)""", re.I)
IFRAME = re.compile(
    r"""<iframe[^>]*\bsrc=["'](?:https?:)?//(?:www\.)?youtube(?:-nocookie)?\.com/embed/([\w-]{6,})""", re.I
)
TWEET = re.compile(r"""<blockquote[^>]*twitter-tweet.*?(?:</blockquote>|\Z)""", re.I | re.S)
TWEET_STATUS = re.compile(r"""href=["'](https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status/\d+)""", re.I)
ADMONITION = ("!!! ", "??? ", "???+ ")

# The kinds of place a link stands in, as `page_links` reports them.
KINDS = {
    "item": "first link of a list item",
    "item further": "second or further link of a list item",
    "image link": "link around an image or a badge",
    "written URL": "URL written out in text (no link syntax)",
    "prose": "link in a paragraph, quote or admonition",
    "table": "link in a table",
    "heading": "link in a heading",
    "raw HTML": "link, video or tweet in raw HTML",
}


@dataclass(frozen=True)
class FoundLink:
    url: str
    line: int
    kind: str


def _trim(url):
    while url and url[-1] in ".,;:!?*_~)'\"" and not (url[-1] == ")" and url.count("(") >= url.count(")")):
        url = url[:-1]
    return url


def _html_links(html):
    urls = [f"https://www.youtube.com/watch?v={video}" for video in IFRAME.findall(html)]
    for tweet in TWEET.findall(html):
        urls += TWEET_STATUS.findall(tweet)[-1:]
    urls += [MARKDOWN.normalizeLink(url) for url in HREF.findall(TWEET.sub(" ", html))]
    return urls


def page_links(text, offset=0):
    """[FoundLink] of every http(s) link of a page's markdown, in page order."""
    text, _ = split_front_matter(text)
    tokens = MARKDOWN.parse(text)
    found, context = [], []
    after_admonition = False
    for token in tokens:
        line = (token.map[0] + 1 + offset) if token.map else 0
        if token.nesting == 1:
            context.append(token.type)
        elif token.nesting == -1:
            context.pop()
        if token.type == "code_block":
            if after_admonition:
                found += page_links(token.content, offset + token.map[0])
            elif token.content.lstrip().startswith("<"):
                found += [FoundLink(url, line, "raw HTML") for url in _html_links(token.content)]
        elif token.type == "html_block":
            found += [FoundLink(url, line, "raw HTML") for url in _html_links(token.content)]
        if token.type != "inline":
            if token.type not in ("paragraph_close", "paragraph_open"):
                after_admonition = False
            continue
        after_admonition = token.content.startswith(ADMONITION)
        if "heading_open" in context:
            where = "heading"
        elif "table_open" in context:
            where = "table"
        elif "list_item_open" in context and "blockquote_open" not in context and not after_admonition:
            where = "item"
        else:
            where = "prose"
        found += _inline_links(token.children, line, where)
    return found


def _inline_links(children, line, where):
    found, links_seen, href, image = [], 0, None, False
    for child in children:
        if child.type == "link_open":
            href, image = child.attrs.get("href", ""), False
        elif child.type == "image" and href is not None:
            image = True
        elif child.type == "link_close" and href is not None:
            if href.lower().startswith(("http://", "https://", "invalid-url:")):
                links_seen += 1
                if image:
                    kind = "image link"
                elif where == "item":
                    kind = "item" if links_seen == 1 else "item further"
                else:
                    kind = where
                found.append(FoundLink(href, line, kind))
            href = None
        elif child.type == "text" and href is None:
            urls = (MARKDOWN.normalizeLink(_trim(m)) for m in WRITTEN_URL.findall(child.content))
            found += [FoundLink(url, line, "written URL") for url in urls]
        elif child.type == "html_inline" and href is None:
            found += [FoundLink(url, line, "raw HTML") for url in _html_links(child.content)]
    return found


def is_storable(url):
    if len(url) > MAX_URL or url.startswith("invalid-url:"):
        return False
    try:
        validate_http_url(url)
    except ValidationError:
        return False
    return True


@dataclass
class Coverage:
    edition: str
    pages: int = 0
    pairs: int = 0  # distinct (page, link) pairs
    placed_pairs: int = 0
    urls: int = 0  # distinct links of the edition
    placed_urls: int = 0  # placed on every page that has them
    headings: int = 0
    headings_kept: int = 0
    missed: Counter = field(default_factory=Counter)  # kind -> distinct (page, link) pairs not placed
    misses: list = field(default_factory=list)  # (path, line, kind, url)
    invalid: list = field(default_factory=list)  # (path, line, url): reported, never stored

    @property
    def percent(self):
        return 100 * self.placed_urls / self.urls if self.urls else 100.0

    @property
    def pair_percent(self):
        return 100 * self.placed_pairs / self.pairs if self.pairs else 100.0


def edition_coverage(edition, parsed_pages):
    """Coverage of one edition from its parsed pages: [(ParsedPage, dimension)]."""
    result = Coverage(edition)
    placed_on = {}
    url_ok = {}
    for page, _ in parsed_pages:
        result.pages += 1
        text = Path(page.path).read_text(encoding="utf-8")
        placed = {entry.url for _, _, section in page.walk() for entry in section.entries}
        seen = set()
        for link in page_links(text):
            if link.url in seen:
                continue
            seen.add(link.url)
            if not is_storable(link.url):
                result.invalid.append((page.path, link.line, link.url.removeprefix("invalid-url:")))
                continue
            ok = link.url in placed
            result.pairs += 1
            result.placed_pairs += ok
            url_ok[link.url] = url_ok.get(link.url, True) and ok
            if not ok:
                result.missed[link.kind] += 1
                result.misses.append((page.path, link.line, link.kind, link.url))
        placed_on[page.slug] = placed
        kept, total = headings_kept(text, page)
        result.headings += total
        result.headings_kept += kept
    result.urls = len(url_ok)
    result.placed_urls = sum(url_ok.values())
    return result


def headings_kept(text, page):
    """(kept, total): the page's headings below its title that are sections of the parsed page
    (a "Table of Contents" heading is the page's own index, not a section, and counts as kept)."""
    titles = Counter(" ".join(section.title.split()) for _, _, section in page.walk())
    tokens = MARKDOWN.parse(split_front_matter(text)[0])
    total = kept = 0
    first = True
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        if first and token.tag == "h1":
            first = False
            continue
        first = False
        total += 1
        title = _plain(tokens[index + 1])
        if titles[title] > 0:
            titles[title] -= 1
            kept += 1
        elif title.lower().rstrip(":") in ("table of contents", "contents", "toc"):
            kept += 1
    return kept, total


def _plain(inline):
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join(re.sub(r"==(.+?)==", r"\1", "".join(parts)).split())


def page_facts(page):
    """What a round trip must keep of a parsed page: {kind: set of facts}, keyed by section path."""
    facts = {"links": set(), "headings": set(), "nesting": set(), "wording": set(), "prose": set()}
    for path, _, section in page.walk():
        facts["headings"].add(path)
        if section.prose:
            facts["prose"].add((path, section.prose_text))
        for entry in section.entries:
            facts["links"].add(entry.url)
            facts["nesting"].add((path, entry.url, entry.parent))
            facts["wording"].add((path, entry.url, entry.title, entry.description, entry.highlight, entry.note))
    return facts


def round_trip_differences(original, exported):
    """{kind: (facts of the original missing from the export's parse, facts the export adds)}."""
    before, after = page_facts(original), page_facts(exported)
    return {kind: (before[kind] - after[kind], after[kind] - before[kind]) for kind in before}
