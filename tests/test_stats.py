"""/stats/: the catalog's shape as charts, tables, JSON and CSV, all from the same numbers."""

import csv
import io
import re

import pytest

from catalog.charts import nice_ceiling
from catalog.models import Entry, Placement


@pytest.fixture(autouse=True)
def nocache(settings):
    settings.BROWSE_CACHE_SECONDS = 0


def test_nice_ceiling():
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 24, 50, 51, 584, 38217)] == [1, 1, 5, 10, 50, 50, 100, 1000, 50000]


def test_stats_numbers_are_the_catalog_numbers(client, catalog_fixtures, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        data = client.get("/stats/?format=json").json()
    assert set(data) == {"years", "maturity", "languages", "growth", "links"}
    assert sum(n for _, n in data["links"]["rows"]) == Entry.objects.visible().count()

    years = data["years"]
    assert years["columns"] == ["Year", "V2 Elite", "V1 Historical Archive"]
    for year, v2, v1 in years["rows"]:
        for edition, shown in (("v2", v2), ("v1", v1)):
            expected = (
                Entry.objects.filter(year=int(year), placements__section__topic__edition__slug=edition)
                .distinct()
                .count()
            )
            assert shown == expected, (year, edition)

    languages = dict(data["languages"]["rows"])
    assert languages["Go"] == Entry.objects.filter(language__iexact="go").count()
    assert list(languages.values()) == sorted(languages.values(), reverse=True)

    maturity = data["maturity"]
    assert maturity["columns"][-1] == "No tier"
    row = next(r for r in maturity["rows"] if r[0] == "Istio - Service Mesh (V2 Elite)")
    v2_istio = Entry.objects.filter(
        placements__section__topic__slug="istio", placements__section__topic__edition__slug="v2"
    )
    legacy = maturity["columns"].index("LEGACY")
    assert row[legacy] == v2_istio.filter(labels__slug="legacy").distinct().count()
    assert sum(row[1:]) == v2_istio.distinct().count()

    growth = data["growth"]["rows"]
    assert growth[-1][2] == Entry.objects.count() == sum(r[1] for r in growth)


def test_each_chart_draws_its_table(client, catalog_fixtures):
    html = client.get("/stats/").content.decode()
    data = client.get("/stats/?format=json").json()
    for slug, table in data.items():
        figure = re.search(rf'<figure class="chart chart--{slug}"(.*?)</figure>', html, re.S).group(1)
        # Every non-zero number of the table is one bar, titled with its value.
        bars = re.findall(r"<rect [^>]*><title>(.*?)</title></rect>", figure)
        expected = [(row[0], n) for row in table["rows"] for n in (row[1:2] if slug == "growth" else row[1:]) if n]
        assert sorted(title.split(" entr")[0] for title in bars) == sorted(f"{c}: {n:,}" for c, n in expected), slug
        # A text alternative, and the same numbers as a table.
        assert re.search(rf'<desc id="chart-{slug}-desc">[^<]+</desc>', figure)
        cells = re.findall(r'<td class="num">(\d+)</td>', figure)
        assert [int(c) for c in cells] == [n for row in table["rows"] for n in row[1:]]


def test_stats_csv_and_bad_chart(client, catalog_fixtures):
    response = client.get("/stats/?chart=years&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert table[0] == ["Year", "V2 Elite", "V1 Historical Archive"]
    assert table[1:] == [[str(c) for c in row] for row in client.get("/stats/?format=json").json()["years"]["rows"]]
    bad = client.get("/stats/?chart=nope&format=csv")
    assert bad.status_code == 400 and "There is no chart “nope”" in bad.content.decode()
    assert client.get("/stats/?format=csv").status_code == 400


def test_stats_on_an_empty_catalog(client, db):
    response = client.get("/stats/")
    assert response.status_code == 200
    assert Placement.objects.count() == 0
    assert "No data yet." in response.content.decode()
