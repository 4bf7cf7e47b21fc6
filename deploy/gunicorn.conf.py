"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py meshportal.wsgi`.

Threaded workers (gthread): a slow client holds one thread, never a whole
worker, and nginx in front (deploy/nginx/) buffers requests and responses so
workers only ever talk to it. The deployment checks run once before the
workers start: a production setting that is wrong stops the start-up. The parent
process loads the app and the facet index once, before it forks the workers, which
share that memory (meshportal/prefork.py; GUNICORN_PRELOAD=0 turns it off).
"""

import os

from meshportal.prefork import pre_fork, preload_app  # noqa: F401 - gunicorn reads them here

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# WEB_CONCURRENCY is also what the settings read to know whether the processes share memory.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
timeout = 30
graceful_timeout = 20
keepalive = 5
# Workers start afresh now and then (memory held by one huge request goes back).
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
# Django reads X-Forwarded-* itself (TRUSTED_PROXY_COUNT); gunicorn passes them untouched.
forwarded_allow_ips = "127.0.0.1,::1"
# No control socket: its default path is shared by every gunicorn of the user.
control_socket_disable = True


def on_starting(server):
    """Refuse to start when `manage.py check --deploy` finds an error (a missing
    REDIS_URL with several workers, for one)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
    import django
    from django.core import checks

    django.setup()
    errors = [m for m in checks.run_checks(include_deployment_checks=True) if m.level >= checks.ERROR]
    for message in errors:
        server.log.error("%s", message)
    if errors:
        raise SystemExit("meshportal: the deployment checks failed (above); not starting.")
