"""The page cache for catalog pages, keyed by the catalog's data version."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponsePermanentRedirect

from .facet_index import current_version

CACHED_PATHS = ("/browse/", "/topics/")
# Headers a cached page is served with; cookies are never cached.
KEPT_HEADERS = {"Content-Type", "Content-Disposition", "X-Frame-Options", "Content-Language", "Vary"}


class PageCacheMiddleware:
    """Serve browse and topic pages from the cache.

    The key holds the release, the catalog's data version (a new one after
    every write, set by database triggers) and the full URL, so a cached page
    is never stale. Placed before the session, CSRF and auth middleware, a hit
    costs one small query and a cache read. Requests with a session or a
    waiting message, and responses that set cookies, are not cached.
    BROWSE_CACHE_SECONDS=0 turns it off.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = settings.BROWSE_CACHE_SECONDS
        if (
            not seconds
            or request.method != "GET"
            or not request.path.startswith(CACHED_PATHS)
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or "messages" in request.COOKIES  # a flash message waits to be shown
        ):
            return self.get_response(request)
        version = current_version()
        request.catalog_version = version
        key = f"{settings.MESHPORTAL_RELEASE}|{version}|{request.get_full_path()}"
        key = "page:" + hashlib.sha256(key.encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            content, headers = hit
            response = HttpResponse(content)
            for name, value in headers.items():
                response[name] = value
            return response
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            headers = {name: value for name, value in response.items() if name in KEPT_HEADERS}
            cache.set(key, (response.content, headers), seconds)
        return response


class OldAddressMiddleware:
    """Answer a page that is not found with a permanent redirect when its path has a
    Redirect record (the Nubenetes addresses, renamed topics). Costs nothing on
    pages that exist: only a 404 is looked up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404 or request.method not in ("GET", "HEAD"):
            return response
        from .models import Redirect  # the app registry is ready by the first request

        redirect = Redirect.objects.select_related("topic__edition").filter(old_path=request.path).first()
        if redirect is None:
            return response
        return HttpResponsePermanentRedirect(redirect.get_absolute_url())
