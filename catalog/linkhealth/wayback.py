"""Archived copies on the Wayback Machine: `https://web.archive.org/web/<url>`
answers with the latest copy of `<url>`."""

ARCHIVE_PREFIX = "https://web.archive.org/web/"


def is_archived_copy(url):
    return (url or "").startswith(ARCHIVE_PREFIX)


def archived_copy_url(url):
    """The Wayback Machine's address for `url` (its latest copy)."""
    return url if is_archived_copy(url) else f"{ARCHIVE_PREFIX}{url}"


def original_of_archived(url):
    """The original URL inside a Wayback address, or ""."""
    if not is_archived_copy(url):
        return ""
    rest = url[len(ARCHIVE_PREFIX) :]
    head, _, tail = rest.partition("/")
    # .../web/<timestamp>/<url> or .../web/<url>
    return tail if head.rstrip("*").isdigit() else rest
