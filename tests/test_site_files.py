"""What a real site has: styled error pages, favicon, robots.txt, sitemap.xml,
social cards and absolute canonical links."""

import re
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.models import Entry, Label, Topic

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def locs(response, path):
    return [loc.text for loc in ElementTree.fromstring(response.content).findall(path, NS)]  # noqa: S314 - ours


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_sitemap_lists_every_topic_of_every_edition_entry_and_label(client, catalog_fixtures, fresh_cache):
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and index["Content-Type"].startswith("application/xml")
    parts = locs(index, "sm:sitemap/sm:loc")
    assert {p.split("/")[-1].split("?")[0] for p in parts} == {
        "sitemap-topics.xml",
        "sitemap-entries.xml",
        "sitemap-labels.xml",
    }
    urls = set()
    for part in parts:
        response = client.get(part.removeprefix("http://testserver"))
        assert response.status_code == 200
        urls |= set(locs(response, "sm:url/sm:loc"))
    expected = {f"http://testserver{t.get_absolute_url()}" for t in Topic.objects.select_related("edition")}
    expected |= {f"http://testserver/entries/{pk}/" for pk in Entry.objects.values_list("pk", flat=True)}
    expected |= {f"http://testserver/labels/{slug}/" for slug in Label.objects.values_list("slug", flat=True)}
    assert {"v1", "v2"} <= set(Topic.objects.values_list("edition__slug", flat=True))
    assert urls == expected


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_private_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert {"Disallow: /admin/", "Disallow: /submit/"} <= set(lines)


def test_favicon_and_logo_are_served(client):
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200
    body = b"".join(favicon.streaming_content)
    assert body[:4] == b"\0\0\1\0"  # an ICO file
    logo = client.get("/static/img/logo.png")
    assert logo.status_code == 200 and b"".join(logo.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_error_pages_have_the_site_header_and_search(status, rf, seed):
    from django.template.loader import render_to_string

    html = render_to_string(f"{status}.html", {"request_path": "/x/"}, request=rf.get("/x/"))
    assert '<header class="site-header">' in html
    assert ('action="/browse/"' in html) == (status == 404)  # the 404 page offers a search
    assert f'<p class="error-page__code">{status}</p>' in html
    assert 'href="/static/css/site.css"' in html


def test_production_404_and_500_are_the_sites_pages(seed, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    missing = client.get("/topics/no-such-topic-at-all/")
    assert missing.status_code == 404
    assert "<h1>Page not found</h1>" in missing.content.decode()
    assert '<header class="site-header">' in missing.content.decode()
    assert client.get("/entries/99999999/").status_code == 404


def test_a_request_for_an_unknown_host_gets_the_styled_400(seed):
    response = Client().get("/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Bad request</h1>" in html and '<header class="site-header">' in html
    assert "attacker.example" not in html


def test_a_server_error_shows_the_styled_page(seed, settings, monkeypatch):
    from catalog import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.pages, "entry_listings", broken)
    client = Client(raise_request_exception=False)
    response = client.get(f"/entries/{Entry.objects.first().pk}/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and '<header class="site-header">' in html


def test_topic_entry_and_label_pages_have_social_cards_and_absolute_canonical_links(client, seed):
    entry, label = Entry.objects.first(), Label.objects.first()
    topic = Topic.objects.get(slug="istio", edition__slug="v2")
    for path, canonical, title in [
        ("/topics/istio/", topic.get_absolute_url(), topic.title),
        (f"/entries/{entry.pk}/", f"/entries/{entry.pk}/", entry.title),
        (f"/labels/{label.slug}/", f"/labels/{label.slug}/", f"Label: {label.name}"),
    ]:
        html = client.get(path).content.decode()
        head = html.split("</head>")[0]
        assert f'<link rel="canonical" href="http://testserver{canonical}">' in head
        assert f'<meta property="og:url" content="http://testserver{canonical}">' in head
        og_title = re.search(r'<meta property="og:title" content="([^"]*)">', head).group(1)
        assert og_title.replace("&amp;", "&") == title
        assert '<meta property="og:image" content="http://testserver/static/img/logo.png">' in head
        assert '<meta name="twitter:card" content="summary">' in head
