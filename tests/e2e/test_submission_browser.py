"""A reader suggests a link in a real browser; a moderator approves it and sees it published."""

import pytest

from catalog.models import Entry, Section, Submission
from catalog.services.staff import staff_user_create

pytestmark = pytest.mark.e2e

PASSWORD = "Moderate-with-care-2026"
TITLE = "Zero-trust networking with a service mesh"


@pytest.fixture
def new_page(browser):
    """Pages in browser contexts of their own (a reader, a moderator), closed after the test."""
    contexts = []

    def open_page(**options):
        contexts.append(browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options}))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_a_reader_suggests_a_link_and_a_moderator_approves_it(new_page, live_server, live_seed, screenshot, settings):
    settings.SUBMISSION_MIN_FILL_SECONDS = 1
    staff_user_create(username="mia", role="moderator", password=PASSWORD, email="mia@example.org")
    section = Section.objects.get(topic__slug="istio", slug="cloud-native-infrastructure-service-mesh-security")

    # The reader, on the Istio page, follows "Suggest a link" and fills the form in.
    reader = new_page()
    reader.goto(f"{live_server.url}/topics/istio/")
    reader.get_by_role("link", name="Suggest a link for this page").click()
    reader.wait_for_url("**/submit/?topic=*")
    assert reader.locator("#id_target option:checked").inner_text() == "Istio - Service Mesh: anywhere on the page"
    reader.get_by_label("Link", exact=True).fill("https://example.dev/zero-trust-mesh/?utm_source=mastodon")
    reader.get_by_label("Title", exact=True).fill(TITLE)
    reader.locator("#id_target").select_option(f"s{section.pk}")
    reader.get_by_label("GUIDE").check()
    reader.get_by_label("Short description").fill("A walk through mTLS and authorization policies in a mesh.")
    reader.get_by_label("Why it belongs in the catalog").fill("Current, vendor-neutral and hands-on.")
    reader.get_by_label("Your email").fill("reader@example.org")
    screenshot(reader, "submit-form")
    reader.wait_for_timeout(1100)  # people take a moment; the form refuses bots that do not
    reader.get_by_role("button", name="Send suggestion").click()
    reader.wait_for_url("**/submit/status/*/")
    status_url = reader.url
    assert reader.locator(".status").text_content() == "Status: Pending review"
    assert "Thank you: your suggestion was received." in reader.locator(".notice").inner_text()
    screenshot(reader, "submit-status-pending")

    # The moderator signs in, finds it in the queue, and approves it after a small edit.
    moderator = new_page()
    moderator.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/submission/")
    moderator.get_by_label("Username").fill("mia")
    moderator.get_by_label("Password").fill(PASSWORD)
    moderator.get_by_role("button", name="Log in").click()
    moderator.wait_for_url("**/admin/catalog/submission/")
    row = moderator.locator("#result_list tbody tr")
    assert row.count() == 1 and TITLE in row.inner_text()
    assert "Istio - Service Mesh › Security" in row.inner_text()
    screenshot(moderator, "moderation-queue")
    moderator.get_by_role("link", name=TITLE).click()
    moderator.get_by_label("Description:").fill("How a mesh gives every workload an identity and encrypts traffic.")
    screenshot(moderator, "moderation-review")
    moderator.get_by_role("button", name="Approve and publish").click()
    moderator.wait_for_url("**/admin/catalog/submission/")
    assert "it is now listed in Istio - Service Mesh › Security" in moderator.locator(".messagelist").inner_text()

    # The moderator then sees it on the topic page, in its section.
    moderator.goto(f"{live_server.url}/topics/istio/#{section.slug}")
    card = moderator.locator(f"section[aria-labelledby='{section.slug}'] li.entry", has_text=TITLE)
    assert card.count() == 1
    assert card.get_by_role("link", name=TITLE, exact=True).get_attribute("href") == (
        "https://example.dev/zero-trust-mesh/"
    )
    assert "How a mesh gives every workload an identity" in card.inner_text()
    card.scroll_into_view_if_needed()
    screenshot(moderator, "topic-with-approved-suggestion")

    # The reader's status page now points to the entry.
    reader.goto(status_url)
    assert reader.locator(".status").text_content() == "Status: Approved"
    entry = Entry.objects.get(url="https://example.dev/zero-trust-mesh/")
    assert reader.get_by_role("link", name=TITLE).get_attribute("href") == f"/entries/{entry.pk}/"
    screenshot(reader, "submit-status-approved")
    assert Submission.objects.get().moderator.username == "mia"


def test_the_form_at_phone_width_in_dark_mode_shows_its_errors(new_page, live_server, live_seed, screenshot):
    page = new_page(viewport={"width": 360, "height": 800}, color_scheme="dark")
    page.goto(f"{live_server.url}/submit/")
    page.get_by_label("Link", exact=True).fill("ftp://example.org/file")
    page.get_by_role("button", name="Send suggestion").click()
    summary = page.get_by_role("alert")
    assert "Your suggestion was not sent" in summary.inner_text()
    assert "Link: Only http:// and https:// links can be suggested." in summary.inner_text()
    assert page.locator("#id_url").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The honeypot stays out of sight.
    assert page.locator(".hp").bounding_box()["x"] < 0
    screenshot(page, "submit-form-360-dark-errors")
    summary.get_by_role("link", name="Title: This field is required.").click()
    assert page.evaluate("document.activeElement.id") == "id_title"
