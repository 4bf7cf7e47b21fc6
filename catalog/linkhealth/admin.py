"""Admin pieces for link health: the curators' one-click actions on entries,
an entry's check history, and read-only pages for runs and repositories.
Every action calls `catalog.services.linkhealth`."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django_tasks import TaskResultStatus

from ..models import Change, GitHubRepo, LinkCheckRun, Logo, LogoSource, logo_path
from ..services.github import entry_suggestions, github_accept_suggestion, github_apply_rename
from ..services.linkhealth import NOTES, link_action_bulk
from ..services.logos import logo_store
from ..tasks import fetch_logos_job
from .logos import validate_image

ACTION_DONE = {
    "apply_redirect": "Moved {n} to their redirect target",
    "archived_copy": "Replaced {n} with an archived copy",
    "checked_by_hand": "Marked {n} as checked by hand, fine",
    "unpublish": "Unpublished {n}",
}


def _entries(n):
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def history_message(change):
    """One curator action in words: each field's old and new value (the history holds the same)."""
    values = "; ".join(f"{field}: {old!s} → {new!s}" for field, (old, new) in change.changes.items())
    return f"{NOTES.get(change.action, change.action)}: {values}"


def run_link_action(modeladmin, request, queryset, action):
    result = link_action_bulk(action=action, entries=list(queryset), user=request.user)
    if result.done:
        modeladmin.message_user(
            request, ACTION_DONE[action].format(n=_entries(len(result.done))) + ".", messages.SUCCESS
        )
    if result.skipped:
        reasons = "; ".join(f"“{entry.title}”: {reason}" for entry, reason in result.skipped[:20])
        more = f" (and {len(result.skipped) - 20} more)" if len(result.skipped) > 20 else ""
        modeladmin.message_user(
            request, f"Left {_entries(len(result.skipped))} as they were: {reasons}{more}", messages.WARNING
        )


@admin.action(description="Link: use the permanent redirect's target as the URL", permissions=["change"])
def apply_redirect(modeladmin, request, queryset):
    run_link_action(modeladmin, request, queryset, "apply_redirect")


@admin.action(description="Link: replace with the archived copy (web.archive.org)", permissions=["change"])
def use_archived_copy(modeladmin, request, queryset):
    run_link_action(modeladmin, request, queryset, "archived_copy")


@admin.action(description="Link: checked by hand, fine", permissions=["change"])
def mark_checked_by_hand(modeladmin, request, queryset):
    run_link_action(modeladmin, request, queryset, "checked_by_hand")


@admin.action(description="Unpublish (hide from readers)", permissions=["change"])
def unpublish(modeladmin, request, queryset):
    run_link_action(modeladmin, request, queryset, "unpublish")


def _each(modeladmin, request, queryset, service, done_text, **kwargs):
    """Run a one-entry service on each selected entry; record and report what changed and what was skipped."""
    done, skipped = [], []
    with transaction.atomic():
        for entry in queryset:
            try:
                with transaction.atomic():
                    change = service(entry=entry, user=request.user, source=Change.Source.BULK, **kwargs)
            except ValidationError as exc:
                skipped.append(f"“{entry.title}”: {' '.join(exc.messages)}")
            else:
                done.append(change)
    if done:
        modeladmin.message_user(request, done_text.format(n=_entries(len(done))) + ".", messages.SUCCESS)
    if skipped:
        more = f" (and {len(skipped) - 20} more)" if len(skipped) > 20 else ""
        modeladmin.message_user(
            request, f"Left {_entries(len(skipped))} as they were: {'; '.join(skipped[:20])}{more}", messages.WARNING
        )


@admin.action(description="GitHub: accept the suggested maturity tier", permissions=["change"])
def accept_github_maturity(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        github_accept_suggestion,
        "Set the suggested maturity tier on {n}",
        field="maturity",
    )


@admin.action(description="GitHub: use the repository's new name in the URL", permissions=["change"])
def apply_github_rename(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, github_apply_rename, "Moved {n} to the repository's new name")


@admin.action(description="Logos: fetch the site's icon or the GitHub owner's avatar (background job)")
def fetch_logos(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    result = fetch_logos_job.enqueue(entry_ids=ids, stale_days=0)
    if result.status == TaskResultStatus.FAILED:
        modeladmin.message_user(request, f"The logo job {result.id} failed: {result.errors[-1]}", messages.ERROR)
    elif result.status == TaskResultStatus.SUCCESSFUL:
        counts = result.return_value
        errors = ", ".join(f"{k} {v}" for k, v in sorted(counts["errors"].items())) or "none"
        modeladmin.message_user(
            request,
            f"Fetched {counts['fetched']} logos for {_entries(len(ids))}: {counts['entries_changed']} "
            f"entries changed; failures: {errors}. A curator's own logo is never changed.",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request, f"Queued job {result.id}: the logos of {_entries(len(ids))} (a db_worker runs it).", messages.INFO
        )


LINK_ACTIONS = [
    apply_redirect,
    use_archived_copy,
    mark_checked_by_hand,
    unpublish,
    accept_github_maturity,
    apply_github_rename,
    fetch_logos,
]


class LinkHealthAdminMixin:
    """For the entry admin: link health, link history and GitHub figures on the
    entry's page, with a one-click Accept for each suggestion."""

    @admin.display(description="link health")
    def link_health_text(self, obj):
        return link_health_summary(obj)

    @admin.display(description="link checks (history)")
    def link_history(self, obj):
        return link_history_table(obj)

    @admin.display(description="GitHub")
    def github_text(self, obj):
        return github_summary(obj)

    @admin.display(description="site logo (fetched)")
    def site_logo_text(self, obj):
        if not obj.site_logo_id:
            return "None fetched yet (manage.py fetch_logos, or the action “Logos: fetch …”)."
        shown = "shown" if not obj.logo_id else "not shown: the logo chosen above is"
        return format_html('<img src="{}" width="20" height="20" alt=""> {}', logo_path(obj.site_logo_id), shown)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_github_accept" in request.POST:
            return self.accept_github_suggestion(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def accept_github_suggestion(self, request, object_id):
        entry = self.get_object(request, object_id)
        if entry is None or not self.has_change_permission(request, entry):
            raise PermissionDenied
        try:
            change = github_accept_suggestion(entry=entry, field=request.POST["_github_accept"], user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, "Accepted: " + history_message(change), messages.SUCCESS)
        return HttpResponseRedirect(request.path)


def github_summary(entry):
    """The repository's figures, when they were fetched, and each suggestion with an Accept button."""
    repo = entry.github_repo if entry.pk else None
    if repo is None:
        return "Not a GitHub repository."
    if repo.fetched_at is None:
        return f"{repo}: not fetched yet (manage.py refresh_github)."
    if repo.missing:
        return format_html("{}: GitHub answered 404 (deleted or private) {} ago.", repo, timesince(repo.fetched_at))
    facts = format_html(
        "{}: ★ {} · {} forks · last push {} · {}{}{} · refreshed {} ago",
        repo,
        f"{repo.stars:,}" if repo.stars is not None else "?",
        f"{repo.forks:,}" if repo.forks is not None else "?",
        f"{repo.pushed_at:%Y-%m-%d}" if repo.pushed_at else "?",
        repo.license or "no license",
        " · archived" if repo.archived else "",
        f" · renamed to {repo.moved_to}" if repo.moved_to else "",
        timesince(repo.fetched_at),
    )
    rows = format_html_join(
        "",
        '<li>{}: {} (now: {}; {}) <button type="submit" name="_github_accept" value="{}">Accept</button></li>',
        (
            (
                s.field.replace("_", " "),
                s.value,
                s.current if s.current not in (None, "") else "none",
                s.reason,
                s.field,
            )
            for s in entry_suggestions(entry)
        ),
    )
    return format_html("{}<ul>{}</ul>", facts, rows) if rows else facts


HISTORY_ROWS = 20
HISTORY_COLUMNS = ["checked (UTC)", "result", "status", "error", "redirects", "time", "detail"]


def link_history_table(entry):
    """The entry's latest link checks as a small table (read-only, newest first)."""
    if entry.pk is None:
        return "—"
    checks = list(entry.link_checks.order_by("-checked_at", "-id")[:HISTORY_ROWS])
    if not checks:
        return "Not checked yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
        (
            (
                f"{c.checked_at:%Y-%m-%d %H:%M}",
                c.result,
                c.status_code or "",
                c.error,
                c.redirects or "",
                c.elapsed_ms,
                c.detail or (c.final_url if c.final_url != c.url else ""),
            )
            for c in checks
        ),
    )
    head = format_html_join("", "<th>{}</th>", ((h,) for h in HISTORY_COLUMNS))
    return format_html("<table><tr>{}</tr>{}</table>", head, rows)


def link_health_summary(entry):
    """One line on the entry's change page: state, last check, redirect target, hand check."""
    health = getattr(entry, "link_health", None)
    if health is None or health.last_checked_at is None:
        return entry.get_link_state_display()
    parts = [
        f"{entry.get_link_state_display()}; last checked {health.last_checked_at:%Y-%m-%d %H:%M} UTC",
        f"({health.last_result}{' ' + str(health.last_status_code) if health.last_status_code else ''}"
        f"{' ' + health.last_error if health.last_error else ''})",
    ]
    if health.failures_in_row:
        parts.append(f"{health.failures_in_row} failures in a row since {health.failing_since:%Y-%m-%d}")
    if health.detail:
        parts.append(health.detail)
    if health.hand_checked_url and health.hand_checked_url == entry.url:
        parts.append("checked by hand, fine")
    text = " · ".join(parts)
    if health.redirect_target:
        return format_html('{} · moved to <a href="{}">{}</a>', text, health.redirect_target, health.redirect_target)
    return text


@admin.register(LinkCheckRun)
class LinkCheckRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "key", "started_at", "finished_at", "total"]
    readonly_fields = ["criteria", "key", "started_at", "finished_at", "total"]

    def has_add_permission(self, request):
        return False


@admin.register(GitHubRepo)
class GitHubRepoAdmin(admin.ModelAdmin):
    list_display = ["key", "stars", "pushed_at", "archived", "language", "license", "fetched_at", "moved_to", "missing"]
    list_filter = ["archived", "missing", "language"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in GitHubRepo._meta.fields]

    def has_add_permission(self, request):
        return False


class LogoUploadForm(forms.ModelForm):
    """A curator's own logo: an image file, checked like a fetched one (type, size)."""

    upload = forms.FileField(help_text="PNG, GIF, JPEG, WebP or ICO; shown 16-20 pixels wide.")

    class Meta:
        model = Logo
        fields = ["origin"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        data = upload.read(settings.LOGO_MAX_BYTES + 1)
        validate_image(data)
        self.image = data
        return upload


@admin.register(Logo)
class LogoAdmin(admin.ModelAdmin):
    """Logos: upload a curator's own (then choose it on an entry or a topic); fetched ones are read-only."""

    list_display = ["pk", "preview", "origin", "content_type", "size", "created_at"]
    search_fields = ["origin", "sources__key"]
    readonly_fields = ["preview", "content_type", "size", "digest", "created_at"]
    form = LogoUploadForm

    @admin.display(description="image")
    def preview(self, obj):
        return format_html('<img src="{}" width="20" height="20" alt="">', obj.get_absolute_url()) if obj.pk else "—"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    def get_fields(self, request, obj=None):
        return ["preview", "origin", "content_type", "size", "digest", "created_at"] if obj else ["upload", "origin"]

    def has_change_permission(self, request, obj=None):
        return False  # a logo's bytes never change: upload a new one

    def save_model(self, request, obj, form, change):
        origin = form.cleaned_data.get("origin") or f"uploaded by {request.user.get_username()}"
        stored = logo_store(data=form.image, origin=origin)
        obj.pk, obj.digest = stored.pk, stored.digest  # the admin's message and redirect name the stored row


@admin.register(LogoSource)
class LogoSourceAdmin(admin.ModelAdmin):
    list_display = ["key", "logo", "fetched_at", "error"]
    list_filter = ["error"]
    search_fields = ["key"]
    list_select_related = False
    readonly_fields = ["key", "url", "logo", "fetched_at", "error"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("logo").defer("logo__data")

    def has_add_permission(self, request):
        return False
