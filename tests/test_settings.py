"""Settings fail fast without production values, and deploy checks pass with them."""

import os
import subprocess
import sys

from django.conf import settings

# The caller's environment, without anything the settings read.
BASE = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(
        (
            "DJANGO_",
            "DATABASE_URL",
            "EMAIL_",
            "SITE_URL",
            "SUBMISSION_",
            "MODERATORS_EMAILS",
            "REDIS_URL",
            "CACHE_URL",
            "MESHPORTAL_",
        )
    )
}
# The production environment docs/deployment.md documents (Redis need not answer for the checks).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "k3y" * 20,
    "DJANGO_ALLOWED_HOSTS": "meshportal.example.org",
    "DJANGO_HSTS_PRELOAD": "1",
    "DJANGO_TRUSTED_PROXY_COUNT": "1",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MESHPORTAL_RELEASE": "0123abc",
}


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**BASE, "MESHPORTAL_ENV_FILE": "/nonexistent/.env", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_refuses_per_process_rate_limits():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "REDIS_URL"}
    result = manage("check", "--deploy", **env)
    assert result.returncode == 1
    assert "meshportal.E001" in result.stderr and "Set REDIS_URL" in result.stderr


def test_a_command_without_settings_fails_in_one_line():
    result = manage("check")
    assert result.returncode == 1
    assert result.stderr.startswith("manage.py: DJANGO_SECRET_KEY is not set.")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_checkouts_env_file_makes_commands_work_without_debug(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# written by make\nDJANGO_SECRET_KEY=" + "s3cr3t" * 10 + "\nDJANGO_ALLOWED_HOSTS=localhost\n")
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        MESHPORTAL_ENV_FILE=str(env_file),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False ['localhost']")
    # The environment wins over the file.
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ALLOWED_HOSTS)",
        MESHPORTAL_ENV_FILE=str(env_file),
        DJANGO_ALLOWED_HOSTS="example.org",
    )
    assert result.stdout.strip().endswith("['example.org']")


def pool_of(**env):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool', {}).get('max_size'))"
    )
    result = run(code, DJANGO_DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/meshportal", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_postgresql_pool_holds_a_connection_for_each_gunicorn_thread_and_the_follower():
    assert pool_of() == "9"  # gunicorn.conf.py's default 8 threads, and the index's follower thread
    assert pool_of(GUNICORN_THREADS="12") == "13"
    assert pool_of(GUNICORN_THREADS="12", DATABASE_POOL_MAX_SIZE="5") == "5"
    assert pool_of(DATABASE_POOL="0") == "None"
