"""Staff accounts in a role (the groups that the roles migration creates)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

ROLES = {"moderator": "Moderators", "curator": "Curators"}


def staff_user_create(*, username, role, password, email=""):
    """A new active staff user in `role` ("moderator" or "curator"), password checked by the validators."""
    if role not in ROLES:
        raise ValidationError({"role": ValidationError(f"Unknown role {role!r}.", code="unknown_role")})
    with transaction.atomic():
        group = Group.objects.filter(name=ROLES[role]).first()
        if group is None:
            raise ValidationError(f"The {ROLES[role]} group is missing: run `manage.py migrate`.", code="missing_role")
        user = get_user_model()(username=username, email=email, is_staff=True, is_active=True)
        validate_password(password, user)
        user.set_password(password)
        user.full_clean()
        user.save()
        user.groups.add(group)
    return user
