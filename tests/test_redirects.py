"""Old addresses: the Nubenetes page paths and renamed topics answer a permanent redirect."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Redirect
from catalog.services.redirects import nubenetes_paths, nubenetes_redirects_create, topic_renamed

from .conftest import copy_small_corpus


def test_a_recorded_old_path_redirects_permanently_and_others_stay_404(client, make):
    topic = make.topic(slug="istio")
    Redirect.objects.create(old_path="/istio/", topic=topic, source=Redirect.Source.NUBENETES)
    response = client.get("/istio/")
    assert response.status_code == 301
    assert response["Location"] == topic.get_absolute_url()
    assert client.get("/no-such-page/").status_code == 404
    assert client.post("/istio/").status_code == 404  # only reads are redirected


def test_a_redirect_follows_its_topic_through_a_later_rename(client, make):
    topic = make.topic(slug="istio")
    Redirect.objects.create(old_path="/istio/", topic=topic)
    topic.slug = "istio-mesh"
    topic.save()
    assert client.get("/istio/")["Location"] == f"/topics/istio-mesh/{topic.edition.slug}/"


def test_a_redirect_to_its_own_address_is_refused(make):
    topic = make.topic(slug="loop")
    redirect = Redirect(old_path=topic.get_absolute_url(), topic=topic)
    with pytest.raises(ValidationError) as error:
        redirect.full_clean()
    assert error.value.error_dict["old_path"][0].code == "redirect_loop"


def test_nubenetes_paths_of_each_edition():
    assert nubenetes_paths("istio.md", "v1") == ["/istio/", "/istio.html"]
    assert nubenetes_paths("kubernetes-networking.md", "v2") == [
        "/v2/kubernetes-networking/",
        "/v2/kubernetes-networking.html",
    ]


def test_every_nav_page_with_a_topic_gets_its_addresses_once(tmp_path, editions, make):
    corpus = copy_small_corpus(tmp_path / "corpus")
    v1 = make.topic(edition=None, dimension=make.dimension(edition=_edition("v1")), slug="istio")
    v2 = make.topic(dimension=make.dimension(edition=_edition("v2")), slug="servicemesh")
    Redirect.objects.create(old_path="/istio.html", topic=v2, source=Redirect.Source.CURATOR)  # a curator's choice
    assert nubenetes_redirects_create(corpus=corpus) == 3
    assert dict(Redirect.objects.values_list("old_path", "topic__slug")) == {
        "/istio/": "istio",
        "/istio.html": "servicemesh",  # kept as the curator set it
        "/v2/servicemesh/": "servicemesh",
        "/v2/servicemesh.html": "servicemesh",
    }
    assert Redirect.objects.get(old_path="/istio/").topic == v1
    assert nubenetes_redirects_create(corpus=corpus) == 0  # again: nothing new


def _edition(slug):
    from catalog.models import Edition

    return Edition.objects.get(slug=slug)


def test_renaming_a_topic_in_the_admin_keeps_its_old_address(client, seed, make):
    curator = make.staff("superuser")
    client.force_login(curator)
    topic = _edition("v2").topics.get(slug="istio")
    url = f"/admin/catalog/topic/{topic.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(slug="istio-service-mesh", related=[t.pk for t in topic.related.all()])
    data = {k: ("" if v is None else v) for k, v in data.items()}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    assert client.get("/topics/istio/v2/")["Location"] == "/topics/istio-service-mesh/v2/"
    assert client.get("/topics/istio/")["Location"] == "/topics/istio-service-mesh/v2/"
    assert set(Redirect.objects.values_list("source", flat=True)) == {"renamed"}


def test_renaming_changes_nothing_when_the_slug_stays(make):
    topic = make.topic(slug="same")
    assert topic_renamed(topic=topic, old_slug="same") == 0
    assert not Redirect.objects.exists()
