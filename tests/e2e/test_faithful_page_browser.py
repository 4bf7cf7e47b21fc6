"""A reader opens a real V1 page of the corpus: nested listings, prose and videos."""

import pytest

from catalog.markdown_import import read_page
from catalog.services.imports import import_pages
from tests.conftest import CORPUS

pytestmark = pytest.mark.e2e


def test_a_v1_page_with_nested_items_prose_and_videos(page, live_server, live_seed, screenshot):
    import_pages(pages=[(read_page(CORPUS / "v1" / "chaos-engineering.md"), "DevOps")], edition_name="v1")
    page.goto(f"{live_server.url}/topics/chaos-engineering/v1/")
    assert page.locator("h1").all_inner_texts() == ["Chaos Engineering"]

    # The LitmusChaos post is nested in Litmus's card, as the page nests it.
    litmus = page.locator(
        "li.entry", has=page.get_by_role("link", name="cloud.redhat.com: Chaos Engineering With LitmusChaos")
    )
    assert litmus.count() == 2  # its own card, and the parent card holding it
    parent = litmus.first
    assert (
        parent.locator(":scope > .entry__title, :scope > .entry__head .entry__title")
        .first.inner_text()
        .startswith("Litmus Chaos")
    )

    # The videos of the collapsed block are entries labelled VIDEO; the block is prose.
    videos = page.locator("section[aria-labelledby=videos] li.entry")
    assert videos.count() == 2
    assert videos.first.locator(".labels a").all_inner_texts() == ["VIDEO"]
    assert page.locator("section[aria-labelledby=videos] .section__prose summary").inner_text() == "Click to expand!"
    assert page.locator("main iframe, main script").count() == 0
    screenshot(page, "topic-v1-nested-prose-videos")
