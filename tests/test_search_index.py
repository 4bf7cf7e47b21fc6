"""The in-memory search index gives the database's answers: the same entries, in the same order."""

import random

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import search, search_index
from catalog.models import Entry, Label, LabelGroup

from .conftest import WORDS, build_catalog
from .test_browse_facets import write

pytestmark = pytest.mark.django_db

# Words of the test catalog (titles, descriptions, labels, URLs), prefixes of them, stop words,
# numbers and words found nowhere.
VOCABULARY = [
    *WORDS,
    *(w[:n] for w in WORDS for n in (1, 2, 4)),
    "standard",
    "legacy",
    "guide",
    "tools",
    "github",
    "https",
    "the",
    "and",
    "12",
    "2",
    "nowhere",
    "meshes",
    "tracings",
]


def _word(draw):
    return draw(st.sampled_from(VOCABULARY))


@st.composite
def queries(draw):
    """A reader's query: words (prefixes), `-exclusions`, `a OR b`, sometimes a "phrase"."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        form = draw(st.sampled_from(["word", "word", "word", "minus", "or", "phrase"]))
        if form == "minus":
            parts.append("-" + _word(draw))
        elif form == "or":
            parts.append(f"{_word(draw)} OR {_word(draw)}")
        elif form == "phrase":
            parts.append(f'"{_word(draw)} {_word(draw)}"')
        else:
            parts.append(_word(draw))
    return " ".join(parts)


@pytest.fixture
def catalog(make):
    build_catalog(make)
    make.entry(title="Proxy documentation", url="https://www.envoyproxy.io/docs/envoy/latest/")
    make.entry(title="Café résumé naïve", url="https://example.org/unicode_words/naive")


def check(text):
    """The index's answer equals the database's, ranked and not; True when the index answered."""
    parsed = search.parse_query(text)
    expected = search.sql_matching_ids(text)
    ranked = search_index.answer(parsed, ranked=True)
    unranked = search_index.answer(parsed, ranked=False)
    if ranked is None:
        assert unranked is None
        return False
    assert ranked == expected, text
    assert sorted(unranked) == sorted(expected), text
    assert search.matching_ids(text) == expected
    return True


def test_single_words_prefixes_and_operators_are_answered_from_memory(catalog):
    for text in ["istio", "ist", "k", "kiali -envoy", "envoy OR jaeger", "-mesh", "-mesh -istio", "legacy", "github"]:
        assert check(text), text
    assert Entry.objects.count() > 60 and len(search.matching_ids("istio")) > 5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(queries())
def test_random_queries_match_the_database(catalog, text):
    check(text)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["new entry", "edit fields", "labels", "placement", "delete entry"]), min_size=1),
    st.lists(queries(), min_size=1, max_size=3),
    st.integers(0, 2**32),
)
def test_answers_follow_writes(catalog, writes, texts, seed):
    """After each write the index catches up from the change log (no full build) and still
    gives the database's answers."""
    rnd = random.Random(seed)
    with transaction.atomic():
        check("istio")
        before = search_index.get_text_index()
        for kind in writes[:4]:
            write(kind, rnd)
            entry = rnd.choice(list(Entry.objects.all()))
            entry.title = f"{rnd.choice(WORDS)} rewritten {rnd.choice(VOCABULARY)}"
            entry.description = " ".join(rnd.choice(VOCABULARY) for _ in range(rnd.randrange(8)))
            entry.save()
            for text in [*texts, "istio", "rewritten", "-istio"]:
                check(text)
            after = search_index.get_text_index()
            assert after.base is before.base and after.version != before.version
        transaction.set_rollback(True)


def test_a_renamed_label_or_a_group_made_internal_is_followed(catalog):
    check("standard")
    label = Label.objects.get(name="STANDARD")
    tagged = set(label.tagged_entries.values_list("content_object_id", flat=True))
    assert tagged and tagged <= set(search.matching_ids("standard"))
    label.name = "Graduated"
    label.save()
    assert check("graduated") and check("standard")
    assert tagged <= set(search.matching_ids("graduated"))
    LabelGroup.objects.filter(slug="kind").update(internal=True)  # its labels leave the search
    assert check("guide") and check("tool")


def test_a_phrase_is_left_to_the_database(catalog):
    parsed = search.parse_query('"istio envoy"')
    assert search_index.answer(parsed, ranked=True) is None
    assert search.matching_ids('"istio envoy"') == search.sql_matching_ids('"istio envoy"')


def test_a_word_only_in_the_url_is_found(catalog):
    """The URL's words are made into terms the way the query's are (PostgreSQL stemmed them differently)."""
    entry = Entry.objects.get(title="Proxy documentation")
    for text in ["envoyproxy", "envoyprox", "latest"]:
        assert search.sql_matching_ids(text) == [entry.pk], text
        assert search.matching_ids(text) == [entry.pk], text


def test_stop_words_in_a_query_do_not_keep_an_entry_out(catalog, make):
    """A reader types a title as written: "with" and "a" are in no document's terms on
    PostgreSQL, so they are left out of the query, as the database leaves them out of the text."""
    entry = make.entry(title="Zero-trust networking with a service mesh", description="mTLS and authorization.")
    for text in ["Zero-trust networking with a service mesh", "networking with", "a service mesh -kiali"]:
        assert search.sql_matching_ids(text) == [entry.pk], text
        assert search.matching_ids(text) == [entry.pk], text
        check(text)


def test_words_are_folded_as_the_database_folds_them(catalog):
    """Accents, case and underscores: whatever the database does, the index does too."""
    entry = Entry.objects.get(title="Café résumé naïve")
    assert entry.pk in search.matching_ids("résumé") and entry.pk in search.matching_ids("CAFÉ")
    for text in ["resume", "résumé", "CAFÉ", "naive", "unicode_words"]:
        answered = check(text)
        # Both databases make "unicode_words" a phrase of two terms, which they answer themselves.
        assert answered is (text != "unicode_words"), text


def test_a_word_repeated_many_times_is_counted_exactly(catalog, make):
    """PostgreSQL's occurrence counts are packed 4 bits each while they fit; a word an entry
    repeats 20 times makes a full build keep them whole, with the same answers."""
    make.entry(title="Sidecar " * 3, description="sidecar " * 20, url="https://sidecar.example/sidecar")
    search_index._index = search_index.TextIndex.load()
    assert search_index._index.packed is False
    for text in ["sidecar", "sidecar OR istio", "sid -envoy", "istio"]:
        assert check(text), text
