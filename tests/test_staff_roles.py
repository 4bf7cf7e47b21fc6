"""Roles (groups from the data migration), the create_staff_user command, and who may do what."""

import getpass
import io
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from catalog.models import Submission

STRONG = "Moderate-with-care-2026"


def create(*args):
    out = io.StringIO()
    call_command("create_staff_user", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def password_env(monkeypatch):
    monkeypatch.setenv("MESHPORTAL_STAFF_PASSWORD", STRONG)


def test_the_migration_creates_the_two_roles(db):
    moderators = set(Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True))
    assert moderators == {"view_submission", "change_submission"}
    curators = set(Group.objects.get(name="Curators").permissions.values_list("codename", flat=True))
    assert {"add_entry", "change_entry", "delete_entry", "change_section", "change_label"} <= curators
    assert moderators <= curators
    assert "delete_submission" not in curators and "add_submission" not in curators


@pytest.mark.parametrize(
    "role, group, can_edit_catalog", [("moderator", "Moderators", False), ("curator", "Curators", True)]
)
def test_the_command_creates_a_staff_user_in_a_role(db, password_env, role, group, can_edit_catalog):
    output = create("alice", "--role", role, "--email", "alice@example.org")
    assert f"Created alice ({group})" in output
    user = get_user_model().objects.get(username="alice")
    assert user.is_staff and user.is_active and not user.is_superuser
    assert user.email == "alice@example.org" and user.check_password(STRONG)
    assert list(user.groups.values_list("name", flat=True)) == [group]
    assert user.has_perm("catalog.change_submission")
    assert user.has_perm("catalog.change_entry") is can_edit_catalog


def test_the_password_can_be_typed_at_a_prompt(db, monkeypatch):
    monkeypatch.delenv("MESHPORTAL_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", type("Tty", (), {"isatty": lambda self: True})())
    typed = iter([STRONG, STRONG])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    create("bob", "--role", "moderator")
    assert get_user_model().objects.get(username="bob").check_password(STRONG)

    typed = iter([STRONG, STRONG + "x"])
    with pytest.raises(CommandError, match="The two passwords differ"):
        create("carol", "--role", "moderator")
    assert not get_user_model().objects.filter(username="carol").exists()


def test_without_a_terminal_the_password_must_come_from_the_environment(db, monkeypatch):
    monkeypatch.delenv("MESHPORTAL_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="set \\$MESHPORTAL_STAFF_PASSWORD"):
        create("dave", "--role", "curator")


@pytest.mark.parametrize(
    "args, message",
    [
        (["eve", "--role", "admin"], "invalid choice: 'admin'"),
        (["eve", "--role", "moderator", "--password", STRONG], "unrecognized arguments: --password"),
        (["eve"], "the following arguments are required: --role"),
        (["eve", "--role", "moderator", "--email", "not-an-address"], "Enter a valid email address."),
        (["bad name!", "--role", "moderator"], "Enter a valid username."),
    ],
)
def test_the_command_refuses_bad_arguments(db, password_env, args, message):
    with pytest.raises(CommandError, match=message):
        create(*args)
    assert get_user_model().objects.count() == 0


def test_the_command_refuses_a_weak_password_or_a_taken_name(db, monkeypatch):
    monkeypatch.setenv("MESHPORTAL_STAFF_PASSWORD", "password")
    with pytest.raises(CommandError, match="This password is too common"):
        create("frank", "--role", "moderator")
    assert not get_user_model().objects.filter(username="frank").exists()
    monkeypatch.setenv("MESHPORTAL_STAFF_PASSWORD", STRONG)
    create("frank", "--role", "moderator")
    with pytest.raises(CommandError, match="A user with that username already exists"):
        create("frank", "--role", "curator")
    assert list(get_user_model().objects.get(username="frank").groups.values_list("name", flat=True)) == ["Moderators"]


# The permission matrix: who may see the queue, decide, and edit the catalog.

ROLES = ["anonymous", "moderator", "curator", "superuser"]


@pytest.fixture
def as_role(client, make):
    def login(role):
        if role != "anonymous":
            client.force_login(make.staff(role))
        return client

    return login


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_the_queue_and_decides(as_role, little_catalog, make, role):
    submission = make.submission(section=little_catalog.security, title="Queued suggestion")
    client = as_role(role)
    queue = client.get("/admin/catalog/submission/")
    review = client.get(f"/admin/catalog/submission/{submission.pk}/change/")
    decide = client.post(
        f"/admin/catalog/submission/{submission.pk}/change/", {"_reject": "1", "reject-rejection_reason": "spam"}
    )
    if role == "anonymous":
        assert queue.status_code == review.status_code == decide.status_code == 302
        assert all("/admin/login/" in r["Location"] for r in (queue, review, decide))
        assert Submission.objects.get().status == "pending"
    else:
        assert queue.status_code == 200 and "Queued suggestion" in queue.content.decode()
        assert review.status_code == 200 and decide.status_code == 302
        assert Submission.objects.get().status == "rejected"


@pytest.mark.parametrize("role", ROLES)
def test_who_edits_the_catalog(as_role, little_catalog, role):
    entry = little_catalog.entry
    client = as_role(role)
    changelist = client.get("/admin/catalog/entry/")
    edit = client.post(
        f"/admin/catalog/entry/{entry.pk}/change/",
        {
            "title": "Renamed",
            "url": entry.url,
            "labels": "",
            "placements-TOTAL_FORMS": 0,
            "placements-INITIAL_FORMS": 0,
        },
    )
    entry.refresh_from_db()
    expected = {"anonymous": (302, 302, False), "moderator": (403, 403, False)}.get(role, (200, 302, True))
    assert (changelist.status_code, edit.status_code, entry.title == "Renamed") == expected


def test_a_moderator_sees_only_the_submissions_in_the_admin(as_role, little_catalog):
    html = as_role("moderator").get("/admin/").content.decode()
    assert "/admin/catalog/submission/" in html
    for model in ("entry", "section", "topic", "label", "placement", "edition"):
        assert f"/admin/catalog/{model}/" not in html
    assert "/admin/auth/" not in html


def test_nobody_sees_a_status_page_without_its_token(client, little_catalog, make):
    submission = make.submission(title="Private suggestion")
    assert client.get(submission.get_absolute_url()).status_code == 200
    for guess in (str(submission.pk), submission.token[:-1], submission.token.upper(), "x" * 43, "../admin"):
        response = client.get(f"/submit/status/{guess}/")
        assert response.status_code == 404, guess
        assert "Private suggestion" not in response.content.decode()
