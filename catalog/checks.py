"""System checks of a deployment (`manage.py check --deploy`, run by `make serve`
and by deploy/gunicorn.conf.py before the workers start)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# Caches that keep their counts in one process (or that do not count at all).
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, deploy=True)
def rate_limits_need_a_shared_cache(app_configs, **kwargs):
    """The submission rate limit, the one-time form numbers and the page cache live in
    the default cache: per process, two workers would allow twice the limit.
    One process (WEB_CONCURRENCY=1, threads sharing its memory) may do without."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or backend not in PER_PROCESS_CACHES or settings.WEB_CONCURRENCY == 1:
        return []
    return [
        Error(
            f"The default cache is {backend.rsplit('.', 1)[-1]}, kept in each process: the submission "
            f"rate limit and one-time form checks would not be shared by the {settings.WEB_CONCURRENCY} workers.",
            hint="Set REDIS_URL (e.g. redis://127.0.0.1:6379/0), or run one process (WEB_CONCURRENCY=1).",
            id="meshportal.E001",
        )
    ]
