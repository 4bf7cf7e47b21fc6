"""What a site answers at its root for robots: robots.txt (sitemap.xml comes from
django.contrib.sitemaps in meshportal/urls.py)."""

from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

# Pages that are private, per-visitor or endless for a crawler.
DISALLOW = ["/admin/", "/submit/", "/browse/?"]


@require_GET
def robots_txt(request):
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOW), ""]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
