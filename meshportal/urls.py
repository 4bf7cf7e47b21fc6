from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.views.decorators.cache import cache_page

from catalog.site_views import logo, robots_txt
from catalog.sitemaps import SITEMAPS

admin.site.site_header = "meshportal curation"
admin.site.site_title = "meshportal admin"

SITEMAP_SECONDS = 3600

urlpatterns = [
    path("admin/", admin.site.urls),
    path("robots.txt", robots_txt, name="robots_txt"),
    path("logos/<int:pk>/", logo, name="logo"),
    path(
        "sitemap.xml",
        cache_page(SITEMAP_SECONDS)(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cache_page(SITEMAP_SECONDS)(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("", include("catalog.urls")),
]
