"""Logo writes: storing an image (fetched or uploaded), recording a fetch, and
giving entries the logo of their source.

The job writes `Entry.site_logo` only; a curator's `Entry.logo` and
`Topic.logo` are set in the admin (recorded in the entry's history) and never
changed here. Logo rows are never changed either: a new image is a new row,
so a logo's URL may be cached for a year.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..linkhealth.logos import digest, validate_image
from ..models import Entry, Logo, LogoSource

CHUNK = 500


def logo_store(*, data, origin):
    """The Logo holding `data` (made when new); ValidationError (code empty, too_large,
    not_image) when it is not an image we keep."""
    content_type = validate_image(data)
    key = digest(data)
    found = Logo.objects.filter(digest=key).first()
    if found is not None:
        return found
    logo = Logo(digest=key, content_type=content_type, data=data, size=len(data), origin=origin[:2000])
    logo.full_clean()
    try:
        with transaction.atomic():
            logo.save()
    except IntegrityError:  # the same image stored at the same moment by another worker
        return Logo.objects.get(digest=key)
    return logo


@transaction.atomic
def logos_record(*, outcomes, sources):
    """Store a batch of fetches [(key, LogoOutcome)] and give each source's entries its logo.

    `sources` is `linkhealth.logos.plan()`: {key: (image URL, [entry ids])}. A failed
    fetch keeps the source's earlier logo (an icon that was there is still the site's)
    and records why. Returns the number of entries whose shown site logo changed.
    """
    now = timezone.now()
    rows = LogoSource.objects.in_bulk([key for key, _ in outcomes], field_name="key")
    for key, outcome in outcomes:
        source = rows.get(key) or LogoSource(key=key)
        source.url, source.fetched_at = outcome.url, now
        if outcome.data:
            source.logo, source.error = logo_store(data=outcome.data, origin=outcome.final_url), ""
        else:
            source.error = outcome.error[:40]
        source.save()
    return logos_assign(sources={key: sources[key] for key, _ in outcomes if key in sources})


@transaction.atomic
def logos_assign(*, sources):
    """Give the entries of each source ({key: (url, [entry ids])}) that source's current logo
    (none when it has none) as their site logo; returns how many entries changed."""
    logo_of = dict(LogoSource.objects.filter(key__in=list(sources)).values_list("key", "logo_id"))
    changed = 0
    for key, (_, entry_ids) in sources.items():
        logo_id = logo_of.get(key)
        for start in range(0, len(entry_ids), CHUNK):
            chunk = entry_ids[start : start + CHUNK]
            changed += Entry.objects.filter(pk__in=chunk).exclude(site_logo_id=logo_id).update(site_logo_id=logo_id)
    return changed
