"""Middleware: the page cache keyed by the catalog's data version, and the body
limit of the public form."""

import functools
import hashlib
import logging
import re
import threading

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.utils.module_loading import import_string

from . import browse, facets, filters
from .facet_index import current_version
from .models import LabelGroup, Redirect

logger = logging.getLogger(__name__)

CACHED_PATHS = ("/browse/", "/topics/")
# Headers a cached page is served with; cookies are never cached.
KEPT_HEADERS = {
    "Content-Type",
    "Content-Disposition",
    "X-Frame-Options",
    "Content-Language",
    "Vary",
    "Content-Encoding",
}
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# Compresses a page before it is stored, so a hit is not compressed again each time.
_gzip = GZipMiddleware(lambda request: None)
# The session keys of a reader who is signed in or has a message waiting.
PERSONAL_SESSION_KEYS = (SESSION_KEY, "_messages")

_groups_lock = threading.Lock()
_groups = ("", frozenset())  # (data version, the label groups' parameter names)


@functools.cache
def _fixed_parameters():
    return frozenset({"label", "not_label", *facets.fixed_parameters(), *filters.RESERVED, *browse.ALIASES})


def browse_parameters(version):
    """The names of every parameter a browse or topic page reads, for this data version:
    the facets', the list options, the old aliases and one per label group."""
    global _groups
    with _groups_lock:
        if _groups[0] != version:
            _groups = (version, frozenset(LabelGroup.objects.values_list("slug", flat=True)))
        groups = _groups[1]
    return _fixed_parameters() | groups


def _personal_session(request):
    """True when the session cookie names a session that is signed in or holds a message.

    A stale cookie (an expired or deleted session, or an anonymous one) is not:
    its requests are served from the cache like any reader's.
    """
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(key)
    return any(name in store for name in PERSONAL_SESSION_KEYS)


class PageCacheMiddleware:
    """Serve browse and topic pages from the cache.

    The key holds the release, the catalog's data version (a new one after
    every write, set by database triggers), the scheme, the host, the path and
    the sorted query parameters, so a cached page is never stale and links
    built for one host are never served to another; pages for clients that
    accept gzip are stored compressed (a second entry). A request with a
    parameter no page reads is served uncached (it would only fill the
    cache). Placed before the session, CSRF and auth middleware, a hit costs
    one small query and a cache read (two with a session cookie, to tell a
    signed-in reader, who is never served from the cache, from a stale
    cookie). A cache that fails is logged and the page is rendered uncached.
    Responses that set cookies are not stored. BROWSE_CACHE_SECONDS=0 turns it off.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def _key(self, request, version):
        try:
            host = request.get_host()
        except DisallowedHost:
            return None  # the view answers 400
        query = sorted(request.GET.lists())
        if any(name not in browse_parameters(version) for name, _ in query):
            return None
        gzip = bool(ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))
        parts = [settings.MESHPORTAL_RELEASE, version, request.scheme, host, request.path, repr(query), gzip]
        return "page:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()

    def __call__(self, request):
        seconds = settings.BROWSE_CACHE_SECONDS
        if (
            not seconds
            or request.method != "GET"
            or not request.path.startswith(CACHED_PATHS)
            or "messages" in request.COOKIES  # a flash message waits to be shown
            or _personal_session(request)
        ):
            return self.get_response(request)
        version = current_version()
        request.catalog_version = version
        key = self._key(request, version)
        if key is None:
            return self.get_response(request)
        try:
            hit = cache.get(key)
        except Exception:
            logger.warning("page cache: reading failed; serving %s uncached", request.path, exc_info=True)
            return self.get_response(request)
        if hit is not None:
            content, headers = hit
            response = HttpResponse(content)
            for name, value in headers.items():
                response[name] = value
            return response
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            response = _gzip.process_response(request, response)  # for a client that accepts it
            headers = {name: value for name, value in response.items() if name in KEPT_HEADERS}
            try:
                cache.set(key, (response.content, headers), seconds)
            except Exception:
                logger.warning("page cache: storing failed for %s", request.path, exc_info=True)
        return response


class RequestBodyLimitMiddleware:
    """Refuse, before a byte of it is read, a body /submit/ would never use.

    The form posts URL-encoded text: a multipart body (what a file upload
    sends) is refused with 415, and one larger than SUBMISSION_MAX_BODY_BYTES
    (by its Content-Length) with 413. Placed before the CSRF middleware, which
    would otherwise read and parse the whole body first.
    """

    PATHS = ("/submit/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in self.PATHS:
            if request.content_type.startswith("multipart/"):
                return self._refuse(request, 415, "The form sends plain text only: no files or multipart bodies.")
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > settings.SUBMISSION_MAX_BODY_BYTES:
                return self._refuse(request, 413, "That was more text than the form accepts. Please shorten it.")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, status, message):
        return render(request, "catalog/submit_refused.html", {"message": message}, status=status)


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
        redirect = Redirect.objects.select_related("topic__edition").filter(old_path=request.path).first()
        if redirect is None:
            return response
        return HttpResponsePermanentRedirect(redirect.get_absolute_url())
