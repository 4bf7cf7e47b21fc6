"""/submit/: the form, what happens after sending, and every abuse rule."""

import re
import time

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from catalog.forms import issue_started, seconds_since_started
from catalog.models import Entry, Label, Section, Submission, Topic

from .submission_support import form_data, post_form

REDIS_URL = "redis://127.0.0.1:6379/5"


@pytest.fixture
def istio(little_catalog):
    return little_catalog.topic


def send(client, remote_addr="203.0.113.7", forwarded_for=None, **overrides):
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return post_form(client, form_data(**overrides), **meta)


def error_codes(response):
    form = response.context["form"]
    return {field: [e.code for e in errors.as_data()] for field, errors in form.errors.items()}


def assert_refused(response, field, code, status=422):
    assert response.status_code == status, response.content.decode()[:500]
    assert code in error_codes(response).get(field, []), error_codes(response)
    assert Submission.objects.count() == 0


# The page.


def test_the_form_has_every_field_and_an_accessible_layout(client, istio, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = client.get("/submit/")
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("url", "title", "target", "description", "reason", "submitter_name", "submitter_email"):
        assert f'name="{name}"' in html and f'for="id_{name}"' in html, name
    assert 'aria-describedby="id_url_helptext"' in html and 'id="id_url_helptext"' in html
    assert html.count('name="labels"') == Label.objects.count()
    assert html.index("<legend>Maturity tier</legend>") < html.index("<legend>Content kind</legend>")
    # The honeypot is hidden from people, and the form carries its signed start time.
    assert re.search(r'<div class="hp" aria-hidden="true">\s*<label for="id_website">', html)
    started = re.search(r'name="started" value="([^"]+)"', html).group(1)
    assert 0 <= seconds_since_started(started) < 5
    assert "What happens next" in html


def test_a_topic_page_links_to_the_form_with_its_topic_chosen(client, seed):
    for topic in Topic.objects.all():
        html = client.get(topic.get_absolute_url()).content.decode()
        assert f'href="/submit/?topic={topic.pk}"' in html, topic


def test_the_topic_is_preselected_and_its_sections_offered(client, istio, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        html = client.get(f"/submit/?topic={istio.pk}").content.decode()
    assert f'<option value="t{istio.pk}" selected>' in html
    sections = Section.objects.filter(topic=istio)
    assert all(f'value="s{s.pk}"' in html for s in sections)
    other = Section.objects.exclude(topic=istio).first()
    if other:
        assert f'value="s{other.pk}"' not in html
    section = sections.filter(parent__isnull=False).first()
    html = client.get(f"/submit/?section={section.pk}").content.decode()
    assert f'<option value="s{section.pk}" selected>' in html


@pytest.mark.parametrize("query", ["?topic=abc", "?topic=0", "?section=-1", "?topic=99999999", "?topic=1%00"])
def test_a_bad_preselection_is_ignored(client, istio, query):
    response = client.get(f"/submit/{query}")
    assert response.status_code == 200
    select = response.content.decode().split('name="target"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)" selected>', select) in ([""], [])
    assert "anywhere on the page" not in select  # no topic's sections offered


# Sending.


def test_a_suggestion_is_stored_and_the_reader_sees_what_happens_next(
    client, istio, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.MODERATORS_EMAILS = ["mods@example.org"]
    section = Section.objects.filter(topic=istio).last()
    labels = list(Label.objects.filter(name__in=["GUIDE", "EMERGING"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            client,
            url="https://Linkerd.io/2.15/features/automatic-mtls/?utm_source=newsletter#how",
            target=f"s{section.pk}",
            labels=[label.pk for label in labels],
            submitter_name="Ada",
            submitter_email="ada@example.org",
        )
    assert response.status_code == 303
    submission = Submission.objects.get()
    assert response["Location"] == f"/submit/status/{submission.token}/"
    assert submission.url == "https://Linkerd.io/2.15/features/automatic-mtls/#how"  # tracking dropped
    assert submission.url_key == "linkerd.io/2.15/features/automatic-mtls"
    assert (submission.topic, submission.section, submission.status) == (istio, section, "pending")
    assert set(submission.labels.all()) == set(labels)
    assert (submission.submitter_name, submission.submitter_email) == ("Ada", "ada@example.org")
    assert len(submission.token) >= 40
    # Moderators hear of it (after the commit); the submitter hears only of the decision.
    assert [m.to for m in mailoutbox] == [["mods@example.org"]]
    assert "Linkerd automatic mTLS" in mailoutbox[0].subject
    assert f"/admin/catalog/submission/{submission.pk}/change/" in mailoutbox[0].body

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Thank you: your suggestion was received." in html
    assert "Pending review" in html and "What happens next" in html
    assert "We will write to the address you gave" in html
    assert "ada@example.org" not in html  # a shared status link does not reveal the address


def test_the_status_page_is_private_and_cheap(client, istio, make, django_assert_max_num_queries):
    submission = make.submission(section=istio.sections.first(), labels=[Label.objects.first()])
    with django_assert_max_num_queries(3):
        response = client.get(submission.get_absolute_url())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow" and response["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
    assert "no-store" in client.get("/submit/")["Cache-Control"]


def test_a_link_without_a_scheme_gets_https(client, istio):
    assert send(client, url="linkerd.io/docs").status_code == 303
    assert Submission.objects.get().url == "https://linkerd.io/docs"


@pytest.mark.parametrize(
    "url", ["https://bücher.example/über-uns", "https://xn--bcher-kva.example/", "http://例え.テスト/パス"]
)
def test_internationalised_domain_names_are_accepted(client, istio, url):
    assert send(client, url=url).status_code == 303
    assert Submission.objects.get().url == url


def test_text_is_stored_as_typed_and_always_escaped(client, istio):
    evil = '<script>alert("x")</script> <b>bold</b> & co'
    response = send(client, title=f"Title {evil}", description=f"Line one\r\n{evil}", reason=evil)
    submission = Submission.objects.get()
    assert submission.description == f"Line one\n{evil}"
    assert submission.title == f"Title {evil}"
    html = client.get(response["Location"]).content.decode()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; &amp; co" in html


# Abuse rules: each refused with a clear message, nothing stored.


def test_csrf_is_required(istio):
    client = Client(enforce_csrf_checks=True)
    response = post_form(client, form_data())
    assert response.status_code == 403
    assert "The form could not be sent" in response.content.decode()
    assert Submission.objects.count() == 0
    # With the token from the page, the same post goes through.
    page = client.get("/submit/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert post_form(client, form_data(csrfmiddlewaretoken=token)).status_code == 303


def test_the_honeypot_refuses(client, istio):
    response = send(client, website="https://spam.example")
    assert_refused(response, "__all__", "honeypot")
    assert "Leave this field empty" in response.content.decode()


def test_a_form_sent_too_quickly_is_refused(client, istio, settings):
    settings.SUBMISSION_MIN_FILL_SECONDS = 3
    response = send(client, started=issue_started(at=time.time() - 1))
    assert_refused(response, "__all__", "too_fast")
    assert "quicker than a person" in response.content.decode()
    assert send(client, started=issue_started(at=time.time() - 4)).status_code == 303


@pytest.mark.parametrize(
    "started",
    [None, "", "garbage", "1700000000.0", issue_started()[:-2] + "xx"],
    ids=["missing", "empty", "garbage", "unsigned", "forged"],
)
def test_a_missing_or_forged_start_time_is_refused(client, istio, started):
    assert_refused(send(client, started=started), "__all__", "form_tampered")


def test_a_form_open_too_long_is_refused_and_given_a_fresh_clock(client, istio, settings):
    settings.SUBMISSION_FORM_MAX_AGE = 3600
    response = send(client, started=issue_started(at=time.time() - 7200))
    assert_refused(response, "__all__", "form_expired")
    fresh = re.search(r'name="started" value="([^"]+)"', response.content.decode()).group(1)
    assert 0 <= seconds_since_started(fresh) < 5


def test_the_rate_limit_counts_each_client_address(client, istio, settings):
    settings.SUBMISSION_RATE_LIMIT = 3
    for i in range(3):
        assert send(client, url=f"https://example.com/a{i}").status_code == 303
    response = send(client, url="https://example.com/a3")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "You have sent 3 suggestions in a short time" in html
    assert "https://example.com/a3" in html  # the reader's text is kept
    assert Submission.objects.count() == 3
    # Another address has its own allowance.
    assert send(client, remote_addr="198.51.100.2", url="https://example.com/b").status_code == 303


def test_a_persons_mistakes_do_not_count_but_bots_do(client, istio, settings):
    settings.SUBMISSION_RATE_LIMIT = 2
    for _ in range(4):
        assert send(client, title="").status_code == 422  # a mistake: refunded
    assert send(client, url="https://example.com/1").status_code == 303
    assert send(client, website="filled").status_code == 422  # a bot: counted
    assert send(client, url="https://example.com/2").status_code == 429


def test_ipv6_clients_are_counted_by_their_slash_64(client, istio, settings):
    settings.SUBMISSION_RATE_LIMIT = 1
    assert send(client, remote_addr="2001:db8:1:2::1", url="https://example.com/1").status_code == 303
    assert send(client, remote_addr="2001:db8:1:2::beef", url="https://example.com/2").status_code == 429
    assert send(client, remote_addr="2001:db8:1:3::1", url="https://example.com/3").status_code == 303


def test_x_forwarded_for_counts_only_behind_a_proxy(client, istio, settings):
    settings.SUBMISSION_RATE_LIMIT = 1
    assert send(client, url="https://example.com/1", forwarded_for="192.0.2.9").status_code == 303
    # Without a proxy the header is only the client's say: the address is still REMOTE_ADDR.
    assert send(client, url="https://example.com/2", forwarded_for="192.0.2.1").status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1
    # Behind one, the address the proxy appended (the last) counts, not what the client wrote before it.
    assert send(client, url="https://example.com/3", forwarded_for="192.0.2.1, 198.51.100.77").status_code == 303
    assert send(client, url="https://example.com/4", forwarded_for="192.0.2.2, 198.51.100.77").status_code == 429
    assert send(client, url="https://example.com/5", forwarded_for="192.0.2.2, 198.51.100.78").status_code == 303


@pytest.fixture
def redis_cache(settings):
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis does not answer at 127.0.0.1:6379: the Redis rate-limit test needs it")
    prefix = f"meshportal-test-{time.time_ns()}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield connection
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


def test_the_rate_limit_works_through_redis(client, istio, settings, redis_cache):
    settings.SUBMISSION_RATE_LIMIT = 2
    for i in range(2):
        assert send(client, url=f"https://example.com/r{i}").status_code == 303
    assert send(client, url="https://example.com/r2").status_code == 429
    keys = [k.decode() for k in redis_cache.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*")]
    limit_keys = [k for k in keys if ":ratelimit:" in k]
    assert len(limit_keys) == 1 and ":ratelimit:submit:203.0.113.7:" in limit_keys[0]
    assert cache.get(limit_keys[0].split(":", 2)[2]) == 3
    # The two forms sent are marked used where every worker sees it.
    assert len([k for k in keys if ":submit-form-used:" in k]) == 2


def test_a_failing_cache_lets_people_through(client, istio, settings, caplog):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/5"}
    }
    assert send(client).status_code == 303
    assert "the cache failed; letting the request through" in caplog.text


@pytest.mark.parametrize(
    "field, limit",
    [
        ("url", 2000),
        ("title", Submission.TITLE_MAX),
        ("description", Submission.DESCRIPTION_MAX),
        ("reason", Submission.REASON_MAX),
        ("submitter_name", Submission.NAME_MAX),
        ("submitter_email", 254),
    ],
)
def test_every_field_has_a_length_cap(client, istio, field, limit):
    def value(length):
        if field == "url":
            return "https://example.org/" + "a" * (length - len("https://example.org/"))
        if field == "submitter_email":
            return "a" * (length - len("@example.org")) + "@example.org"
        return "x" * length

    html = client.get("/submit/").content.decode()
    assert re.search(rf'name="{field}"[^>]*maxlength="{limit}"', html), field
    response = send(client, **{field: value(limit + 1)})
    assert response.status_code == 422
    assert {"max_length", "invalid"} & set(error_codes(response)[field])
    assert Submission.objects.count() == 0
    if field != "submitter_email":  # an address of 254 characters has a local part over 64
        assert send(client, **{field: value(limit)}).status_code == 303


@pytest.mark.parametrize(
    "url, code",
    [
        ("javascript:alert(1)", "unsafe_url"),
        ("JavaScript:alert(1)", "unsafe_url"),
        ("data:text/html,<b>x</b>", "unsafe_url"),
        ("ftp://example.org/file", "unsafe_url"),
        ("mailto:ada@example.org", "unsafe_url"),
        ("file:///etc/passwd", "unsafe_url"),
        ("https://ada:secret@example.org/", "credentials"),
        ("https://exa mple.org/", "invalid_url"),
        ("https://example.org/a\tb", "invalid_url"),
        ("https://", "invalid_url"),
        ("https://example.org:99999/", "invalid_url"),
        ("https://-bad-.example/", "invalid_url"),
        ("https://a..b.org/", "invalid_url"),
        ("https://[", "invalid_url"),  # found by the fuzz test: urlsplit raised
        ("http://[::1", "invalid_url"),
        ("", "required"),
    ],
)
def test_only_web_links_are_accepted(client, istio, url, code):
    assert_refused(send(client, url=url), "url", code)


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("title", "", "required"),
        ("title", "   ", "required"),
        ("title", "two\nlines", "control_characters"),
        ("title", "bell\x07", "control_characters"),
        ("title", "nul\x00", "control_characters"),
        ("reason", "nul\x00 in a long text", "control_characters"),
        ("submitter_name", "esc\x1b[31m", "control_characters"),
        ("description", "vertical\x0btab", "control_characters"),
        ("reason", "", "required"),
        ("submitter_email", "not-an-address", "invalid"),
        ("target", "t99999999", "invalid_choice"),
        ("target", "s99999999", "invalid_choice"),
        ("target", "x1", "invalid_choice"),
        ("target", "t1 OR 1=1", "invalid_choice"),
        ("labels", ["99999999"], "invalid_choice"),
        ("labels", ["abc"], "invalid_pk_value"),
        ("labels", ["99999999999999999999"], "invalid_pk_value"),  # found by the fuzz test: too big for SQLite
        ("target", "t99999999999999999999", "invalid_choice"),
    ],
)
def test_each_field_is_validated(client, istio, field, value, code):
    assert_refused(send(client, **{field: value}), field, code)


def test_at_most_eight_labels(client, istio, make):
    labels = [*Label.objects.all()]
    labels += [make.label() for _ in range(9 - len(labels))]
    assert_refused(send(client, labels=[label.pk for label in labels]), "labels", "too_many_labels")
    assert send(client, labels=[label.pk for label in labels[:8]]).status_code == 303


def test_an_invalid_form_shows_a_summary_tied_to_its_fields(client, istio):
    html = send(client, url="ftp://x.org", title="").content.decode()
    assert '<div class="error-summary" id="error-summary" role="alert"' in html
    assert '<a href="#id_url">Link: Only http:// and https:// links can be suggested.</a>' in html
    assert '<a href="#id_title">Title: This field is required.</a>' in html
    assert re.search(r'<input[^>]*aria-describedby="id_url_helptext id_url_error"[^>]*aria-invalid="true"', html) or (
        re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="id_url_helptext id_url_error"', html)
    )
    assert 'id="id_url_error"' in html
    assert "<title>Error: Suggest a link · meshportal</title>" in html


# Duplicates: a link already in the catalog or in the queue is refused, and says where.

GATEWAY = "https://github.com/envoyproxy/gateway"


@pytest.mark.parametrize(
    "spelling",
    [
        GATEWAY,
        "HTTPS://GitHub.com/envoyproxy/gateway",
        "http://github.com/envoyproxy/gateway",
        "https://www.github.com/envoyproxy/gateway",
        "https://github.com:443/envoyproxy/gateway",
        "https://github.com/envoyproxy/gateway/",
        "https://github.com/envoyproxy/gateway#readme",
        "https://github.com/envoyproxy/gateway?utm_source=x&utm_medium=y&fbclid=z",
        "github.com/envoyproxy/gateway",
    ],
)
def test_a_link_already_in_the_catalog_says_where_it_is(client, istio, spelling):
    entry = Entry.objects.get(url=GATEWAY)
    response = send(client, url=spelling)
    assert_refused(response, "url", "in_catalog")
    html = response.content.decode()
    assert "This link is already in the catalog." in html
    assert f'It is listed as <a href="/entries/{entry.pk}/">Envoy Gateway</a>.' in html


def test_a_catalog_entry_spelled_oddly_is_still_found(client, istio, make):
    entry = make.entry(url="HTTP://WWW.Example.org:80/Docs/?utm_source=feed#intro", title="Odd")
    response = send(client, url="https://example.org/Docs")
    assert_refused(response, "url", "in_catalog")
    assert f'href="/entries/{entry.pk}/"' in response.content.decode()
    assert send(client, url="https://example.org/docs").status_code == 303  # the path's case matters


def test_a_link_already_pending_is_refused_without_a_second_record(client, istio, make):
    make.submission(url="https://linkerd.io/2.15/features/automatic-mtls/")
    response = send(client, url="http://www.linkerd.io/2.15/features/automatic-mtls?utm_campaign=x")
    assert response.status_code == 422
    assert "already_pending" in error_codes(response)["url"]
    assert "already been suggested and is waiting for review" in response.content.decode()
    assert Submission.objects.count() == 1


def test_a_link_rejected_before_may_be_suggested_again(client, istio, make):
    make.submission(url="https://linkerd.io/2.15/features/automatic-mtls/", status="rejected", rejection_reason="spam")
    assert send(client).status_code == 303
    assert Submission.objects.filter(status="pending").count() == 1
