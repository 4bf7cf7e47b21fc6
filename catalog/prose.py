"""Section prose and listing notes: markdown in, safe HTML out.

`render_markdown(text)` renders with markdown-it-py (CommonMark, GFM tables,
raw HTML allowed through the parser) and then sanitises with nh3 (Ammonia):
only a fixed set of tags and attributes survives, links get
`rel="noopener noreferrer nofollow"`, only http(s) and mailto URLs are kept, and
`<script>`, `<style>`, event handlers and `javascript:` URLs never reach a
page. mkdocs admonitions (`!!! note "Title"`, collapsed `??? note`) become
`<details>`/`<aside>` blocks with their title; YouTube iframes are left to
the listings (each video is an entry), so the prose shows none.

Results are cached per text: pages render the same prose on every request.
"""

import functools
import re

import nh3
from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

TAGS = {
    "a", "abbr", "aside", "b", "blockquote", "br", "center", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "aside": {"class"},
    "details": {"class"},
    "p": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
ADMONITION = re.compile(r'^(!!!|\?\?\?\+?) *([\w-]+)?(?: +"([^"]*)")? *$')
MARK = re.compile(r"==(\S(?:.*?\S)?)==")


def _admonitions(text):
    """mkdocs admonitions as HTML blocks around their (dedented) markdown body."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        match = ADMONITION.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        kind = (match.group(2) or "note").lower()
        title = match.group(3) if match.group(3) is not None else kind.title()
        body = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(("    ", "\t"))):
            body.append(lines[i][4:] if lines[i].startswith("    ") else lines[i][1:])
            i += 1
        inner = _MD.render(_admonitions("\n".join(body)))
        title_html = _MD.renderInline(title)
        if match.group(1).startswith("???"):
            opened = " open" if match.group(1).endswith("+") else ""
            block = f'<details class="admonition"{opened}><summary>{title_html}</summary>{inner}</details>'
        else:
            block = f'<aside class="admonition"><p class="admonition-title">{title_html}</p>{inner}</aside>'
        out.extend(["", block, ""])
    return "\n".join(out)


def sanitise(html):
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@functools.lru_cache(maxsize=4096)
def render_markdown(text):
    """Safe HTML for a block of markdown ("" for none)."""
    if not text or not text.strip():
        return ""
    text = MARK.sub(r"<mark>\1</mark>", text)
    return sanitise(_MD.render(_admonitions(text))).strip()
