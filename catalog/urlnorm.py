"""URL normalisation for duplicate detection.

`normalize_url()` turns a URL into a comparison key: two spellings of the same
link give the same key. It folds what never changes the resource:

- scheme and host case, and `http` vs `https` (the same page in practice);
- internationalised host names (Unicode and punycode spell the same host);
- a leading `www.` and a trailing dot on the host;
- the default port (80 for http, 443 for https);
- user information (`user:pw@`);
- percent-encoding case and needless escapes of unreserved characters,
  `.` and `..` path segments, and one trailing slash;
- the fragment (`#...`);
- tracking parameters (`utm_*`, `fbclid`, ...) and the order of the others.

The key is not a URL to fetch; it is only ever compared. `strip_tracking()`
cleans a URL for storing: it drops the tracking parameters and nothing else.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# Names compared lower-cased. Prefixes cover families (utm_source, pk_campaign, ...).
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "ref_src",
        "ref_url",
    }
)

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_WORD = re.compile(r"[A-Za-z0-9]+")


class InvalidURL(ValueError):
    """The text is not an http(s) URL with a usable host."""


def is_tracking_param(name):
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


@dataclass(frozen=True)
class NormalizedURL:
    """The parts of a normalised URL; `key` is what duplicates share."""

    host: str  # ASCII (punycode), lower case, without `www.`
    host_unicode: str  # the same host as a reader writes it
    port: int | None  # only when not the scheme's default
    path: str  # "" for the root
    query: str  # tracking parameters removed, sorted

    @property
    def key(self):
        port = f":{self.port}" if self.port else ""
        query = f"?{self.query}" if self.query else ""
        return f"{self.host}{port}{self.path}{query}"

    @property
    def page(self):
        """Host, port and path: what two links to the same page with other parameters share."""
        return (self.host, self.port, self.path)

    @property
    def search_word(self):
        """A run of ASCII letters and digits that every spelling of this URL contains, or "".

        The longest in the path, else in the query. A database narrows the
        candidates with it (ignoring case) before comparing keys in Python.
        """
        for text in (unquote(self.path), unquote_plus(self.query)):
            word = max(_WORD.findall(text), key=len, default="")
            if word:
                return word
        return ""

    def spellings(self):
        """The usual ways of writing this URL: scheme, `www.`, trailing slash, host form."""
        port = f":{self.port}" if self.port else ""
        query = f"?{self.query}" if self.query else ""
        return sorted(
            f"{scheme}://{www}{host}{port}{self.path}{slash}{query}"
            for scheme in SCHEMES
            for www in ("", "www.")
            for host in {self.host, self.host_unicode}
            for slash in ("", "/")
        )


def _normalize_escapes(text):
    """Upper-case escapes and decode the ones that stand for unreserved characters."""

    def fix(match):
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    # Escape what must be escaped (spaces, non-ASCII) without touching existing escapes.
    return _PERCENT.sub(fix, quote(text, safe="/%:@!$&'()*+,;=-._~"))


def _remove_dot_segments(path):
    """RFC 3986, 5.2.4: resolve `.` and `..` segments."""
    output = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


def _host(parts):
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURL("no host")
    if ":" in host:  # an IPv6 literal
        return f"[{host}]", f"[{host}]"
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidURL(f"invalid host name: {exc}") from exc
    try:
        unicode_host = ascii_host.encode("ascii").decode("idna")
    except UnicodeError:
        unicode_host = ascii_host
    return _without_www(ascii_host), _without_www(unicode_host)


def _without_www(host):
    rest = host.removeprefix("www.")
    return rest if "." in rest else host


def _query(query):
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking_param(k)]
    return urlencode(sorted(pairs), quote_via=quote, safe="-._~")


def split_url(url):
    """Normalise `url` into its parts; raises InvalidURL when it is not http(s) with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidURL("only http and https URLs")
    host, host_unicode = _host(parts)
    if port == DEFAULT_PORTS[scheme]:
        port = None
    path = _remove_dot_segments(_normalize_escapes(parts.path)).rstrip("/")
    return NormalizedURL(host=host, host_unicode=host_unicode, port=port, path=path, query=_query(parts.query))


def normalize_url(url):
    """The comparison key of `url`: equal for two spellings of the same link."""
    return split_url(url).key


def strip_tracking(url):
    """`url` without its tracking parameters; everything else stays as written."""
    parts = urlsplit(url.strip())
    kept = [p for p in parts.query.split("&") if p and not is_tracking_param(unquote_plus(p.split("=", 1)[0]))]
    return urlunsplit(parts._replace(query="&".join(kept)))
