"""Email and submission settings come from the environment."""

import json

from .test_settings import run

PRODUCTION = {"DJANGO_SECRET_KEY": "k" * 60, "DJANGO_ALLOWED_HOSTS": "meshportal.example.org,other.example.org"}
NAMES = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "MODERATORS_EMAILS",
    "SITE_URL",
    "SUBMISSION_RATE_LIMIT",
    "SUBMISSION_RATE_WINDOW",
    "SUBMISSION_MIN_FILL_SECONDS",
    "TRUSTED_PROXY_COUNT",
]


def configured(**env):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {NAMES!r}}}))"
    )
    result = run(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_print_email_to_the_console():
    values = configured(**PRODUCTION)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["SITE_URL"] == "https://meshportal.example.org"
    assert values["MODERATORS_EMAILS"] == []
    assert (values["SUBMISSION_RATE_LIMIT"], values["SUBMISSION_RATE_WINDOW"]) == (5, 3600)
    assert values["SUBMISSION_MIN_FILL_SECONDS"] == 3
    assert values["TRUSTED_PROXY_COUNT"] == 0
    assert configured(DJANGO_DEBUG="1")["SITE_URL"] == "http://127.0.0.1:8000"


def test_smtp_and_the_rest_from_the_environment():
    values = configured(
        **PRODUCTION,
        EMAIL_HOST="smtp.example.org",
        EMAIL_PORT="2525",
        EMAIL_HOST_USER="portal",
        EMAIL_HOST_PASSWORD="secret",
        DEFAULT_FROM_EMAIL="meshportal <noreply@example.org>",
        MODERATORS_EMAILS="a@example.org, b@example.org",
        SITE_URL="https://portal.example.org",
        SUBMISSION_RATE_LIMIT="20",
        SUBMISSION_RATE_WINDOW="600",
        DJANGO_BEHIND_PROXY="1",
    )
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"], values["EMAIL_HOST_USER"]) == (
        "smtp.example.org",
        2525,
        "portal",
    )
    assert (values["EMAIL_USE_TLS"], values["EMAIL_USE_SSL"], values["EMAIL_TIMEOUT"]) == (True, False, 10)
    assert values["DEFAULT_FROM_EMAIL"] == "meshportal <noreply@example.org>"
    assert values["MODERATORS_EMAILS"] == ["a@example.org", "b@example.org"]
    assert values["SITE_URL"] == "https://portal.example.org"
    assert (values["SUBMISSION_RATE_LIMIT"], values["SUBMISSION_RATE_WINDOW"]) == (20, 600)
    assert values["TRUSTED_PROXY_COUNT"] == 1  # the older spelling
    ssl = configured(**PRODUCTION, EMAIL_HOST="smtp.example.org", EMAIL_USE_SSL="1", EMAIL_PORT="465")
    assert (ssl["EMAIL_USE_TLS"], ssl["EMAIL_USE_SSL"]) == (False, True)
