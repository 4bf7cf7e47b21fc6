"""Edge and abuse: CSP, admin sign-in throttling, the client address, the
public form's body limits, one-time forms, spoofed text and hosts, Atom as text."""

import io
import re
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from catalog.forms import issue_started
from catalog.models import Submission
from catalog.ratelimit import client_address

from .submission_support import form_data, post_form

PASSWORD = "a-fine-long-password-42"


@pytest.fixture
def istio(little_catalog):
    return little_catalog.topic


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)


# Content-Security-Policy: strict, on every page, the admin included.

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style[\s>]|\sstyle=", re.I)
JS_HANDLER = re.compile(r"\son[a-z]+=", re.I)


def assert_strict_csp(response):
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe" not in policy
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html).group(0)
    assert not JS_HANDLER.search(html), JS_HANDLER.search(html).group(0)


def test_every_reader_page_has_a_strict_policy_and_no_inline_code(client, seed):
    from catalog.models import Entry, Label

    entry, label = Entry.objects.first(), Label.objects.first()
    for url in [
        "/",
        "/browse/",
        "/browse/?q=istio",
        "/topics/istio/",
        f"/entries/{entry.pk}/",
        "/labels/",
        f"/labels/{label.slug}/",
        "/submit/",
        "/new/",
        "/no-such-page/",
    ]:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_strict_csp(response)


def test_the_admin_has_the_same_policy_and_no_inline_code(client, seed, admin_user, make):
    from catalog.models import Entry

    assert_strict_csp(client.get("/admin/login/"))
    client.force_login(admin_user)
    entry, submission = Entry.objects.first(), make.submission()
    for url in [
        "/admin/",
        "/admin/dashboard/",
        "/admin/catalog/entry/",
        "/admin/catalog/entry/add/",
        f"/admin/catalog/entry/{entry.pk}/change/",
        f"/admin/catalog/entry/{entry.pk}/history/",
        "/admin/catalog/topic/",
        "/admin/catalog/submission/",
        f"/admin/catalog/submission/{submission.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)


def test_no_template_holds_inline_script_style_or_handlers():
    from pathlib import Path

    from django.conf import settings

    for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        html = template.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, JS_HANDLER):
            assert not pattern.search(html), f"{template}: {pattern.search(html).group(0)}"


# Admin sign-in throttling.


def sign_in(client, password, addr="198.51.100.4", **meta):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": password},
        REMOTE_ADDR=addr,
        **meta,
    )


def test_failed_admin_sign_ins_lock_the_address_out(client, admin_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    locked = sign_in(client, "wrong")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    assert "paused for 15 minutes" in locked.content.decode()
    # Locked out: even the right password is refused, and nothing is signed in.
    right = sign_in(client, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # The count lives in the database, where every worker and process sees it.
    assert AccessAttempt.objects.get(ip_address="198.51.100.4").failures_since_start == 6
    # Another address is not locked.
    assert sign_in(Client(), PASSWORD, addr="198.51.100.5").status_code == 302


def test_rotating_x_forwarded_for_does_not_dodge_the_lockout(client, admin_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        # The client writes what it likes first; the proxy appends what it saw.
        sign_in(client, "wrong", addr="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.50")
    assert sign_in(client, PASSWORD, addr="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.50").status_code == 429


def test_a_successful_sign_in_resets_the_count(client, admin_user):
    for _ in range(3):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(ip_address="198.51.100.4").exists()


# The client address behind exactly N proxies.


def request_from(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "127.0.0.1"),  # no proxy: the header is the client's say
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),  # what the client wrote first is ignored
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.2", "192.0.2.1"),  # CDN, then our nginx
        (2, "192.0.2.1", "127.0.0.1"),  # shorter than our proxy chain: not from it
        (1, "", "127.0.0.1"),
        (1, "::ffff:192.0.2.7", "192.0.2.7"),
        (1, "2001:db8:1:2::99", "2001:db8:1:2::/64"),
    ],
)
def test_the_client_address_trusts_exactly_n_proxies(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_address(request_from("127.0.0.1", forwarded)) == expected


def test_the_lockout_counts_an_ipv6_client_by_its_slash_64(client, admin_user, settings):
    for n in range(5):
        sign_in(client, "wrong", addr=f"2001:db8:1:2::{n + 1}")
    assert sign_in(client, PASSWORD, addr="2001:db8:1:2::beef").status_code == 429
    assert AccessAttempt.objects.get().ip_address == "2001:db8:1:2::"
    assert sign_in(client, PASSWORD, addr="2001:db8:1:3::1").status_code == 302


# /submit/: bodies refused before they are read.


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_multipart_bodies_are_refused_unread(istio):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(
        "POST",
        "/submit/",
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH="104857600",
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 415
    assert "plain text only" in response.content.decode()
    assert Submission.objects.count() == 0


def test_large_bodies_are_refused_unread(istio, settings):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(
        "POST",
        "/submit/",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(settings.SUBMISSION_MAX_BODY_BYTES + 1),
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    assert "more text than the form accepts" in response.content.decode()
    assert Submission.objects.count() == 0


def test_the_largest_valid_form_fits_the_body_limit(client, istio, settings):
    long = form_data(
        url="https://example.com/" + "a" * 1900,
        title="t" * Submission.TITLE_MAX,
        description="d" * Submission.DESCRIPTION_MAX,
        reason="r" * Submission.REASON_MAX,
        submitter_name="n" * Submission.NAME_MAX,
    )
    assert len(urlencode(long)) < settings.SUBMISSION_MAX_BODY_BYTES
    assert post_form(client, long).status_code == 303


# One form, one suggestion.


def test_a_form_is_good_for_one_suggestion(client, istio):
    started = issue_started(at=time.time() - 60)
    assert post_form(client, form_data(url="https://example.com/one", started=started)).status_code == 303
    again = post_form(client, form_data(url="https://example.com/two", started=started))
    assert again.status_code == 422
    assert "This form was already sent" in again.content.decode()
    assert list(Submission.objects.values_list("url", flat=True)) == ["https://example.com/one"]


def test_a_refused_form_can_be_corrected_and_sent(client, istio):
    started = issue_started(at=time.time() - 60)
    assert post_form(client, form_data(title="", started=started)).status_code == 422
    assert post_form(client, form_data(started=started)).status_code == 303


# Text that shows one thing and means another.


@pytest.mark.parametrize("field", ["title", "description", "reason", "submitter_name"])
def test_bidirectional_controls_are_refused_in_text(client, istio, field):
    response = post_form(client, form_data(**{field: "Invoice \u202egpj.exe"}))
    assert response.status_code == 422
    assert "bidi_controls" in [e.code for e in response.context["form"].errors.as_data()[field]]
    assert "text-direction control characters" in response.content.decode()
    assert Submission.objects.count() == 0


def test_bidirectional_controls_are_refused_in_links(client, istio):
    response = post_form(client, form_data(url="https://example.com/\u2066x"))
    assert response.status_code == 422
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://\u0430pple.com/",  # a Cyrillic "а" in a Latin name
        "https://xn--pple-43d.com/",  # the same, as punycode
        "https://\u0430\u0440\u0440\u04cf\u0435.com/",  # every letter Cyrillic, passing for "apple"
        "https://g\u03bfogle.com/",  # a Greek omicron
    ],
)
def test_look_alike_hosts_are_refused_with_a_clear_message(client, istio, url):
    response = post_form(client, form_data(url=url))
    assert response.status_code == 422
    assert [e.code for e in response.context["form"].errors.as_data()["url"]] == ["confusable_host"]
    assert "look like Latin" in response.content.decode()
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    "url", ["https://münchen.de/", "https://яндекс.рф/", "https://例え.テスト/", "https://bücher-straße.de/x"]
)
def test_genuine_international_hosts_are_accepted(client, istio, url):
    assert post_form(client, form_data(url=url)).status_code == 303


# Feeds.


def test_atom_summaries_are_plain_text(client, make):
    make.entry(title="Mesh <b>bold</b>", description="Uses <script>x()</script> & more")
    atom = client.get("/browse/?format=atom").content.decode()
    assert '<summary type="text">Uses &lt;script&gt;x()&lt;/script&gt; &amp; more</summary>' in atom
    assert 'type="html"' not in atom
