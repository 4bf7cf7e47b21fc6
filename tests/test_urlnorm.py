"""URL normalisation: every duplicate rule, what stays distinct, and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.urlnorm import InvalidURL, normalize_url, split_url, strip_tracking

BASE = "https://istio.io/latest/docs/setup"


@pytest.mark.parametrize(
    "rule, spelling",
    [
        ("scheme case", "HTTPS://istio.io/latest/docs/setup"),
        ("http and https", "http://istio.io/latest/docs/setup"),
        ("host case", "https://IsTiO.IO/latest/docs/setup"),
        ("www.", "https://www.istio.io/latest/docs/setup"),
        ("WWW. in capitals", "https://WWW.ISTIO.IO/latest/docs/setup"),
        ("default https port", "https://istio.io:443/latest/docs/setup"),
        ("default http port", "http://istio.io:80/latest/docs/setup"),
        ("trailing slash", "https://istio.io/latest/docs/setup/"),
        ("fragment", "https://istio.io/latest/docs/setup#install"),
        ("empty fragment", "https://istio.io/latest/docs/setup#"),
        ("utm parameters", "https://istio.io/latest/docs/setup?utm_source=twitter&utm_medium=social"),
        ("UTM in capitals", "https://istio.io/latest/docs/setup?UTM_Campaign=x"),
        ("fbclid", "https://istio.io/latest/docs/setup?fbclid=IwAR0abc"),
        ("gclid", "https://istio.io/latest/docs/setup?gclid=123"),
        ("mailchimp", "https://istio.io/latest/docs/setup?mc_cid=1&mc_eid=2"),
        ("matomo", "https://istio.io/latest/docs/setup?pk_campaign=x&mtm_source=y"),
        ("escaped unreserved", "https://istio.io/latest/%64ocs/setup"),
        ("dot segments", "https://istio.io/latest/./docs/tmp/../setup"),
        ("trailing dot on the host", "https://istio.io./latest/docs/setup"),
        ("user information", "https://someone@istio.io/latest/docs/setup"),
        ("all at once", "HTTP://WWW.Istio.io:80/latest/docs/./setup/?utm_source=x#top"),
        ("surrounding spaces", "  https://istio.io/latest/docs/setup \n"),
    ],
)
def test_spellings_of_one_link_share_a_key(rule, spelling):
    assert normalize_url(spelling) == normalize_url(BASE), rule


@pytest.mark.parametrize(
    "a, b",
    [
        ("https://istio.io/", "https://istio.io"),
        ("https://istio.io/?b=2&a=1", "https://istio.io?a=1&b=2"),
        ("https://x.org/a?q=hello%20world", "https://x.org/a?q=hello+world"),
        ("https://x.org/%7euser", "https://x.org/~user"),
        ("https://x.org/a%2fb", "https://x.org/a%2Fb"),
        ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("https://BÜCHER.de/", "https://www.bücher.de"),
        ("https://example.org/p?utm_source=a&id=5#x", "https://example.org/p?id=5"),
        ("https://[2001:db8::1]:443/x", "https://[2001:DB8::1]/x/"),
    ],
)
def test_equivalent_pairs(a, b):
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("https://istio.io/docs", "https://istio.io/Docs"),  # paths are case-sensitive
        ("https://istio.io/docs", "https://istio.io/docs/x"),
        ("https://istio.io/docs?page=1", "https://istio.io/docs?page=2"),
        ("https://istio.io/docs?ref=main", "https://istio.io/docs"),  # `ref` often selects content
        ("https://istio.io:8443/docs", "https://istio.io/docs"),
        ("http://istio.io:443/docs", "http://istio.io/docs"),  # 443 is not http's default
        ("https://blog.istio.io/docs", "https://istio.io/docs"),
        ("https://www.com/", "https://com/"),  # `www.` stays when nothing would be left
        ("https://x.org/a%2Fb", "https://x.org/a/b"),  # an escaped slash is not a slash
        ("https://x.org//a", "https://x.org/a"),
    ],
)
def test_different_links_keep_different_keys(a, b):
    assert normalize_url(a) != normalize_url(b)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://istio.io/file",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:someone@example.org",
        "https://",
        "https:///path-only",
        "istio.io/no-scheme",
        "https://istio.io:99999/",
        "https://istio.io:port/",
        f"https://{'a' * 64}.example.org/",  # a DNS label has at most 63 characters
        "https://a..b.org/",
        "https://[::1/",
    ],
)
def test_what_is_not_an_http_link_is_refused(url):
    with pytest.raises(InvalidURL):
        split_url(url)


def test_the_key_keeps_a_non_default_port_and_sorted_query():
    assert normalize_url("https://Example.org:8443/a/?z=1&a=2&utm_id=3") == "example.org:8443/a?a=2&z=1"
    assert normalize_url("https://example.org") == "example.org"


def test_strip_tracking_keeps_everything_else_as_written():
    assert (
        strip_tracking("https://Ex.org/A/?utm_source=x&Q=1&fbclid=2&b=%20#Frag") == "https://Ex.org/A/?Q=1&b=%20#Frag"
    )
    assert strip_tracking("https://ex.org/?utm_source=x") == "https://ex.org/"
    assert strip_tracking("https://ex.org/p") == "https://ex.org/p"


def test_search_word_and_spellings():
    parts = split_url("https://www.istio.io/latest/docs/setup/install?utm_source=x")
    assert parts.search_word == "install"  # the longest word of the path
    root = split_url("https://istio.io/")
    assert root.search_word == ""
    assert "https://www.istio.io/" in root.spellings() and "http://istio.io" in root.spellings()
    assert {normalize_url(s) for s in root.spellings()} == {root.key}
    idn = split_url("https://bücher.de/")
    assert "https://xn--bcher-kva.de" in idn.spellings() and "https://bücher.de/" in idn.spellings()


# Properties: a random link, spelled in random equivalent ways.
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12).filter(lambda t: t != "www")
segment = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~éü", min_size=1, max_size=10
).filter(
    lambda t: t.strip(".")  # "." and ".." are dot segments
)
param = st.tuples(st.text("abcdefgh", min_size=1, max_size=5), st.text("abcxyz0123", max_size=5))


@st.composite
def links(draw):
    host = ".".join(draw(st.lists(label, min_size=1, max_size=3))) + "." + draw(st.sampled_from(["org", "io", "dev"]))
    path = "/" + "/".join(draw(st.lists(segment, max_size=4)))
    params = draw(st.lists(param, max_size=3, unique_by=lambda p: p[0]))
    return host, path, params


@given(
    links(),
    st.sampled_from(["http", "https", "HTTPS"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", "#", "#section-2"]),
)
def test_equivalent_spellings_share_a_key(link, scheme, www, upper, port, slash, fragment):
    host, path, params = link
    query = "&".join(f"{k}={v}" for k, v in params)
    canonical = f"https://{host}{path}" + (f"?{query}" if query else "")
    shuffled = "&".join([f"{k}={v}" for k, v in reversed(params)] + ["utm_source=feed"])
    spelled_host = ("www." if www else "") + (host.upper() if upper else host)
    default_port = (":443" if scheme.lower() == "https" else ":80") if port else ""
    spelled = f"{scheme}://{spelled_host}{default_port}{path}{'/' if slash else ''}?{shuffled}{fragment}"
    key = normalize_url(canonical)
    assert normalize_url(spelled) == key
    # What a database narrows candidates with is in every spelling.
    assert split_url(canonical).search_word.lower() in spelled.lower() or not split_url(canonical).search_word
    # Normalising the key again changes nothing.
    assert normalize_url(f"https://{key}") == key


@given(links(), links())
def test_different_paths_or_hosts_keep_different_keys(a, b):
    if (a[0], a[1].rstrip("/"), sorted(a[2])) != (b[0], b[1].rstrip("/"), sorted(b[2])):
        a_url = f"https://{a[0]}{a[1]}?" + "&".join(f"{k}={v}" for k, v in a[2])
        b_url = f"https://{b[0]}{b[1]}?" + "&".join(f"{k}={v}" for k, v in b[2])
        assert normalize_url(a_url) != normalize_url(b_url)
