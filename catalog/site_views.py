"""What a site answers beside its pages: robots.txt (sitemap.xml comes from
django.contrib.sitemaps in meshportal/urls.py) and the stored logos."""

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.views.decorators.http import require_GET

from .models import Logo

# Pages that are private, per-visitor or endless for a crawler.
DISALLOW = ["/admin/", "/submit/", "/browse/?"]


@require_GET
def robots_txt(request):
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOW), ""]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
def logo(request, pk):
    """A stored logo. Its bytes never change (a new image is a new logo), so it is cached for a year."""
    found = Logo.objects.filter(pk=pk).values_list("data", "content_type", "digest").first()
    if found is None:
        raise Http404("No such logo.")
    data, content_type, digest = found
    etag = f'"{digest}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(bytes(data), content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
