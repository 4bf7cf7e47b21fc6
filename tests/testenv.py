"""Loaded by pytest before Django's settings (`-p tests.testenv` in pyproject.toml).

The settings refuse to start without a secret key unless DJANGO_DEBUG is on;
a test run gets a random key, and plain-HTTP test clients must not be
redirected to HTTPS.
"""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
# Static files from the source folders even after a `make serve` ran collectstatic here.
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
# Playwright's sync API runs an event loop in the test thread; Django's live
# server and ORM calls from the same thread are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# No background thread following the change log in the test process (a test starts one
# itself, in a child process, where it wants one).
os.environ.setdefault("FACET_INDEX_POLL_SECONDS", "0")
