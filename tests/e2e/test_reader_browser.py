"""A reader on a phone and on a desktop: drawers, focus, density, colours, the
first-result budget, accessibility on every page type, and the screenshots
that docs/reader-guide.md points to."""

import gzip
import re

import pytest
from playwright.sync_api import expect

from catalog.models import Entry

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BUDGET = 40 * 1024  # gzip bytes of HTML, CSS and JS for a reader's first filtered result


@pytest.fixture
def open_context(browser):
    contexts = []

    def make(viewport=DESKTOP, scheme="light", javascript=True):
        context = browser.new_context(viewport=viewport, color_scheme=scheme, java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_next_page_takes_the_reader_to_the_results_heading(open_context, live_server, live_seed):
    # Before: after "Next page" the reader stayed at the bottom, with focus on <body>.
    page = open_context()
    page.goto(f"{live_server.url}/browse/")
    page.evaluate("window.__samePage = true")
    page.locator(".pagination").get_by_role("link", name="Next page").click()
    page.wait_for_url("**/browse/?page=2")
    expect(page.locator("#result-count")).to_be_focused()  # no string evaluation: the CSP refuses it
    assert page.evaluate("window.__samePage") is True  # no full reload
    top = page.evaluate("document.getElementById('result-count').getBoundingClientRect().top")
    assert -1 < top < 100  # at the top of the viewport, give or take a sub-pixel scroll offset
    pages = -(-Entry.objects.count() // 20)
    assert page.locator("#result-count").inner_text().endswith(f"page 2 of {pages}")


def test_skip_link_reaches_the_first_result_in_a_few_presses(open_context, live_server, live_seed):
    # Before: 66 Tab presses from the top of /browse/ to the first result.
    page = open_context()
    page.goto(f"{live_server.url}/browse/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to results"
    page.keyboard.press("Enter")
    presses = 0
    while presses < 10:
        page.keyboard.press("Tab")
        presses += 1
        if page.evaluate("document.activeElement.classList.contains('entry__title')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('entry__title')")
    assert presses <= 5  # past the three view switches


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_phone_reader_finds_filters_and_contents_at_the_top(open_context, live_server, live_seed, javascript):
    page = open_context(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/topics/istio/")
    filters = page.locator("summary.drawer__button", has_text="Filters")
    contents = page.locator("summary.drawer__button", has_text="Contents")
    for button in (filters, contents):
        box = button.bounding_box()
        assert box and box["y"] + box["height"] < PHONE["height"], "the drawer buttons are on the first screen"
    toc_link = page.locator(".toc").get_by_role("link", name="Multi-Cluster")
    assert not toc_link.is_visible()
    contents.click()
    assert toc_link.is_visible()
    toc_link.click()
    assert page.url.endswith("#cloud-native-infrastructure-multi-cluster")

    page.goto(f"{live_server.url}/browse/")
    drawer = page.locator("#filters-drawer > summary")
    assert drawer.bounding_box()["y"] < PHONE["height"]
    guide = page.locator("#facet-kind + ul").get_by_role("link", name="GUIDE")
    assert not guide.is_visible()
    drawer.click()
    guide.click()
    page.wait_for_url("**/browse/?kind=guide")
    guides = Entry.objects.filter(labels__slug="guide").count()
    expect(page.locator("#result-count")).to_have_text(re.compile(rf"^{guides} entr"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_desktop_shows_filters_and_contents_without_a_click(open_context, live_server, live_seed):
    page = open_context()
    page.goto(f"{live_server.url}/browse/")
    assert page.locator("#facet-kind + ul").get_by_role("link", name="GUIDE").is_visible()
    assert not page.locator("#filters-drawer > summary").is_visible()
    page.goto(f"{live_server.url}/topics/istio/")
    assert page.locator(".toc").get_by_role("link", name="Multi-Cluster").is_visible()


def test_contents_mark_the_section_being_read(open_context, live_server, live_seed):
    page = open_context()
    page.goto(f"{live_server.url}/topics/istio/")
    page.locator("#cloud-native-infrastructure-multi-cluster").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('cloud-native-infrastructure-multi-cluster').scrollIntoView()")
    link = page.locator('.toc a[href="#cloud-native-infrastructure-multi-cluster"]')
    expect(link).to_have_attribute("aria-current", "true")  # no string evaluation: the CSP refuses it
    assert page.locator('.toc a[aria-current="true"]').count() == 1
    assert link.get_attribute("aria-current") == "true"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_facet_counts_never_wrap(open_context, live_server, live_seed, viewport):
    # Before: "58" stood over "4" next to long labels.
    page = open_context(viewport)
    page.goto(f"{live_server.url}/topics/istio/v1/?view=cards")
    page.locator(".drawer--filters > summary").click()
    counts = page.locator(".facet .count")
    assert counts.count() > 20
    lines = page.evaluate(
        """() => Array.from(document.querySelectorAll('.facet .count')).map(c => {
            const lineHeight = parseFloat(getComputedStyle(c).lineHeight) || 20;
            return c.getBoundingClientRect().height / lineHeight;
        })"""
    )
    assert max(lines) < 1.5


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_maturity_tiers_have_distinct_colours(open_context, live_server, live_seed, axe, scheme):
    # Before: every tier was the same green, LEGACY included.
    page = open_context(scheme=scheme)
    page.goto(f"{live_server.url}/labels/")
    colours = page.evaluate(
        """() => ['de-facto-standard', 'enterprise-stable', 'emerging', 'legacy'].map(slug => {
            const chip = document.querySelector('.label--' + slug);
            return chip ? getComputedStyle(chip).backgroundColor : null;
        })"""
    )
    assert None not in colours and len(set(colours)) == 4
    assert axe(page) == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_year_range_two_handles_with_javascript_two_fields_without(open_context, live_server, live_seed, javascript):
    years = sorted(set(Entry.objects.listed().exclude(year=None).values_list("year", flat=True)))
    first, last = years[0], years[-1]
    low_year, high_year = first + 2, last - 1
    expected = Entry.objects.listed().filter(year__gte=low_year, year__lte=high_year).count()
    page = open_context(javascript=javascript)
    page.goto(f"{live_server.url}/browse/")
    handles = page.locator("[data-year-slider] input[type=range]")
    page.fill("#id_year_max", str(high_year))
    if javascript:
        expect(handles).to_have_count(2)
        low, high = handles.nth(0), handles.nth(1)
        assert [low.get_attribute("min"), low.get_attribute("max")] == [str(first), str(last)]
        assert low.input_value() == str(first) and high.input_value() == str(high_year)  # typing moved it
        low.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # each move applies the range, as a change of the sort does
        expect(page.locator("#id_year_min")).to_have_value(str(low_year))
    else:
        assert handles.count() == 0 and page.locator("[data-year-slider]").is_hidden()
        page.fill("#id_year_min", str(low_year))
        page.locator(".ranges button[type=submit]").click()
    page.wait_for_url(re.compile(rf"year_min={low_year}&year_max={high_year}"))
    expect(page.locator("#result-count")).to_contain_text(f"{expected:,} entries")
    shown = {int(y) for y in re.findall(r"\((\d{4})\)", " ".join(page.locator(".entry__year").all_inner_texts()))}
    assert shown and low_year <= min(shown) and max(shown) <= high_year
    if javascript:  # the new page's handles stand where the range is, and the moved one keeps the focus
        expect(page.locator("[data-year-slider] [data-end=low]")).to_be_focused()
        assert handles.nth(0).input_value() == str(low_year) and handles.nth(1).input_value() == str(high_year)


def test_the_table_view_scrolls_inside_its_box_on_a_phone(open_context, live_server, live_seed):
    # Before: the headings' hidden texts ("sort by this column") stretched the page to 888 px.
    page = open_context(PHONE)
    page.goto(f"{live_server.url}/browse/?view=table&sort=stars")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("box => box.scrollWidth > box.clientWidth")  # the table scrolls in its box


def test_first_filtered_result_on_a_phone_fits_the_budget(open_context, live_server, live_seed):
    page = open_context(PHONE)
    sizes = {}

    def record(response):
        kind = response.request.resource_type
        if kind in ("document", "stylesheet", "script"):
            sizes[response.url] = len(gzip.compress(response.body(), compresslevel=6))

    page.on("response", record)
    page.goto(f"{live_server.url}/browse/?kind=guide")
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    assert any("/static/css/" in url for url in sizes) and any("/static/js/" in url for url in sizes)
    assert total <= BUDGET, sizes


PAGE_TYPES = [
    "/",
    "/browse/",
    "/browse/?view=table&sort=stars",
    "/browse/?view=cards&kind=guide",
    "/browse/?q=zzzz+kiali&kind=guide",
    "/browse/?year_min=abc&per_page=7",
    "/topics/istio/",
    "/topics/istio/?kind=guide",
    "/entries/1/",
    "/labels/",
    "/labels/guide/",
    "/stats/",
    "/submit/",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_no_serious_accessibility_violation_on_any_page_type(
    open_context, live_server, live_seed, axe, scheme, viewport
):
    page = open_context(viewport, scheme)
    first = Entry.objects.order_by("pk").first().pk
    found = {}
    for path in PAGE_TYPES:
        page.goto(f"{live_server.url}{path.replace('/entries/1/', f'/entries/{first}/')}")
        if viewport is PHONE and page.locator(".drawer--filters > summary").count():
            page.locator(".drawer--filters > summary").first.click()  # the open drawer too
        violations = axe(page)
        if violations:
            found[path] = violations
    assert found == {}


SHOTS = [
    ("topic-compact", "/topics/istio/", None),
    ("browse-table", "/browse/?view=table&sort=stars", None),
    ("stats", "/stats/", None),
    ("filter-drawer", "/browse/?kind=community-tool", "#filters-drawer"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_reader_screenshots(open_context, live_server, live_seed, scheme, viewport):
    page = open_context(viewport, scheme)
    folder = SCREENSHOTS / "reader"
    folder.mkdir(parents=True, exist_ok=True)
    for name, path, drawer in SHOTS:
        page.goto(f"{live_server.url}{path}")
        if drawer and viewport is PHONE:
            page.locator(f"{drawer} > summary").click()
        target = folder / f"{name}-{viewport['width']}-{scheme}.png"
        page.screenshot(path=str(target), full_page=name != "topic-compact")
        assert target.stat().st_size > 10_000
