"""A reader opens the Istio page in a real browser."""

import pytest

from catalog.models import Placement

pytestmark = pytest.mark.e2e


def test_istio_page_in_a_browser(page, live_server, live_seed, screenshot):
    page.goto(f"{live_server.url}/topics/istio/")
    assert page.title() == "Istio - Service Mesh (V2 Elite) · meshportal"
    assert page.locator("h1").all_inner_texts() == ["Istio - Service Mesh"]
    top_sections = page.locator("main h2.section__title").all_inner_texts()
    assert [t.replace("¶", "").split("\n")[0].strip() for t in top_sections][:3] == [
        "Cloud Native",
        "Cloud Native Infrastructure",
        "Continuous Delivery",
    ]
    assert page.locator("main li.entry").count() == 53

    card = page.locator("li.entry", has=page.get_by_role("link", name="Envoy Gateway", exact=True))
    assert card.locator(".entry__year").inner_text() == "(2023)"
    assert "2,800" in card.locator(".badge--stars").inner_text()
    assert card.locator(".badge--lang").inner_text() == "Go"
    assert card.locator(".rating").get_attribute("title") == "Rated 5 of 5"
    assert card.locator(".labels a").all_inner_texts() == ["DE FACTO STANDARD"]
    assert card.get_by_role("link", name="Envoy Gateway", exact=True).get_attribute("href") == (
        "https://github.com/envoyproxy/gateway"
    )

    # The table of contents jumps to a section; the edition switch goes to V1.
    page.locator(".toc").get_by_role("link", name="Multi-Cluster").click()
    assert page.url.endswith("#cloud-native-infrastructure-multi-cluster")
    screenshot(page, "topic-istio")

    page.get_by_role("navigation", name="Edition").get_by_role("link", name="V1 Historical Archive").click()
    page.wait_for_url("**/topics/istio/v1/")
    assert page.locator("h1").all_inner_texts() == ["Istio - Service Mesh"]
    assert (
        page.locator("main li.entry").count()
        == Placement.objects.filter(section__topic__edition__slug="v1").filter(section__topic__slug="istio").count()
    )
    assert "has no “istio” page yet" not in page.locator("main").inner_text()


def test_istio_page_at_phone_width_in_dark_mode(browser, live_server, live_seed, screenshot):
    context = browser.new_context(viewport={"width": 360, "height": 800}, color_scheme="dark")
    page = context.new_page()
    page.goto(f"{live_server.url}/topics/istio/")
    # Nothing overflows sideways at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"
    screenshot(page, "topic-istio-360-dark")
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_long_topic_page_in_a_browser(browser, live_server, transactional_db, screenshot, javascript):
    """700 + 40 links: the page shows at most 500, and "Show all" pages the long section."""
    from catalog.models import Entry, Section

    from ..conftest import Factory

    make = Factory()
    topic = make.topic(slug="long", title="A long page")
    for n, size in enumerate([700, 40]):
        section = make.section(topic=topic, title=f"Part {n}", slug=f"part-{n}")
        Entry.objects.bulk_create(
            Entry(title=f"Link {n}-{i}", url=f"https://long.example/{n}/{i}", year=2010 + i % 15) for i in range(size)
        )
        Placement.objects.bulk_create(
            Placement(section=section, entry=e)
            for e in Entry.objects.filter(url__startswith=f"https://long.example/{n}/")
        )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/topics/long/{topic.edition.slug}/")
    assert page.locator("main li.entry").count() <= 500
    assert page.locator(".toc").inner_text().count("Part") == 2
    screenshot(
        page,
        f"topic-long-collapsed-{'js' if javascript else 'nojs'}",
        clip={"x": 0, "y": 0, "width": 1280, "height": 900},
    )
    page.get_by_role("link", name="Show all 700 links of “Part 0”").click()
    page.wait_for_url("**expand=part-0**")
    assert page.locator("main li.entry").count() == 500
    assert "Listings 1–500 of 700" in page.locator("main").inner_text()
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    assert page.locator("main li.entry").count() == 200
    page.get_by_role("link", name="Back to the whole page").click()
    assert page.locator(".toc").get_by_role("link", name="Part 1").is_visible()
    assert Section.objects.filter(topic=topic).count() == 2
    context.close()
