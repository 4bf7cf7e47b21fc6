"""`manage.py create_staff_user USERNAME --role moderator|curator [--email ADDRESS]`.

The password never goes on the command line (it would stay in the shell's
history and in the process list): it comes from the MESHPORTAL_STAFF_PASSWORD
environment variable when set (for scripts), else from a prompt, typed twice.
"""

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.services.staff import ROLES, staff_user_create

PASSWORD_ENV = "MESHPORTAL_STAFF_PASSWORD"  # noqa: S105 - the name of the variable, not a password


class Command(BaseCommand):
    help = f"Create a staff user in a role. The password comes from ${PASSWORD_ENV} or a prompt."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            required=True,
            choices=sorted(ROLES),
            help="moderator: reviews submissions only; curator: edits the catalog and may moderate",
        )
        parser.add_argument("--email", default="", help="the address for notifications (moderators)")

    def handle(self, *args, username, role, email, **options):
        password = os.environ.get(PASSWORD_ENV) or self._prompt()
        try:
            user = staff_user_create(username=username, role=role, password=password, email=email)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({ROLES[role]}): sign in at /admin/."))

    def _prompt(self):
        if not sys.stdin.isatty():
            raise CommandError(f"No terminal for a password prompt: set ${PASSWORD_ENV} instead.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return password
