"""The real Nubenetes corpus: the whole V1 archive, the seed's protection, the committed fixture.

The corpus is vendored in data/nubenetes: these tests run on any clone.
"""

import html
import io
import json
import re
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command

from catalog import corpus
from catalog.coverage import is_storable, page_links
from catalog.markdown_import import read_page
from catalog.models import Entry, Placement, Topic, validate_http_url
from catalog.services.imports import import_pages

from .conftest import CORPUS

# -- an independent count of the entries of a folder of markdown ----------------------------
#
# A line scan that shares no code with the importer, written from the rules of
# CommonMark that matter for these files. An entry is the first link of a list
# item (its first line, or the lines it continues on until a link appears), or
# any link in a table row (a table starts at the line above a |---| row and
# ends at a blank line), whose target is an http(s) URL that the model accepts.
# Not entries: a link wrapping an image (a badge), links in raw HTML blocks
# (from a line starting with "<" to the next blank line, or to the closing
# tag for <script>, <pre>, <style>, <textarea>, <!--), links in indented code
# (4 spaces outside a list) and in mkdocs "??? note" / "!!! note" blocks, and a
# link whose target has no closing parenthesis. Embedded media in raw HTML (a block's
# lines, or a list item's lines that start with "<") are entries too: a YouTube iframe's
# embed/ID as https://www.youtube.com/watch?v=ID, and a twitter-tweet blockquote's status
# link without its query (a tab-indented line in a list is code). Targets are compared as
# CommonMark renders them: entities with a ";" decoded, a non-ASCII host in
# punycode, the rest percent-encoded.

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
ENTITY = re.compile(r"&#?\w+;")
RAW_HTML_WITH_END = re.compile(r"^ {0,3}<(script|pre|style|textarea|!--)")


def link_target(text, start):
    """The target after '](' at `start`, with balanced parentheses; None if it never closes."""
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    depth, j = 0, i
    while j < len(text) and text[j] not in " \t":
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            if depth == 0:
                break
            depth -= 1
        j += 1
    rest = text[j:].lstrip()
    return text[i:j] if rest[:1] in (")", '"', "'") else None


def as_rendered(url):
    url = ENTITY.sub(lambda m: html.unescape(m.group(0)), url)
    host = urlsplit(url).netloc
    if not all(ch.isalnum() or ch in ".-_:@[]" for ch in host):
        return ""  # a host cut off with "…" is no address: never stored as a mangled one
    if not host.isascii():
        labels = [part if part.isascii() else "xn--" + part.encode("punycode").decode() for part in host.split(".")]
        url = url.replace(host, ".".join(labels), 1)
    return quote(url, safe=":/?#@!$&'()*+,;=%~")


def is_web_url(url):
    try:
        validate_http_url(url)
    except ValidationError:
        return False
    return True


YOUTUBE_EMBED = re.compile(r'<iframe[^>]*\bsrc="(?:https?:)?//(?:www\.)?youtube(?:-nocookie)?\.com/embed/([\w-]{6,})')
TWEET_STATUS = re.compile(r'href="(https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status/\d+)')


def embedded_urls(line, in_tweet):
    """The media a raw HTML line embeds; whether a twitter-tweet blockquote is still open after it."""
    urls = {f"https://www.youtube.com/watch?v={m}" for m in YOUTUBE_EMBED.findall(line)}
    in_tweet = in_tweet or 'class="twitter-tweet' in line
    if in_tweet:
        urls.update(TWEET_STATUS.findall(line)[-1:])
        in_tweet = "</blockquote>" not in line
    return urls, in_tweet


def scan_entry_urls(paths):
    urls = set()
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        collapsed = in_table = in_html = in_list = in_tweet = False
        html_end, previous_blank = None, True
        for n, line in enumerate(lines):
            blank = not line.strip()
            was_blank, previous_blank = previous_blank, blank
            if line.startswith(("??? ", "!!! ")):
                collapsed = True
                continue
            if collapsed:
                if blank or line.startswith("    "):
                    continue
                collapsed = False
            if in_html:
                found, in_tweet = embedded_urls(line, in_tweet)
                urls.update(found)
                in_html = (html_end not in line.lower()) if html_end else not blank
                continue
            if blank:
                in_table = False
                continue
            if re.match(r"^ {0,3}<", line) or (in_list and re.match(r"^ *<", line)):  # a tab: code
                found, in_tweet = embedded_urls(line, in_tweet)
                urls.update(found)
                opener = RAW_HTML_WITH_END.match(line.lower())
                html_end = ("-->" if opener.group(1) == "!--" else f"</{opener.group(1)}>") if opener else None
                in_html = html_end not in line.lower()[opener.end() :] if opener else True
                continue
            if n + 1 < len(lines) and "|" in line and DELIMITER_ROW.match(lines[n + 1]):
                in_table = True
            item = LIST_ITEM.match(line)
            if line.startswith("    ") and not in_list:
                continue  # indented code
            if item and not in_table:
                in_list = True
                body = item.group(1)
                for more in lines[n + 1 :]:
                    if "](" in body or not more.strip() or LIST_ITEM.match(more) or more.lstrip()[:1] in "#<|":
                        break
                    body += " " + more.strip()
                if body.startswith("[!["):
                    continue
                body = IMAGE.sub("", body)
                at = body.find("](")
                target = link_target(body, at + 2) if at >= 0 else None
                if target:
                    urls.add(as_rendered(target))
            elif in_table:
                if not DELIMITER_ROW.match(line):
                    body = IMAGE.sub("", line)
                    targets = (link_target(body, m.end()) for m in re.finditer(r"\]\(", body))
                    urls.update(as_rendered(t) for t in targets if t)
            elif line.lstrip().startswith("#") or (was_blank and not line.startswith(" ")):
                in_list = False
    return {url for url in urls if url and is_web_url(url)}


def test_the_whole_v1_archive_imports_and_counts_match_an_independent_scan(editions):
    files = sorted((CORPUS / "v1").glob("*.md"))
    assert len(files) == 161
    out = io.StringIO()
    call_command(
        "import_markdown",
        *map(str, files),
        edition="V1 Historical Archive",
        nav=str(CORPUS / "v1-mkdocs.yml"),
        stdout=out,
    )
    first_links = scan_entry_urls(files)
    assert len(first_links) > 14_000
    stored = set(Entry.objects.values_list("url", flat=True))
    # Every item's first link, by the line scan; and every link of the pages, by the
    # token walk of catalog.coverage (further links, image links, written-out URLs, prose).
    assert first_links <= stored
    every_link = {
        link.url for path in files for link in page_links(path.read_text(encoding="utf-8")) if is_storable(link.url)
    }
    assert stored == every_link
    assert Topic.objects.filter(edition__slug="v1").count() == 161
    assert re.search(r"^  entries +(\d+) +0 +0$", out.getvalue(), re.M).group(1) == str(len(stored))
    # Nested nav groups: a page under CI/CD > DevOps Tools goes under CI/CD.
    assert Topic.objects.get(edition__slug="v1", slug="argo").dimension.name == "CI/CD"


def seed_entries():
    """Every field and label of the seed's entries, and their placements."""
    urls = [
        obj["fields"]["url"]
        for obj in json.loads((settings.BASE_DIR / "fixtures" / "istio.json").read_text(encoding="utf-8"))
        if obj["model"] == "catalog.entry"
    ]
    rows = {}
    for entry in Entry.objects.filter(url__in=urls).prefetch_related("tagged_items__tag"):
        values = {f.attname: getattr(entry, f.attname) for f in Entry._meta.concrete_fields}
        values["labels"] = sorted(item.tag.name for item in entry.tagged_items.all())
        rows[entry.url] = values
    placements = sorted(
        Placement.objects.filter(section__topic__edition__slug="v2", section__topic__slug="istio").values_list(
            "section__slug", "entry__url", "position"
        )
    )
    assert len(rows) == 53
    return rows, placements


def test_the_seed_entries_survive_a_corpus_import_unchanged(seed):
    before = seed_entries()
    # As the fixture is built: the dimension's pages of both editions, curator values kept.
    topics = corpus.import_dimension(CORPUS)
    assert ("V1 Historical Archive", "istio") in topics and ("V2 Elite", "istio") not in topics
    # A link of the seed that the V1 page lists too is placed there as well.
    assert Placement.objects.filter(entry__url="https://istiobyexample.dev").count() == 2
    assert seed_entries() == before
    # The corpus's own V2 istio.md, imported with --keep-curator-values, changes no seed value either;
    # it reports the values it would otherwise have overwritten.
    report = import_pages(
        pages=[(read_page(CORPUS / "v2" / "istio.md"), corpus.DIMENSION)],
        edition_name="V2 Elite",
        keep_curator_values=True,
    )
    assert seed_entries()[0] == before[0]
    assert report.conflicts and all(c.kept for c in report.conflicts)
    assert {c.what for c in report.conflicts} >= {"topic istio", "entry https://github.com/envoyproxy/gateway"}


def test_the_committed_networking_fixture_is_what_the_builder_makes(tmp_path, db):
    call_command("build_corpus_fixture", str(CORPUS), out=tmp_path, stdout=io.StringIO())
    committed = json.loads((settings.BASE_DIR / "fixtures" / "networking.json").read_text(encoding="utf-8"))
    assert json.loads((tmp_path / "networking.json").read_text(encoding="utf-8")) == committed, (
        "fixtures/networking.json is stale: run manage.py build_corpus_fixture"
    )
    # The builder leaves the database as it was.
    assert not Entry.objects.exists()


def test_the_fixture_holds_the_dimension_of_both_editions(catalog_fixtures):
    names = corpus.dimension_pages(CORPUS)
    assert names == [
        "caching.md",
        "cloudflare.md",
        "istio.md",
        "kubernetes-networking.md",
        "networking.md",
        "servicemesh.md",
        "web-servers.md",
    ]
    slugs = [name.removesuffix(".md") for name in names]
    for edition in ("v1", "v2"):
        topics = Topic.objects.filter(edition__slug=edition, slug__in=slugs).with_entry_counts()
        assert {t.slug for t in topics} == set(slugs)
        assert all(t.entry_count > 0 for t in topics), [(t.slug, t.entry_count) for t in topics]
        assert {t.dimension.name for t in topics} == {corpus.DIMENSION}
