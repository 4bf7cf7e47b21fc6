"""Absolute links for the head of a page: canonical URL, OpenGraph and Twitter cards."""

from django import template
from django.templatetags.static import static

register = template.Library()


@register.simple_tag(takes_context=True)
def absolute_url(context, path):
    """`path` on this site, with the scheme and host of the request it answers."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


@register.inclusion_tag("includes/page_meta.html", takes_context=True)
def page_meta(context, *, title, path, description="", kind="website"):
    """The canonical link and the social cards of a page (`path` is its one URL)."""
    return {
        "title": title,
        "description": " ".join(description.split())[:200],
        "kind": kind,
        "url": absolute_url(context, path),
        "image": absolute_url(context, static("img/logo.png")),
    }
