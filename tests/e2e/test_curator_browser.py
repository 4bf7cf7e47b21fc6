"""A curator finds flagged entries on the dashboard, fixes three with one bulk action,
and sees the change in the entry's history, in a real browser."""

import re

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Change, Entry

pytestmark = pytest.mark.e2e

PASSWORD = "Curate-with-care-2026"


def test_a_curator_fixes_three_flagged_entries_from_the_dashboard(page, live_server, live_seed, screenshot):
    get_user_model().objects.create_superuser("cora", "cora@example.org", PASSWORD)
    unrated = Entry.objects.filter(rating__isnull=True).count()

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Curator dashboard: everything that needs attention").click()
    page.wait_for_url("**/admin/dashboard/")
    row = page.locator("tr", has_text="no rating")
    assert row.locator("td.count").inner_text().replace(",", "") == str(unrated)
    screenshot(page, "curator-dashboard")

    # The count links to the list it counts; three entries are fixed in one action.
    row.get_by_role("link", name="no rating").click()
    page.wait_for_url("**/admin/catalog/entry/?gap=no_rating")
    checkboxes = page.locator("#result_list input.action-select")
    chosen = [int(checkboxes.nth(i).get_attribute("value")) for i in range(3)]
    for i in range(3):
        checkboxes.nth(i).check()
    page.locator("select[name=action]").select_option("set_rating")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("★★★★☆").check()
    page.get_by_role("button", name="See what will change").click()
    assert "3 of 3 selected entries will change" in page.locator("#content-main").inner_text()
    assert Entry.objects.filter(pk__in=chosen, rating__isnull=True).count() == 3  # nothing changed yet
    screenshot(page, "bulk-confirmation")
    page.get_by_role("button", name="Yes, change 3 entries").click()
    page.wait_for_url("**/admin/catalog/entry/?gap=no_rating")
    assert "Set the rating: 3 entries changed" in page.locator(".messagelist").inner_text()
    assert Entry.objects.filter(pk__in=chosen, rating=4).count() == 3
    assert Entry.objects.filter(rating__isnull=True).count() == unrated - 3

    # The entry's history shows who changed what, from which value.
    page.goto(f"{live_server.url}/admin/catalog/entry/{chosen[0]}/history/")
    change = page.locator("section.change").first
    assert re.search(r"changed by cora", change.inner_text())
    assert change.locator("tr", has_text="rating").locator("td.old").inner_text() == "—"
    assert change.locator("tr", has_text="rating").locator("td.new").inner_text() == "4"
    assert Change.objects.filter(source="bulk", entry_id__in=chosen).count() == 3
    screenshot(page, "entry-history")


@pytest.mark.parametrize("model", ["entry", "submission", "change", "section", "placement", "label", "topic"])
def test_admin_lists_fit_1280_pixels(page, live_server, live_seed, model):
    get_user_model().objects.create_superuser("cora", "cora@example.org", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/{model}/")
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/admin/catalog/{model}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
