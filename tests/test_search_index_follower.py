"""The follower thread (catalog/index_follower.py) brings the search's index up to date too,
so the first search after a write finds it current. In a child process on a database of its
own, as tests/test_index_follower.py does."""

from . import test_live_index
from .test_index_follower import SETUP
from .test_live_index import run_child

live_db = test_live_index.live_db  # the fixture: a migrated database of its own

FOLLOWS_SEARCH = (
    SETUP
    + """
from catalog import search, search_index

facet_index.get_index()
first = search_index.get_text_index()
follower = index_follower.start(0.02)
entry = make.entry(section=Section.objects.order_by("id").first(), title="Quokkaflux proxy", year=2026)
caught = wait_until(lambda: search_index.current_text_index().version == facet_index.current_version())
text = search_index.current_text_index()
parsed = search.parse_query("quokkaflux")
print(json.dumps({
    "caught": caught,
    "followed_not_rebuilt": text.base is first.base,
    "found": search_index.answer(parsed, ranked=True, version=text.version) == [entry.pk],
    "as_sql": search.sql_matching_ids("quokkaflux") == [entry.pk],
}))
index_follower.stop_following()
"""
)


def test_the_follower_brings_the_search_index_up_to_date(live_db):
    result = run_child(live_db, FOLLOWS_SEARCH)
    assert result == {"caught": True, "followed_not_rebuilt": True, "found": True, "as_sql": True}
