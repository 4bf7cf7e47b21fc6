"""The link checker against a loopback fake site: answers, redirects, limits,
heuristics. Names resolve through a stub to 127.0.0.1 (allowed for tests)."""

import asyncio
import shutil
import ssl
import subprocess
import time

import pytest

from catalog.linkhealth.checker import CheckLimits, LinkChecker, interleave_by_host, page_title
from catalog.linkhealth.guard import GuardedResolver

from .fakeweb import FakeSite, stub_lookup
from .linkcheck_support import FAST, LOOPBACK, check, connections  # noqa: F401 - fixture

SITE = {"site.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}


@pytest.fixture(scope="module")
def site():
    with FakeSite() as fake:
        yield fake


def result_of(site, path, **kw):
    return check(site.url(path), SITE, **kw)


@pytest.mark.parametrize(
    ("path", "result", "status"),
    [
        ("/ok", "ok", 200),
        ("/file.pdf", "ok", 200),
        ("/temporary", "ok", 200),
        ("/gone", "failed", 410),
        ("/missing", "failed", 404),
        ("/error", "failed", 500),
        ("/head-refused", "ok", 200),
    ],
)
def test_plain_answers(site, path, result, status):
    outcome = result_of(site, path)
    assert (outcome.result, outcome.status_code) == (result, status)


def test_a_page_is_read_with_get_after_head_and_a_file_with_head_only(site):
    site.methods.clear()
    result_of(site, "/ok")
    result_of(site, "/file.pdf")
    assert site.methods == [("HEAD", "/ok"), ("GET", "/ok"), ("HEAD", "/file.pdf")]


def test_head_refused_falls_back_to_get(site):
    site.methods.clear()
    outcome = result_of(site, "/head-refused")
    assert outcome.title == "Works with GET"
    assert site.methods == [("HEAD", "/head-refused"), ("GET", "/head-refused")]


@pytest.mark.parametrize("path", ["/moved", "/moved-308"])
def test_a_permanent_redirect_names_its_target(site, path):
    outcome = result_of(site, path)
    assert outcome.result == "redirected"
    assert outcome.redirect_target == site.url("/ok")
    assert outcome.redirects == 1


def test_five_redirects_are_followed_and_six_are_too_many(site):
    five = result_of(site, "/chain/5")
    assert (five.result, five.redirects, five.final_url) == ("redirected", 5, site.url("/ok"))
    six = result_of(site, "/chain/6")
    assert (six.result, six.error) == ("failed", "too_many_redirects")


def test_a_redirect_loop_fails(site):
    outcome = result_of(site, "/loop-a")
    assert (outcome.result, outcome.error) == ("failed", "redirect_loop")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/parked", "parked domain"),
        ("/soft-404", "page says not found"),
        ("/docs/deep/page", "deep link redirected to the home page"),
    ],
)
def test_suspect_pages(site, path, reason):
    outcome = result_of(site, path)
    assert outcome.result == "suspect"
    assert outcome.detail.startswith(reason)


def test_titles_in_other_encodings_are_decoded_without_failing(site):
    assert result_of(site, "/latin1").title == "Café réseau"
    broken = result_of(site, "/bad-bytes")
    assert broken.result == "ok"
    assert broken.title.startswith("Broken")


def test_a_slow_answer_times_out(site):
    started = time.monotonic()
    outcome = result_of(site, "/slow?seconds=10")
    assert (outcome.result, outcome.error) == ("failed", "timeout")
    assert time.monotonic() - started < 6


def test_a_slowloris_body_times_out(site):
    started = time.monotonic()
    outcome = result_of(site, "/slowloris")
    assert (outcome.result, outcome.error) == ("failed", "timeout")
    assert time.monotonic() - started < 6


def test_a_10_mb_body_is_read_only_up_to_the_cap(site):
    site.hits["/huge bytes"] = 0
    outcome = result_of(site, "/huge")
    assert outcome.result == "ok"
    time.sleep(0.3)
    assert site.hits["/huge bytes"] < 10 * 2**20  # the checker hung up long before the end


def test_retry_after_is_waited_for_then_the_link_is_checked(site):
    started = time.monotonic()
    outcome = result_of(site, "/retry-after?wait=1&key=a")
    assert outcome.result == "ok"
    assert time.monotonic() - started >= 1


def test_a_long_retry_after_makes_the_check_inconclusive(site):
    outcome = result_of(site, "/always-429")
    assert (outcome.result, outcome.error) == ("inconclusive", "rate_limited")


def test_the_user_agent_names_the_site(site, settings):
    settings.SITE_URL = "https://meshportal.example"
    limits = CheckLimits.from_settings(host_delay=0, timeout=2)
    site.user_agents.clear()
    result_of(site, "/ok", limits=limits)
    assert site.user_agents == {"meshportal-linkcheck/1.0 (+https://meshportal.example)"}


def test_unknown_hosts_fail_as_dns(connections):  # noqa: F811
    outcome = check("http://nowhere.test/", SITE)
    assert (outcome.result, outcome.error, connections) == ("failed", "dns", [])


def test_nothing_listening_fails_as_connection():
    outcome = check("http://site.test:9/", SITE)
    assert (outcome.result, outcome.error) == ("failed", "connection")


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = [shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes"]
    command += ["-days", "2", "-subj", "/CN=site.test", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with FakeSite(ssl_context=context) as fake:
        yield fake


def test_an_invalid_certificate_fails_as_tls(tls_site):
    outcome = check(tls_site.url("/ok"), SITE)
    assert (outcome.result, outcome.error) == ("failed", "tls")


def test_per_host_limit_and_delay_pace_requests_to_one_host(site):
    limits = CheckLimits(concurrency=20, per_host=1, host_delay=0.2, timeout=2, connect_timeout=1)
    urls = [(i, site.url(f"/ok?n={i}")) for i in range(4)]
    outcomes = {}

    async def go():
        async with LinkChecker(limits, resolver=GuardedResolver(stub_lookup(SITE), allowed=LOOPBACK)) as checker:

            async def collect(key, outcome):
                outcomes[key] = outcome

            await checker.run(urls, collect)

    started = time.monotonic()
    asyncio.run(go())
    # 8 requests (HEAD and GET each) 0.2 s apart at least.
    assert time.monotonic() - started >= 7 * 0.2
    assert sorted(outcomes) == [0, 1, 2, 3]
    assert {o.result for o in outcomes.values()} == {"ok"}


def test_links_are_interleaved_by_host():
    items = [(1, "https://a.test/1"), (2, "https://a.test/2"), (3, "https://b.test/1"), (4, "https://www.a.test/3")]
    assert [key for key, _ in interleave_by_host(items)] == [1, 3, 2, 4]


def test_a_malformed_url_fails_its_own_check_only():
    assert [key for key, _ in interleave_by_host([(1, "http://a.test:port/"), (2, "https://b.test/")])] == [1, 2]
    outcome = check("http://a.test:port/", SITE)
    assert outcome.result == "failed"


def test_access_denied_is_inconclusive_never_a_failure(site):
    outcome = result_of(site, "/forbidden")
    assert (outcome.result, outcome.status_code, outcome.error) == ("inconclusive", 403, "access_denied")


def test_page_title_reads_the_meta_charset():
    body = '<meta charset="windows-1252"><title>Caf\xe9 &amp; more</title>'.encode("cp1252")
    assert page_title(body, "text/html") == "Café & more"
