"""Only http and https URLs are stored, and only they are ever rendered as links."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from catalog.models import Entry, is_safe_url

UNSAFE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "ftp://example.org/file",
    "file:///etc/passwd",
    "//example.org/protocol-relative",
    "http:example.org",
    "not a url",
]


@pytest.mark.parametrize("url", UNSAFE)
def test_model_validation_refuses_non_http_urls(db, url):
    entry = Entry(title="Bad", url=url)
    with pytest.raises(ValidationError) as info:
        entry.full_clean()
    assert "url" in info.value.error_dict
    assert not is_safe_url(url)


@pytest.mark.parametrize("url", ["https://istio.io", "http://example.org/a?b=1#c", "https://bücher.example/x"])
def test_http_and_https_urls_are_accepted(db, url):
    Entry(title="Good", url=url).full_clean()
    assert is_safe_url(url)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x"])
def test_database_refuses_non_http_urls_that_skip_validation(db, url):
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(title="Bad", url=url)
    assert Entry.objects.count() == 0


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_url_is_never_rendered_as_a_link(db, url):
    # An unsaved entry stands for a row that reached the database some other way.
    entry = Entry(pk=1, title="<b>Bad</b>", url=url, year=2020)
    html = render_to_string("catalog/_entry_card.html", {"entry": entry})
    assert 'href="' + url not in html
    assert url.split(":")[0] + ":" not in html.replace("/entries/1/", "")
    assert "&lt;b&gt;Bad&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "url,host",
    [
        ("https://WWW.Istio.io/docs", "istio.io"),
        ("http://user:pw@github.com:443/x", "github.com"),
        ("https://[::1]:8000/a", "::1"),
        ("https://bücher.example/x", "bücher.example"),
        ("https://istio.io?x=1", "istio.io"),
        ("javascript:alert(1)", ""),
    ],
)
def test_source_site_is_the_host_without_www(url, host):
    from catalog.models import url_host

    assert url_host(url) == host
