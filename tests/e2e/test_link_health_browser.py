"""A curator sees a dead link on the dashboard, replaces it with its archived
copy in one action, and a reader sees the note, in a real browser."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Change, Entry, LinkHealth, Placement

pytestmark = pytest.mark.e2e

PASSWORD = "Keep-the-links-alive-2026"


def test_a_curator_replaces_a_dead_link_with_its_archived_copy(browser, page, live_server, live_seed, screenshot):
    get_user_model().objects.create_superuser("lina", "lina@example.org", PASSWORD)
    placement = Placement.objects.select_related("entry", "section__topic__edition").filter(
        section__topic__slug="istio"
    ).first()  # fmt: skip
    entry, topic = placement.entry, placement.section.topic
    original = entry.url
    Entry.objects.filter(pk=entry.pk).update(link_state="dead")
    LinkHealth.objects.create(
        entry=entry, url=original, failures_in_row=3, failing_since=timezone.now() - timedelta(days=20),
        last_checked_at=timezone.now(), last_result="failed", last_status_code=404,
    )  # fmt: skip

    # A reader: the dead link is out of the topic page, and its own page says so.
    reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(f"{live_server.url}{topic.get_absolute_url()}")
    assert entry.title not in reader.locator("main").inner_text()
    reader.goto(f"{live_server.url}/browse/?link=dead")
    assert entry.title in reader.locator("main").inner_text()
    screenshot(reader, "link-status-facet-dead")
    reader.goto(f"{live_server.url}{entry.get_absolute_url()}")
    note = reader.locator(".entry__note--dead")
    assert note.inner_text() == "Link may be broken: archived copy"
    assert note.get_by_role("link").get_attribute("href") == f"https://web.archive.org/web/{original}"
    screenshot(reader, "entry-dead-link-note")

    # The curator: the dashboard counts it, the count opens the list, one action fixes it.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/dashboard/")
    page.get_by_label("Username").fill("lina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/dashboard/")
    row = page.locator("tr", has_text="link dead")
    assert row.locator("td.count").inner_text() == "1"
    screenshot(page, "dashboard-link-health")
    row.locator("th a").click()
    page.wait_for_url("**/admin/catalog/entry/?gap=link_dead")
    page.locator("#result_list input.action-select").first.check()
    page.locator("select[name=action]").select_option("use_archived_copy")
    page.get_by_role("button", name="Go").click()
    assert "Replaced 1 entry with an archived copy." in page.locator(".messagelist").inner_text()
    entry.refresh_from_db()
    assert entry.url == f"https://web.archive.org/web/{original}"
    assert Change.objects.get(entry=entry).note == "Link: replaced with the archived copy"

    # The reader again: the entry is back on its page, marked as an archived copy.
    reader.goto(f"{live_server.url}{topic.get_absolute_url()}")
    card = reader.locator(f"#entry-{entry.pk}")
    assert card.locator(".entry__note").inner_text() == "Archived copy: the original page is gone."
    assert card.locator("a.entry__title").get_attribute("href") == entry.url
    card.scroll_into_view_if_needed()
    screenshot(reader, "topic-archived-copy-note")
    reader.context.close()
