"""The corpus-wide targets of a faithful import, over the vendored Nubenetes corpus:
at least 99.5% of each edition's distinct http(s) links placed on the page they stand on,
and every heading kept as a section (`manage.py corpus_coverage` prints the same figures)."""

import pytest

from catalog.corpus import EDITIONS, edition_pages
from catalog.coverage import edition_coverage, page_links

from .conftest import CORPUS


@pytest.fixture(scope="module")
def coverage():
    return {
        edition: edition_coverage(edition, edition_pages(CORPUS, folder, skipped))
        for edition, folder, skipped in EDITIONS
    }


@pytest.mark.parametrize("edition", [edition for edition, _, _ in EDITIONS])
def test_each_edition_places_its_links_on_their_page_and_keeps_every_heading(coverage, edition):
    result = coverage[edition]
    assert result.urls > 10_000
    assert result.percent >= 99.5, (result.percent, result.missed, result.misses[:10])
    assert result.pair_percent >= 99.5
    assert result.headings > 100 and result.headings_kept == result.headings


def test_invalid_and_truncated_urls_are_reported_by_file_and_line(coverage):
    invalid = {(path.rsplit("/", 1)[-1], line, url) for path, line, url in coverage["V1 Historical Archive"].invalid}
    assert ("kubernetes-tools.md", 1305, "https://t.…") in invalid
    assert ("web-servers.md", 96, "https://koa") in invalid
    assert not coverage["V2 Elite"].invalid


def test_the_link_finder_sees_every_kind_of_link():
    text = (
        "# T\n\nIntro [a](https://a.example.org) and https://b.example.org.\n\n"
        "- [c](https://c.example.org) and [d](https://d.example.org)\n"
        "- [![e](https://img.example.org/e.png)](https://e.example.org)\n"
        "- https://f.example.org\n\n"
        "!!! note\n    [g](https://g.example.org)\n\n"
        '<iframe src="https://www.youtube.com/embed/abcdefg"></iframe>\n\n'
        "| x |\n| - |\n| [h](https://h.example.org) |\n\n"
        "```\nhttps://code.example.org\n```\n"
    )
    assert [(link.url, link.kind) for link in page_links(text)] == [
        ("https://a.example.org", "prose"),
        ("https://b.example.org", "written URL"),
        ("https://c.example.org", "item"),
        ("https://d.example.org", "item further"),
        ("https://e.example.org", "image link"),
        ("https://f.example.org", "written URL"),
        ("https://g.example.org", "prose"),
        ("https://www.youtube.com/watch?v=abcdefg", "raw HTML"),
        ("https://h.example.org", "table"),
    ]
