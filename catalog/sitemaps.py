"""sitemap.xml: every topic page of every edition, every entry and every label,
each at the one URL its model's get_absolute_url() gives."""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max

from .models import Entry, Label, Topic


class TopicSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        # A topic changes when one of its entries does; one query with the newest time.
        return (
            Topic.objects.select_related("edition")
            .annotate(last_change=Max("sections__placements__entry__updated_at"))
            .order_by("edition__position", "slug")
        )

    def lastmod(self, item):
        return item.last_change


class EntrySitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.5
    limit = 10000

    def items(self):
        return Entry.objects.only("id", "updated_at").order_by("id")

    def lastmod(self, item):
        return item.updated_at


class LabelSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        return Label.objects.only("id", "slug").order_by("slug")


SITEMAPS = {"topics": TopicSitemap, "entries": EntrySitemap, "labels": LabelSitemap}
