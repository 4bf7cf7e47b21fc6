"""Playwright on the system Chromium (never a downloaded browser).

The browser is found with `which chromium` (or $CHROMIUM). Without one, the
browser tests skip with a reason, unless MESHPORTAL_REQUIRE_BROWSER=1 (CI sets
it) turns that into a failure. Screenshots go to screenshots/ at the top.
"""

import os
import shutil
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management import call_command

from ..conftest import DEFAULT_FIXTURES

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path():
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


# Package scope: Playwright's sync API keeps an event loop running in this thread until it
# stops, so it must stop with the browser tests, before any later test calls asyncio.run().
@pytest.fixture(scope="package")
def browser():
    path = chromium_path()
    if not path:
        if os.environ.get("MESHPORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (MESHPORTAL_REQUIRE_BROWSER=1) but `which chromium` finds none")
        pytest.skip("no system Chromium: install Debian's `chromium` package to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name, **kwargs):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, **kwargs)
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path

    return take


@pytest.fixture
def live_seed(transactional_db):
    """The seed fixtures and the staff roles for a live server.

    The database is emptied after each live-server test, and with it the
    groups that the roles migration made: they are made again here from the
    migration's own list.
    """
    from django.contrib.auth.models import Group, Permission

    call_command("loaddata", *DEFAULT_FIXTURES, verbosity=0)
    for name, codenames in import_module("catalog.migrations.0004_roles").ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe():
    """Runs axe-core in a page; returns the serious and critical violations."""
    if not AXE.exists():
        if os.environ.get("MESHPORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
        pytest.skip("axe-core is not installed (npm ci): accessibility checks skipped")

    def run(page):
        # Evaluated through the DevTools protocol: the site's Content-Security-Policy
        # rightly refuses an injected <script> element (add_script_tag).
        page.evaluate(AXE.read_text())
        violations = page.evaluate("axe.run().then(r => r.violations)")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]

    return run
