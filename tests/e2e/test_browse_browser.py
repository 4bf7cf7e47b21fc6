"""A reader filters the catalog by clicking, with JavaScript on and off."""

import math
import re

import pytest
from playwright.sync_api import expect

from catalog.models import Entry


def entries(n):
    return f"{n} entr{'y' if n == 1 else 'ies'}"


pytestmark = pytest.mark.e2e


def count_starts_with(page, text, *, negate=False):
    """Waits for the result count (Playwright's expect: a string predicate would need
    `eval`, which the site's Content-Security-Policy forbids)."""
    count = expect(page.locator("#result-count"))
    (count.not_to_have_text if negate else count.to_have_text)(re.compile("^" + re.escape(text)))


def result_titles(page):
    return page.locator("#browse-results .entry__title").all_inner_texts()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_filter_by_clicking(browser, live_server, live_seed, screenshot, javascript):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    total, guides = Entry.objects.count(), Entry.objects.filter(labels__slug="guide").count()
    page.goto(f"{live_server.url}/browse/")
    assert page.locator("#result-count").inner_text() == f"{entries(total)}, page 1 of {math.ceil(total / 20)}"
    page.evaluate("window.__samePage = true") if javascript else None

    page.locator("#facet-kind + ul").get_by_role("link", name="GUIDE").click()
    page.wait_for_url("**/browse/?kind=guide")
    count_starts_with(page, entries(guides))
    assert page.locator("#result-count").inner_text() == entries(guides)
    assert page.locator(".chips").get_by_role("link", name="Content kind: GUIDE").is_visible()

    # A second facet narrows further: the year link's own count is what it gives.
    # The Year facet is a histogram whose bars are its links, named "2021: 3 entries".
    year = page.locator("section[aria-labelledby=facet-year] svg a").last
    name = year.get_attribute("aria-label")
    year_label, expected = name.split(":")[0], name.split(": ")[1].split()[0]
    year.click()
    page.wait_for_url(f"**year_min={year_label}**")
    count_starts_with(page, entries(guides), negate=True)
    count = page.locator("#result-count").inner_text()
    assert count == f"{expected} entr{'y' if expected == '1' else 'ies'}"
    assert len(result_titles(page)) == min(int(expected), 20)
    assert all(y == f"({year_label})" for y in page.locator("#browse-results .entry__year").all_inner_texts())
    if javascript:
        # No full reload happened, and the live region announced the count.
        assert page.evaluate("window.__samePage") is True
        assert page.locator("#browse-live").inner_text() == count
    screenshot(page, f"browse-{'js-on' if javascript else 'js-off'}")

    page.go_back()
    page.wait_for_url("**/browse/?kind=guide")
    count_starts_with(page, entries(guides))
    context.close()


def test_search_box_and_query_syntax(page, live_server, live_seed, screenshot):
    page.goto(f"{live_server.url}/browse/")
    page.get_by_label("Search titles, descriptions, URLs and labels").fill("istio label:guide")
    page.get_by_role("button", name="Apply").first.click()
    page.wait_for_url("**/browse/?q=istio&kind=guide")
    expected = Entry.objects.filter(labels__slug="guide", title__icontains="istio").count()
    expect(page.locator("#result-count")).to_contain_text("entr")
    shown = int(page.locator("#result-count").inner_text().split()[0])
    assert shown >= expected > 0
    assert page.locator("#browse-results mark").count() >= 1
    screenshot(page, "browse-search")


@pytest.mark.parametrize(
    "path", ["/browse/", "/topics/istio/", "/browse/?kind=guide&year_min=abc", "/submit/?topic=istio", "/"]
)
def test_no_serious_accessibility_violations(page, live_server, live_seed, axe, path):
    page.goto(f"{live_server.url}{path}")
    assert axe(page) == []
