"""Logos: fetched by a background job against loopback fakes, stored here, served from
our URL with long caching, shown small in every list view; a curator's logo is never
overwritten by the job."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.linkhealth import guard
from catalog.linkhealth.logos import source_for, validate_image
from catalog.models import Change, Entry, Logo, LogoSource, logo_path
from catalog.services.logos import logo_store

from .fakeweb import BIG, FakeSite, png, stub_lookup

HOSTS = ["good", "other", "html", "big", "bigstream", "missing", "slow", "svg", "avatars"]


@pytest.fixture
def site(settings, monkeypatch):
    settings.LINK_CHECK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.LINK_CHECK_HOST_DELAY = 0
    settings.LINK_CHECK_TIMEOUT = 1
    monkeypatch.setattr(guard, "system_lookup", stub_lookup({f"{h}.test": ["127.0.0.1"] for h in HOSTS}))
    with FakeSite() as fake:
        settings.LOGO_GITHUB_AVATAR_URL = fake.url("/avatars/{owner}.png", host="avatars.test")
        yield fake


@pytest.fixture
def linked(make, site):
    """One entry per kind of answer, two on the good host, and two GitHub repositories of one owner."""
    section = make.section(topic=make.topic(slug="istio"))
    entries = {h: make.entry(url=site.url(f"/page-{h}", host=f"{h}.test"), section=section) for h in HOSTS[:-1]}
    entries["good-2"] = make.entry(url=site.url("/another-page", host="good.test"), section=section)
    entries["github"] = make.entry(url="https://github.com/istio/istio", section=section)
    entries["github-2"] = make.entry(url="https://github.com/Istio/api/tree/master", section=section)
    return entries


def fetch(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("fetch_logos", *args, stdout=out, stderr=err)
    return out.getvalue()


def fresh(entry):
    return Entry.objects.get(pk=entry.pk)


def test_what_counts_as_a_logo():
    assert validate_image(png()) == "image/png"
    assert validate_image(b"\x00\x00\x01\x00" + b"\x00" * 40) == "image/x-icon"
    assert validate_image(b"GIF89a" + b"\x00" * 20) == "image/gif"
    assert validate_image(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    for data, code in [
        (b"", "empty"),
        (b"<!doctype html><title>Home</title>", "not_image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not_image"),
        (BIG, "too_large"),
    ]:
        with pytest.raises(ValidationError) as caught:
            validate_image(data)
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://istio.io/latest/docs/", ("host:istio.io", "https://istio.io/favicon.ico")),
        ("http://Example.org:8080/a?b", ("host:example.org:8080", "http://example.org:8080/favicon.ico")),
        ("https://github.com/Istio/istio/tree/master", ("github:istio", "https://github.com/istio.png?size=40")),
        ("https://github.com/topics/service-mesh", ("host:github.com", "https://github.com/favicon.ico")),
        ("ftp://example.org/file", None),
    ],
)
def test_where_an_entry_logo_comes_from(url, source):
    assert source_for(url) == source


def test_the_job_stores_good_images_and_refuses_the_rest(linked, site):
    out = fetch()
    errors = dict(LogoSource.objects.values_list("key", "error"))
    port = site.port
    assert errors == {
        f"host:good.test:{port}": "",
        f"host:other.test:{port}": "",
        f"host:html.test:{port}": "not_image",
        f"host:big.test:{port}": "too_large",
        f"host:bigstream.test:{port}": "too_large",
        f"host:missing.test:{port}": "http_404",
        f"host:slow.test:{port}": "timeout",
        f"host:svg.test:{port}": "not_image",
        "github:istio": "",
    }
    good = fresh(linked["good"])
    assert good.site_logo is not None and bytes(good.site_logo.data) == png()
    assert good.site_logo.content_type == "image/png"  # from the bytes, not the server's "image/x-icon"
    assert fresh(linked["good-2"]).site_logo_id == good.site_logo_id  # one source, one fetch, one row
    assert site.host_hits[("good.test", "/favicon.ico")] == 1
    avatar = fresh(linked["github"]).site_logo
    assert bytes(avatar.data) == png(rgb=(0x24, 0x29, 0x2F))  # followed the avatar's redirect
    assert fresh(linked["github-2"]).site_logo_id == avatar.pk
    assert avatar.origin.endswith("/avatar-image/istio.png")
    for name in ("html", "big", "bigstream", "missing", "slow", "svg"):
        assert fresh(linked[name]).site_logo_id is None, name
    assert site.hits["/bigstream bytes"] < 64 * 65536  # the fetcher hung up long before the end
    assert Logo.objects.count() == 3
    assert {ua.split(" ")[0] for ua in site.user_agents if ua} == {"meshportal-logos/1.0"}
    assert "Logos: 9 sources, 9 fetched." in out
    assert "errors: not_image 2, too_large 2, http_404 1, timeout 1" in out
    assert "5 entries changed; 5 published entries have a site logo." in out


def test_one_host_gets_one_request_at_a_time_when_so_configured(make, site, settings):
    settings.LINK_CHECK_PER_HOST = 1
    section = make.section()
    for owner in ("istio", "envoyproxy", "kiali", "jaegertracing"):
        make.entry(url=f"https://github.com/{owner}/{owner}", section=section)
    fetch()
    assert LogoSource.objects.filter(error="").count() == 4
    assert site.most_in_flight == 1


def test_a_run_again_fetches_only_what_is_due_and_a_failure_keeps_the_logo(linked, site, settings):
    fetch()
    before = sum(site.host_hits.values())
    out = fetch()
    assert sum(site.host_hits.values()) == before  # nothing due within 30 days
    assert "Logos: 9 sources, 0 fetched." in out
    logo = fresh(linked["good"]).site_logo_id
    settings.LOGO_MAX_BYTES = 10  # the same icon is now "too large": the one stored stays
    fetch("--stale-days", "0")
    assert site.host_hits[("good.test", "/favicon.ico")] == 2
    assert LogoSource.objects.get(key=f"host:good.test:{site.port}").error == "too_large"
    assert fresh(linked["good"]).site_logo_id == logo


def test_a_curators_logo_is_never_overwritten_by_the_job(linked, site, client):
    mine = logo_store(data=png(rgb=(1, 2, 3)), origin="uploaded by curator")
    entry = linked["good"]
    Entry.objects.filter(pk=entry.pk).update(logo=mine)
    fetch()
    fetch("--stale-days", "0")
    entry = fresh(entry)
    assert entry.logo_id == mine.pk
    assert entry.site_logo_id not in (None, mine.pk)  # the job wrote its own field only
    page = client.get("/topics/istio/").content.decode()
    row = re.search(rf'<li class="entry" id="entry-{entry.pk}">.*?</li>', page, re.S).group(0)
    assert f'<img class="logo" src="{logo_path(mine.pk)}" width="16" height="16" alt=""' in row
    assert logo_path(entry.site_logo_id) not in row


def test_invalid_options_change_nothing(linked):
    for args, message in [(("--stale-days", "-1"), "--stale-days"), (("--limit", "0"), "--limit")]:
        with pytest.raises(CommandError, match=message):
            fetch(*args)
    assert not LogoSource.objects.exists()


def test_a_logo_is_served_from_our_url_with_long_caching(db, client):
    logo = logo_store(data=png(), origin="test")
    assert reverse("logo", args=[logo.pk]) == logo_path(logo.pk) == logo.get_absolute_url()
    response = client.get(logo_path(logo.pk))
    assert response.status_code == 200
    assert response.content == png()
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    again = client.get(logo_path(logo.pk), headers={"if-none-match": response["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(logo_path(logo.pk + 1)).status_code == 404
    assert logo_store(data=png(), origin="again").pk == logo.pk  # same bytes, same row, same URL


@pytest.mark.parametrize("view", ["compact", "cards", "table"])
def test_lists_show_the_logo_small_and_decorative(make, client, view, django_assert_max_num_queries):
    section = make.section(topic=make.topic(slug="istio"))
    logo = logo_store(data=png(), origin="test")
    with_logo = make.entry(url="https://istio.io/", title="Istio", section=section)
    without = make.entry(url="https://example.org/", title="Plain", section=section)
    Entry.objects.filter(pk=with_logo.pk).update(site_logo=logo)
    url = "/browse/" if view == "compact" else f"/browse/?view={view}"  # compact is the default
    client.get(url)  # warm the facet index
    with django_assert_max_num_queries(8):
        page = client.get(url).content.decode()
    img = f'<img class="logo" src="{logo_path(logo.pk)}" width="16" height="16" alt="" loading="lazy"'
    assert page.count(img) == 1
    title_link = re.search(r'<a class="entry__title" href="https://istio.io/"[^>]*>(.*?)</a>', page).group(1)
    assert title_link.startswith(img) and title_link.endswith("Istio")
    plain = re.search(r'<a class="entry__title" href="https://example.org/"[^>]*>(.*?)</a>', page).group(1)
    assert plain == "Plain" and without.pk


def test_a_topic_header_shows_its_logo(make, client):
    topic = make.topic(slug="istio")
    make.entry(section=make.section(topic=topic))
    logo = logo_store(data=png(), origin="test")
    topic.logo = logo
    topic.save()
    page = client.get(topic.get_absolute_url()).content.decode()
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert h1 == f'<img class="logo logo--title" src="{logo_path(logo.pk)}" width="20" height="20" alt="">{topic.title}'


def test_a_curator_uploads_a_logo_and_a_bad_file_changes_nothing(make, client):
    client.force_login(make.staff("curator"))
    bad = SimpleUploadedFile("icon.png", b"<html><body>hi</body></html>", content_type="image/png")
    response = client.post(reverse("admin:catalog_logo_add"), {"upload": bad, "origin": ""})
    assert response.status_code == 200
    assert "Not a PNG, GIF, JPEG, WebP or ICO image." in response.content.decode()
    assert not Logo.objects.exists()
    big = SimpleUploadedFile("big.png", BIG, content_type="image/png")
    response = client.post(reverse("admin:catalog_logo_add"), {"upload": big, "origin": ""})
    assert "a logo may have at most 65,536" in response.content.decode()
    assert not Logo.objects.exists()
    good = SimpleUploadedFile("icon.png", png(), content_type="image/png")
    response = client.post(reverse("admin:catalog_logo_add"), {"upload": good, "origin": ""})
    assert response.status_code == 302
    logo = Logo.objects.get()
    assert bytes(logo.data) == png() and logo.origin.startswith("uploaded by ")


def test_choosing_an_entrys_logo_is_recorded_in_its_history(make, client):
    entry = make.entry(url="https://istio.io/", title="Istio")
    logo = logo_store(data=png(), origin="test")
    client.force_login(make.staff("curator"))
    form = client.get(reverse("admin:catalog_entry_change", args=[entry.pk])).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update({"logo": logo.pk, "placements-TOTAL_FORMS": 0, "placements-INITIAL_FORMS": 0})
    response = client.post(reverse("admin:catalog_entry_change", args=[entry.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert fresh(entry).logo_id == logo.pk
    assert Change.objects.get(entry=entry).values == {"logo_id": [None, logo.pk]}


def test_the_admin_action_fetches_the_selected_entries_logos(linked, site, client, make):
    client.force_login(make.staff("curator"))
    chosen = [linked["good"].pk, linked["missing"].pk]
    response = client.post(
        reverse("admin:catalog_entry_changelist"),
        {"action": "fetch_logos", "_selected_action": chosen},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Fetched 2 logos for 2 entries: 2 entries changed; failures: http_404 1." in text
    assert fresh(linked["good"]).site_logo_id is not None
    assert fresh(linked["good-2"]).site_logo_id is not None  # same source as a chosen entry
    assert fresh(linked["other"]).site_logo_id is None  # not chosen
