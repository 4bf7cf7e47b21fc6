"""A reader searches from the header: suggestions as they type, the keyboard, the results page."""

import pytest

from catalog.models import Placement

pytestmark = pytest.mark.e2e


def test_header_search_suggests_and_navigates_by_keyboard(page, live_server, live_seed, screenshot, axe):
    page.goto(f"{live_server.url}/topics/istio/")
    page.keyboard.press("/")  # focuses the header search box
    box = page.locator("#site-search-q")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    box.type("kiali", delay=20)
    listbox = page.get_by_role("listbox", name="Suggestions")
    listbox.get_by_role("option").first.wait_for()
    names = [g.split(" (")[0] for g in page.locator(".site-search__group").all_text_contents()]
    assert "Entries" in names and names == [n for n in ("Topics", "Sections", "Entries") if n in names]
    assert box.get_attribute("aria-expanded") == "true"
    screenshot(page, "search-suggestions")
    box.press("ArrowDown")
    first = listbox.get_by_role("option").first
    assert first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    box.press("Escape")
    assert listbox.is_hidden()

    # Without choosing a suggestion, Enter submits the form: the grouped results page.
    box.press("Enter")
    page.wait_for_url("**/search/?q=kiali")
    assert page.locator("#hits-entries").inner_text().startswith("Entries (")
    assert page.locator("li.entry").count() >= 1
    assert axe(page) == []
    screenshot(page, "search-results")


def test_the_v1_page_shows_v1_words(page, live_server, live_seed):
    """The seed's V2 words stay on the V2 page; the V1 page lists the same links in V1's words."""
    page.goto(f"{live_server.url}/topics/istio/v1/")
    shown = set(page.locator("main li.entry .entry__title").all_inner_texts())
    v1 = Placement.objects.filter(section__topic__edition__slug="v1", section__topic__slug="istio").select_related(
        "entry"
    )
    assert {" ".join(p.shown_title.split()) for p in v1} == {" ".join(t.split()) for t in shown}
