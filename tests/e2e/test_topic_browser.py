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
