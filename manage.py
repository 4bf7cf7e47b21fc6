#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

In a checkout, `.env` (git-ignored; `make` writes one with a generated key)
supplies what the environment does not set, so commands work without
DJANGO_DEBUG. A setting that is still missing stops the command with one line.
"""

import os
import sys
from pathlib import Path

ENV_FILE = Path(os.environ.get("MESHPORTAL_ENV_FILE") or Path(__file__).resolve().parent / ".env")


def load_env_file(path=ENV_FILE):
    """KEY=value lines of `path` into os.environ, never over a variable already set."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
    load_env_file()
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"manage.py: {exc}")


if __name__ == "__main__":
    main()
