"""The page cache cannot be poisoned or exploded, never serves a signed-in
reader, survives a cache outage; pages go out compressed."""

import gzip
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client


@pytest.fixture
def cached(settings, seed):
    settings.BROWSE_CACHE_SECONDS = 600
    cache.clear()
    Client().get("/browse/")  # builds the facet index once for this data version
    yield
    cache.clear()


def is_hit(client, django_assert_max_num_queries, url, **extra):
    """A hit costs the data version query alone (and the session's, with a cookie)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries) <= 2, response


def page_keys():
    return {key for key in cache._cache if ":page:" in key}  # LocMemCache's own store


def test_the_key_holds_the_host_and_the_scheme(client, cached, django_assert_max_num_queries):
    assert not is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_HOST="localhost")[0]
    assert is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_HOST="localhost")[0]
    hit, other = is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_HOST="127.0.0.1")
    assert not hit
    assert '<link rel="canonical" href="http://127.0.0.1/topics/istio/' in other.content.decode()  # its own host
    assert not is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_HOST="localhost", secure=True)[0]


def test_parameter_order_makes_no_new_entry(client, cached, django_assert_max_num_queries):
    is_hit(client, django_assert_max_num_queries, "/browse/?q=mesh&featured=1")
    assert is_hit(client, django_assert_max_num_queries, "/browse/?featured=1&q=mesh")[0]


def test_unknown_parameters_are_served_uncached_and_stored_nowhere(client, cached, django_assert_max_num_queries):
    before = page_keys()
    for n in range(20):
        response = client.get(f"/topics/istio/?utm_source=x{n}")
        assert response.status_code == 200 and "Istio" in response.content.decode()
    assert page_keys() == before
    assert not is_hit(client, django_assert_max_num_queries, "/topics/istio/?utm_source=x1")[0]


def test_a_stale_session_cookie_still_gets_the_cache(client, cached, django_assert_max_num_queries):
    is_hit(client, django_assert_max_num_queries, "/topics/istio/")
    client.cookies["sessionid"] = "expired-or-made-up-session-key"
    assert is_hit(client, django_assert_max_num_queries, "/topics/istio/")[0]


def test_a_signed_in_reader_is_never_served_from_or_into_the_cache(client, cached, django_assert_max_num_queries):
    user = get_user_model().objects.create_user("curator", password="a-fine-long-password-42")
    client.force_login(user)
    before = page_keys()
    for _ in range(2):
        assert not is_hit(client, django_assert_max_num_queries, "/browse/?featured=1")[0]
    assert page_keys() == before


def test_a_cache_outage_serves_the_page_uncached(client, seed, settings, caplog):
    settings.BROWSE_CACHE_SECONDS = 600
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/12"}
    }
    with caplog.at_level(logging.WARNING, logger="catalog.middleware"):
        response = client.get("/topics/istio/")
    assert response.status_code == 200 and "Istio" in response.content.decode()
    assert "page cache: reading failed; serving /topics/istio/ uncached" in caplog.text


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/topics/istio/", "text/html"),
        ("/browse/?format=json", "application/json"),
        ("/browse/?format=csv", "text/csv"),
        ("/", "text/html"),
    ],
)
def test_pages_go_out_compressed_to_clients_that_accept_it(client, cached, url, kind):
    for _ in range(2):  # a miss, then (on cached pages) a hit stored compressed
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
        assert response.status_code == 200 and response["Content-Type"].startswith(kind)
        assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
        plain = gzip.decompress(response.content)
        assert len(response.content) * 2 < len(plain)
    assert "Content-Encoding" not in client.get(url).headers


def test_a_cached_page_is_stored_compressed_once(client, cached, django_assert_max_num_queries, monkeypatch):
    from django.middleware import gzip as django_gzip

    assert not is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_ACCEPT_ENCODING="gzip")[0]
    calls, original = [], django_gzip.compress_string
    monkeypatch.setattr(django_gzip, "compress_string", lambda *a, **k: calls.append(1) or original(*a, **k))
    hit, response = is_hit(client, django_assert_max_num_queries, "/topics/istio/", HTTP_ACCEPT_ENCODING="gzip")
    assert hit and calls == [] and response["Content-Encoding"] == "gzip"
    assert b"Istio - Service Mesh" in gzip.decompress(response.content)
    # A client that does not accept gzip gets its own plain entry.
    plain = client.get("/topics/istio/")
    assert "Content-Encoding" not in plain.headers and b"Istio - Service Mesh" in plain.content
