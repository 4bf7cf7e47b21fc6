"""Nothing on a page is lost: every link, the nesting, highlights and ratings, the prose.

Small samples, one construct each: parsed, imported, shown on the topic page,
found by the header search, and written back by export_markdown.
"""

import io
import textwrap
from html.parser import HTMLParser

from django.core.management import call_command

from catalog.markdown_export import export_topic
from catalog.markdown_import import parse_page
from catalog.models import Entry, Placement, Section, Topic
from catalog.prose import render_markdown
from catalog.services.imports import import_pages

V1 = "V1 Historical Archive"


def md(text):
    return textwrap.dedent(text).lstrip("\n")


def entries(page):
    return [(e.title, e.url, e.parent) for _, _, s in page.walk() for e in s.entries]


def imported(text, slug="faithful"):
    page = parse_page(md(text), path=f"{slug}.md")
    import_pages(pages=[(page, "Mesh")], edition_name=V1)
    return Topic.objects.get(edition__slug="v1", slug=slug)


NESTED = """
    # Faithful
    ## Tools
    Intro to the tools, with [a guide](https://guide.example.org).

    - [Istio](https://istio.io) ==the mesh== — see [docs](https://istio.io/docs) and https://istio.io/blog
        - [Kiali 🌟🌟🌟](https://kiali.io)
            - [Kiali operator](https://github.com/kiali/kiali-operator)
            - A note on the operator
        - Remember: install **Kiali** first
    - [![Envoy logo](https://img.shields.io/badge/envoy-proxy-blue)](https://envoyproxy.io)
    - https://linkerd.io Linkerd, the light one
"""


def test_every_link_of_an_item_an_image_a_written_url_and_prose_is_an_entry():
    page = parse_page(md(NESTED), path="faithful.md")
    assert entries(page) == [
        ("Istio", "https://istio.io", None),
        # The item's further links (a link, a written-out URL) are nested under its first.
        ("docs", "https://istio.io/docs", "https://istio.io"),
        ("https://istio.io/blog", "https://istio.io/blog", "https://istio.io"),
        ("Kiali", "https://kiali.io", "https://istio.io"),
        ("Kiali operator", "https://github.com/kiali/kiali-operator", "https://kiali.io"),
        ("Envoy logo", "https://envoyproxy.io", None),  # a link around a badge: titled by its alt text
        ("Linkerd, the light one", "https://linkerd.io", None),  # a bare-URL item: titled by its words
        # A link in the intro paragraph: after the items (an export writes the prose first).
        ("a guide", "https://guide.example.org", None),
    ]
    istio, kiali = page.sections[0].entries[0], page.sections[0].entries[3]
    assert istio.highlight == "the mesh" and istio.description == "the mesh — see docs and https://istio.io/blog"
    # 🌟🌟🌟 is a rating of 3, and features the link.
    assert (kiali.rating, kiali.featured) == (3, True)
    assert kiali.note == "- A note on the operator"
    assert istio.note == "- Remember: install **Kiali** first"
    assert page.sections[0].prose == ["Intro to the tools, with [a guide](https://guide.example.org)."]


def test_a_truncated_or_invalid_url_is_reported_by_file_and_line_and_never_stored(tmp_path, editions):
    path = tmp_path / "cut.md"
    path.write_text(
        md("""
            # Cut
            ## S
            - [RBAC Wizard](https://t.…) cut off by the editor
            - [Koa](https://koa)
            - [Fine](https://fine.example.org)
        """),
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import_markdown", str(path), edition=V1, dimension="D", verbosity=2, stdout=out)
    assert f"{path}:3: invalid URL" in out.getvalue() and f"{path}:4: invalid URL" in out.getvalue()
    assert "skipped, not entries: 2" in out.getvalue() and "kept as prose" not in out.getvalue()
    assert list(Entry.objects.values_list("url", flat=True)) == ["https://fine.example.org"]
    assert not Entry.objects.filter(url__contains="xn--").exists()


def test_nested_items_stay_nested_on_the_page_and_in_the_export(client, editions):
    topic = imported(NESTED)
    parent_of = {
        p.entry.url: p.parent.entry.url if p.parent else None
        for p in Placement.objects.filter(section__topic=topic).select_related("entry", "parent__entry")
    }
    assert parent_of["https://kiali.io"] == "https://istio.io"
    assert parent_of["https://github.com/kiali/kiali-operator"] == "https://kiali.io"
    assert parent_of["https://istio.io"] is None and parent_of["https://envoyproxy.io"] is None

    html = client.get("/topics/faithful/v1/").content.decode()
    # The operator is inside Kiali's item, which is inside Istio's: three levels of lists.
    assert Page(html).entry_depth == {
        "https://istio.io": 1,
        "https://istio.io/docs": 2,
        "https://istio.io/blog": 2,
        "https://kiali.io": 2,
        "https://github.com/kiali/kiali-operator": 3,
        "https://envoyproxy.io": 1,
        "https://linkerd.io": 1,
        "https://guide.example.org": 1,
    }
    assert "<li>A note on the operator</li>" in html
    assert "<mark>the mesh</mark>" in html

    # The export nests them the same way, and reads back to the same tree.
    exported = export_topic(topic)
    assert "- [Istio](https://istio.io) — ==the mesh== — see docs and https://istio.io/blog" in exported
    assert "    - [Kiali 🌟](https://kiali.io) ★★★☆☆" in exported
    assert "        - [Kiali operator](https://github.com/kiali/kiali-operator)" in exported
    assert "        - A note on the operator" in exported
    again = parse_page(exported, path="faithful.md")
    assert {(e.url, e.parent) for _, _, s in again.walk() for e in s.entries} == set(parent_of.items())


class Page(HTMLParser):
    """What a page's HTML holds: how deep each entry's title link is nested in entry items,
    and every element of <main> with its attributes."""

    def __init__(self, html):
        super().__init__()
        self.open, self.entry_depth, self.in_main, self.elements = [], {}, False, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        if self.in_main:
            self.elements.append((tag, attrs))
        if tag in ("li", "ul", "section", "div", "p", "details", "summary", "span", "a"):
            self.open.append((tag, "entry" in (attrs.get("class") or "").split()))
        if tag == "a" and "entry__title" in (attrs.get("class") or ""):
            self.entry_depth[attrs["href"]] = sum(1 for name, entry in self.open if name == "li" and entry)

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break


def nesting_depth(page):
    return max((depth_of(e, {x.url: x for x in s.entries}) for _, _, s in page.walk() for e in s.entries), default=0)


def depth_of(entry, by_url):
    depth, seen = 0, set()
    while entry.parent and entry.parent not in seen:
        seen.add(entry.parent)
        entry, depth = by_url[entry.parent], depth + 1
    return depth


def test_nesting_depth_is_kept_through_import_and_export(editions):
    deep = md("""
        # Deep
        ## S
        - [L0](https://l0.example.org)
            - [L1](https://l1.example.org)
                - [L2](https://l2.example.org)
                    - [L3](https://l3.example.org)
                        - [L4](https://l4.example.org)
    """)
    page = parse_page(deep, path="deep.md")
    assert nesting_depth(page) == 4
    topic = imported(deep, slug="deep")
    assert nesting_depth(parse_page(export_topic(topic), path="deep.md")) == 4


PROSE = """
    # Prose
    ## Reading
    An intro paragraph with **bold** words.

    !!! note "Before you start"
        Read the [guide](https://guide.example.org) first.

    | Tool | Use |
    | --- | --- |
    | curl | fetch |

    ```yaml
    kind: Pod
    ```

    - [Istio](https://istio.io)
"""


def test_section_prose_is_kept_shown_as_safe_html_and_exported(
    client, editions, tmp_path, django_assert_max_num_queries
):
    path = tmp_path / "prose.md"
    path.write_text(md(PROSE), encoding="utf-8")
    out = io.StringIO()
    call_command("import_markdown", str(path), edition=V1, dimension="D", stdout=out)
    assert "kept as prose and notes: 4 blocks (1 paragraph, 1 admonition, 1 table, 1 code)" in out.getvalue()
    topic = Topic.objects.get(edition__slug="v1", slug="prose")
    section = Section.objects.get(topic=topic, title="Reading")
    assert section.prose.startswith("An intro paragraph with **bold** words.")
    assert '!!! note "Before you start"' in section.prose and "| curl | fetch |" in section.prose
    assert "```yaml\nkind: Pod\n```" in section.prose
    # The admonition's link is an entry too.
    assert Entry.objects.filter(url="https://guide.example.org").exists()

    client.get("/topics/prose/v1/")  # builds the facet index
    with django_assert_max_num_queries(9):  # a topic page's queries, and one for its prose
        html = client.get("/topics/prose/v1/").content.decode()
    assert "<p>An intro paragraph with <strong>bold</strong> words.</p>" in html
    assert '<p class="admonition-title">Before you start</p>' in html
    assert "<td>curl</td>" in html and "kind: Pod" in html

    exported = export_topic(topic)
    assert md(PROSE).split("## Reading\n", 1)[1].split("- [Istio]")[0] in exported
    again = parse_page(exported, path="prose.md")
    assert again.sections[0].prose == parse_page(md(PROSE), path="prose.md").sections[0].prose


HOSTILE = """
    # Hostile
    ## S
    <script>alert("x")</script>

    <img src=x onerror="alert(1)"> and <a href="javascript:alert(2)">click</a>

    [click me](javascript:alert(3)) <iframe src="https://evil.example.org"></iframe>

    <style>body { display: none }</style>

    - [Listed](https://listed.example.org)
        - A note with <svg onload=alert(4)> and <object data="x.swf"></object>
"""


def test_no_raw_html_or_script_reaches_a_page(client, editions):
    imported(HOSTILE, slug="hostile")
    html = client.get("/topics/hostile/v1/").content.decode()
    elements = Page(html).elements
    tags = {tag for tag, _ in elements}
    assert not tags & {"script", "style", "iframe", "svg", "object", "embed"}, tags
    for tag, attrs in elements:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)
        for name in ("href", "src", "data"):
            assert not (attrs.get(name) or "").strip().lower().startswith(("javascript:", "data:")), (tag, attrs)
    # The words stay, as text.
    assert "click" in html and "A note with" in html and "Listed" in html


def test_the_renderer_keeps_text_and_drops_what_could_run():
    assert render_markdown("Hi <b onclick=x()>there</b>") == "<p>Hi <b>there</b></p>"
    assert "<a" not in render_markdown("[x](javascript:alert(1))")
    assert "<script" not in render_markdown("<script>alert(1)</script>")
    assert render_markdown("==marked== words") == "<p><mark>marked</mark> words</p>"
    assert render_markdown("") == ""


def test_the_header_search_finds_section_prose_and_listing_words(client, editions):
    imported(PROSE, slug="prose")
    imported(
        """
        # Other
        ## S
        - [Quantum ingress notes](https://istio.io) ==zeppelin== tuning
        """,
        slug="other",
    )
    Entry.objects.filter(url="https://istio.io").update(title="Istio", description="")
    found = client.get("/search/", {"q": "intro paragraph", "format": "json"}).json()
    assert [h["title"] for h in found["sections"]["results"]] == ["Reading"]
    # The V1 page's own words for the link (not the entry's) find the entry.
    found = client.get("/search/", {"q": "zeppelin", "format": "json"}).json()
    assert [h["url"] for h in found["entries"]["results"]] == [
        Entry.objects.get(url="https://istio.io").get_absolute_url()
    ]
    assert client.get("/search/", {"q": "zeppelin -quantum", "format": "json"}).json()["entries"]["count"] == 0


def test_the_admin_looks_a_listings_parent_up_rather_than_listing_every_listing(admin_client, editions):
    topic = imported(NESTED)
    kiali = Placement.objects.get(section__topic=topic, entry__url="https://kiali.io")
    html = admin_client.get(f"/admin/catalog/placement/{kiali.pk}/change/").content.decode()
    parent_field = html[html.index('name="parent"') - 400 : html.index('name="parent"') + 600]
    assert "admin-autocomplete" in parent_field
    # Only the current parent is an option, not every listing of the catalog.
    assert parent_field.count("<option") <= 2 and "Istio" in parent_field
