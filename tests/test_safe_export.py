"""Safe export and a safe front-matter reader: hostile titles stay text, YAML bombs are refused."""

import time

import pytest
import yaml
from markdown_it import MarkdownIt

from catalog.markdown_export import export_edition_nav, export_topic
from catalog.markdown_import import MAX_FRONT_MATTER, MarkdownImportError, parse_page

HOSTILE = [
    "<script>alert(1)</script>",
    "Quote \" and ' and: colon",
    "- [x](javascript:alert(1))",
    "*bold* _under_ `code` ![img](https://x.example/i.png)",
    "key: value\nnext: line",
    "&amp; &lt;b&gt; {{ template }} {% tag %}",
    "@at #hash |pipe| !bang? %percent",
    "yes",
    "null",
    "0x1F",
]

ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
title: *h
---
# Page
"""


def test_the_nav_of_hostile_titles_parses_back_to_the_exact_titles(make):
    dimension = make.dimension(name="Dim: <script>alert(1)</script>")
    topics = [make.topic(dimension=dimension, title=title, slug=f"t{i}") for i, title in enumerate(HOSTILE)]
    config = yaml.safe_load(export_edition_nav(dimension.edition, topics))
    [(group, pages)] = config["nav"][0].items()
    assert group == dimension.name
    assert [next(iter(page)) for page in pages] == HOSTILE
    assert [next(iter(page.values())) for page in pages] == [f"t{i}.md" for i in range(len(HOSTILE))]


def test_hostile_words_render_as_text_in_a_site_built_from_the_export(make):
    topic = make.topic(title="<script>alert('topic')</script>")
    section = make.section(topic=topic, title="<img src=x onerror=alert(1)>")
    for i, title in enumerate(HOSTILE):
        make.entry(section=section, title=title, description=f"<script>alert({i})</script> [x](javascript:alert(1))")
    html = MarkdownIt("commonmark", {"html": True}).render(export_topic(topic))
    assert (
        "<script" not in html and "<img" not in html and "javascript:" not in html.replace("javascript:alert(1))", "")
    )
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in html


def test_front_matter_with_aliases_is_refused_at_once():
    assert len(ALIAS_BOMB.encode()) < 600
    start = time.perf_counter()
    with pytest.raises(MarkdownImportError) as error:
        parse_page(ALIAS_BOMB, path="bomb.md")
    assert time.perf_counter() - start < 1  # refused before anything expands
    assert error.value.code == "front_matter_alias" and str(error.value).startswith(
        "bomb.md:3: "
    )  # the first alias, on b:


def test_oversized_front_matter_is_refused():
    text = "---\ntitle: Big\nnotes: " + "x" * (MAX_FRONT_MATTER + 1) + "\n---\n# Page\n"
    with pytest.raises(MarkdownImportError) as error:
        parse_page(text, path="big.md")
    assert error.value.code == "front_matter_too_large"


def test_ordinary_front_matter_still_gives_the_title():
    page = parse_page(
        "---\ntitle: From Front Matter\ntags: [a, b]\n---\n## Links\n- [A](https://a.example)\n", path="p.md"
    )
    assert page.title == "From Front Matter"
