"""Settings fail fast without production values, and deploy checks pass with them."""

import os
import subprocess
import sys

from django.conf import settings

# The caller's environment, without anything the settings read.
BASE = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_", "SITE_URL", "SUBMISSION_", "MODERATORS_EMAILS"))
}


def run(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**BASE, "DJANGO_SETTINGS_MODULE": "meshportal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_stops_start_up():
    result = run("import django; django.setup()")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_missing_allowed_hosts_stops_start_up():
    result = run("import django; django.setup()", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is not set" in result.stderr


def test_debug_needs_no_configuration():
    result = run(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)", DJANGO_DEBUG="1"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **BASE,
            "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "k3y" * 20,
            "DJANGO_ALLOWED_HOSTS": "meshportal.example.org",
            "DJANGO_HSTS_PRELOAD": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
