"""Fuzzing /submit/ with hypothesis: no server error, no record from invalid input.

Two runs of 500 generated posts each: arbitrary input (any record it makes
must be a valid suggestion), and input made invalid on purpose (it must make
no record at all).
"""

import itertools
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.forms import issue_started
from catalog.models import Submission
from catalog.urlnorm import split_url

from .submission_support import form_data, post_form

FUZZ = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = ["url", "title", "target", "description", "reason", "submitter_name", "submitter_email", "website"]
_unique = itertools.count()


@pytest.fixture
def fuzz_env(little_catalog, settings):
    settings.SUBMISSION_RATE_LIMIT = 10**9  # the limit has its own tests
    return little_catalog


def started_token():
    return issue_started(at=time.time() - 60)


tricky = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e",
        "\ufeff",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "https://",
        "http://[::1",
        "https://xn--/",
        "https://a" + "a" * 3000 + ".org/",
        "%00",
        "t1",
        "s1",
        "t99999999999999999999",
        "' OR 1=1 --",
        "https://例え.テスト/",
        "https://user:pw@example.org/",
        "a@b",
        "@",
    ]
)
anything = st.one_of(st.text(max_size=300), tricky, st.text(min_size=1900, max_size=2100))
plausible_url = st.builds(
    lambda scheme, host, path: f"{scheme}{host}{path}",
    st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", "//", "javascript:"]),
    st.text(min_size=0, max_size=30),
    st.text(max_size=40),
)


@st.composite
def arbitrary_posts(draw):
    data = {field: draw(anything) for field in FIELDS if draw(st.booleans())}
    if draw(st.booleans()):
        data["url"] = draw(plausible_url)
    if draw(st.booleans()):
        data["labels"] = draw(st.lists(st.one_of(st.text(max_size=8), st.integers().map(str)), max_size=12))
    data["started"] = started_token() if draw(st.booleans()) else draw(anything)
    return data


def assert_is_a_valid_suggestion(submission):
    """An independent check of what a stored suggestion must be."""
    assert submission.url.lower().startswith(("http://", "https://"))
    assert split_url(submission.url).key == submission.url_key
    assert len(submission.url) <= 2000 and 0 < len(submission.title) <= Submission.TITLE_MAX
    assert len(submission.description) <= Submission.DESCRIPTION_MAX and len(submission.reason) <= Submission.REASON_MAX
    assert submission.reason.strip() and submission.status == "pending"
    for text in (submission.title, submission.submitter_name, submission.url):
        assert not any(unicodedata.category(ch) == "Cc" for ch in text)


@FUZZ
@given(data=arbitrary_posts())
def test_arbitrary_posts_never_fail_and_store_only_valid_suggestions(client, fuzz_env, data):
    before = set(Submission.objects.values_list("pk", flat=True))
    response = post_form(client, data)
    assert response.status_code in (303, 422), response.status_code
    created = Submission.objects.exclude(pk__in=before)
    if response.status_code == 422:
        assert not created.exists()
    else:
        [submission] = created
        assert_is_a_valid_suggestion(submission)


def control_char_in(text_strategy):
    """Text with a control character (not a tab or line break) inside it, where stripping cannot remove it."""
    control = st.sampled_from([chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127, *range(128, 160)]])
    return st.tuples(text_strategy, control, text_strategy).map(lambda t: f"{t[0]}x{t[1]}x{t[2]}")


words = st.text(alphabet=st.characters(categories=["L", "N", "Zs", "P"]), max_size=40)
# Each corruption makes a valid post invalid, whatever else is in it.
CORRUPTIONS = {
    "url": st.one_of(
        st.builds(
            lambda s, rest: f"{s}:{rest}", st.sampled_from(["ftp", "javascript", "data", "mailto", "file"]), words
        ),
        control_char_in(st.just("https://example.org/")),
        st.builds(lambda w: f"https://exa mple.org/{w}", words),
        st.just("https://example.org/" + "a" * 1990),
        st.just(""),
    ),
    "title": st.one_of(
        st.just(""), st.text(" \t", max_size=5), st.text("x", min_size=201, max_size=400), control_char_in(words)
    ),
    "reason": st.one_of(st.just(""), st.text("y", min_size=1001, max_size=1200), control_char_in(words)),
    "description": st.one_of(st.text("z", min_size=501, max_size=600), control_char_in(words)),
    "submitter_name": st.one_of(st.text("n", min_size=101, max_size=150), control_char_in(words)),
    # No lone surrogates: no browser can send one (UTF-8 cannot encode it), and the test client refuses to.
    "submitter_email": st.text(
        alphabet=st.characters(exclude_characters="@", exclude_categories=["Cs"]), min_size=1, max_size=60
    ).filter(str.strip),
    "website": words.filter(str.strip),
    "started": st.one_of(
        st.just(""), words, st.builds(lambda: issue_started()), st.builds(lambda: issue_started(at=0))
    ),
    "target": st.one_of(
        st.from_regex(r"[ts][0-9]{9,12}", fullmatch=True), words.filter(lambda w: w.strip() and w[0] not in "ts")
    ),
    "labels": st.lists(
        st.one_of(st.integers(min_value=10**9).map(str), st.text(alphabet="abc-", min_size=1)), min_size=1, max_size=5
    ),
}


@st.composite
def invalid_posts(draw):
    data = form_data(url=f"https://fuzz.example/{next(_unique)}", started=started_token())
    for field in draw(st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=3, unique=True)):
        data[field] = draw(CORRUPTIONS[field])
    return data


@FUZZ
@given(data=invalid_posts())
def test_invalid_posts_never_fail_and_store_nothing(client, fuzz_env, data):
    before = Submission.objects.count()
    response = post_form(client, data)
    assert response.status_code == 422, (response.status_code, data)
    assert Submission.objects.count() == before
