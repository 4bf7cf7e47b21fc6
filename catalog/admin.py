"""The curators' admin: every model, with list columns, filters and search;
and the moderators' queue of reader submissions."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from .duplicates import possible_duplicates
from .forms import ApproveForm, RejectForm
from .models import Dimension, Edition, Entry, Label, LabelGroup, Placement, Redirect, Section, Submission, Topic
from .services.redirects import topic_renamed
from .services.submissions import submission_approve, submission_reject


class PlacementInline(admin.TabularInline):
    model = Placement
    extra = 0
    autocomplete_fields = ["section", "entry"]


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Dimension)
class DimensionAdmin(admin.ModelAdmin):
    list_display = ["name", "edition", "position"]
    list_filter = ["edition"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "edition", "dimension", "position", "entry_count"]
    list_filter = ["edition", "dimension"]
    list_select_related = ["edition", "dimension"]
    search_fields = ["title", "slug", "context"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["dimension", "related"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_entry_counts()

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "slug" in form.changed_data:
            topic_renamed(topic=obj, old_slug=form.initial["slug"])  # the old address keeps working


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    list_display = ["old_path", "topic", "source", "created_at"]
    list_filter = ["source", "topic__edition"]
    list_select_related = ["topic__edition"]
    search_fields = ["old_path", "topic__title", "topic__slug"]
    autocomplete_fields = ["topic"]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["title", "topic", "parent", "position", "entry_count"]
    list_filter = ["topic__edition", "topic"]
    list_select_related = ["topic__edition", "parent"]
    search_fields = ["title", "slug", "topic__title"]
    autocomplete_fields = ["topic", "parent"]
    inlines = [PlacementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("placements"))

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count


@admin.register(LabelGroup)
class LabelGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "position", "entry_count"]
    list_filter = ["group"]
    list_editable = ["group", "position"]
    list_select_related = ["group"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("tagged_entries"))

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "year", "rating", "featured", "github_stars", "language", "label_list", "updated_at"]
    list_filter = ["featured", "rating", "language", "labels", "placements__section__topic__edition"]
    search_fields = ["title", "url", "description"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [PlacementInline]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).with_card_data()

    @admin.display(description="labels")
    def label_list(self, obj):
        return ", ".join(item.tag.name for item in obj.tagged_items.all())


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    list_display = ["entry", "section", "topic", "position"]
    list_filter = ["section__topic__edition", "section__topic"]
    list_select_related = ["entry", "section__topic__edition"]
    search_fields = ["entry__title", "entry__url", "section__title"]
    autocomplete_fields = ["section", "entry"]

    @admin.display(description="topic", ordering="section__topic__title")
    def topic(self, obj):
        return obj.section.topic


class SubmissionStatusFilter(admin.SimpleListFilter):
    """Status, pending by default: the queue is what waits for a decision."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Submission.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or Submission.Status.PENDING

    def queryset(self, request, queryset):
        return queryset if self.value() == self.ALL else queryset.filter(status=self.value())

    def choices(self, changelist):
        for value, title in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """The moderation queue: newest first; a submission's page is where it is decided."""

    list_display = ["title", "link_host", "target", "status", "duplicates", "submitter", "created_at"]
    list_filter = [SubmissionStatusFilter, ("topic", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "url", "description", "reason", "submitter_name", "submitter_email"]
    actions = ["approve_selected", "reject_selected"]
    list_per_page = 50
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # submissions come from readers, through /submit/

    def get_queryset(self, request):
        return super().get_queryset(request).for_queue()

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Moderation queue", **(extra_context or {})})

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        changelist.result_list = list(changelist.result_list)
        found = possible_duplicates([s for s in changelist.result_list if s.is_pending])
        for submission in changelist.result_list:
            submission.possible = found.get(submission.pk)
        return changelist

    @admin.display(description="site", ordering="url")
    def link_host(self, obj):
        return obj.host

    @admin.display(description="suggested place")
    def target(self, obj):
        if obj.section:
            return f"{obj.section.topic.title} › {obj.section.title}"
        return obj.topic.title if obj.topic else "—"

    @admin.display(description="submitter")
    def submitter(self, obj):
        return obj.submitter_name or obj.submitter_email or "anonymous"

    @admin.display(description="possible duplicates")
    def duplicates(self, obj):
        return duplicate_list(getattr(obj, "possible", None))

    # The change page is the decision page.
    def change_view(self, request, object_id, form_url="", extra_context=None):
        submission = self.get_object(request, unquote(object_id))
        if submission is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, submission):
            raise PermissionDenied
        can_decide = submission.is_pending and self.has_change_permission(request, submission)
        approve_form = ApproveForm(submission=submission)
        reject_form = RejectForm(prefix="reject")
        status = 200
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            if "_approve" in request.POST:
                approve_form = ApproveForm(request.POST, submission=submission)
                approval = approve_form.save(moderator=request.user) if approve_form.is_valid() else None
                if approval:
                    self.log_change(request, submission, "Approved")
                    self.message_user(request, approved_message(approval), messages.SUCCESS)
                    return self._next_in_queue(submission)
            elif "_reject" in request.POST:
                reject_form = RejectForm(request.POST, prefix="reject")
                if reject_form.is_valid() and reject_form.save(submission=submission, moderator=request.user):
                    self.log_change(request, submission, "Rejected")
                    self.message_user(request, f"Rejected “{submission.title}”.", messages.SUCCESS)
                    return self._next_in_queue(submission)
            status = 422
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Review: {submission.title}" if submission.is_pending else submission.title,
            "original": submission,
            "duplicates": possible_duplicates([submission])[submission.pk],
            "can_decide": can_decide,
            "approve_form": approve_form,
            "reject_form": reject_form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/catalog/submission/moderate.html", context, status=status)

    def _next_in_queue(self, submission):
        """On to the next pending submission down the queue, or back to the queue."""
        following = (
            Submission.objects.pending()
            .filter(created_at__lte=submission.created_at)
            .exclude(pk=submission.pk)
            .order_by("-created_at", "-id")
            .first()
        )
        if following is None:
            return HttpResponseRedirect(reverse("admin:catalog_submission_changelist"))
        return HttpResponseRedirect(reverse("admin:catalog_submission_change", args=[following.pk]))

    @admin.action(description="Approve the selected submissions in their suggested sections", permissions=["change"])
    def approve_selected(self, request, queryset):
        approved, refused = 0, []
        left_alone = queryset.exclude(status=Submission.Status.PENDING).count()
        for submission in queryset.filter(status=Submission.Status.PENDING):
            try:
                submission_approve(submission=submission, moderator=request.user)
            except ValidationError as exc:
                refused.append(f"“{submission.title}”: {' '.join(exc.messages)}")
            else:
                approved += 1
                self.log_change(request, submission, "Approved")
        if approved:
            self.message_user(
                request, f"Approved {approved} submission{'s' if approved != 1 else ''}.", messages.SUCCESS
            )
        if refused:
            self.message_user(
                request,
                f"{len(refused)} not approved (open them to choose a section): " + "; ".join(refused),
                messages.WARNING,
            )
        if left_alone:
            self.message_user(request, f"{left_alone} already decided, left as they were.", messages.INFO)

    @admin.action(description="Reject the selected submissions…", permissions=["change"])
    def reject_selected(self, request, queryset):
        pending = list(queryset.filter(status=Submission.Status.PENDING))
        form = RejectForm(request.POST if "apply" in request.POST else None, prefix="reject")
        if form.is_bound and form.is_valid():
            rejected = 0
            for submission in pending:
                try:
                    submission_reject(
                        submission=submission,
                        moderator=request.user,
                        reason=form.cleaned_data["rejection_reason"],
                        note=form.cleaned_data["rejection_note"],
                    )
                except ValidationError:
                    continue  # decided by someone else meanwhile
                rejected += 1
                self.log_change(request, submission, "Rejected")
            self.message_user(
                request, f"Rejected {rejected} submission{'s' if rejected != 1 else ''}.", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Reject submissions",
            "submissions": pending,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/catalog/submission/reject_selected.html", context, status=422 if form.is_bound else 200
        )


def duplicate_list(found):
    """The possible duplicates of a submission, as on its review page ("—" when none)."""
    if not found:
        return "—"
    return render_to_string("admin/catalog/submission/_duplicates.html", {"duplicates": found, "compact": True})


def approved_message(approval):
    section = approval.placement.section
    where = f"{section.topic.title} › {section.title}"
    if approval.entry_created:
        return f"Approved “{approval.entry.title}”: it is now listed in {where}."
    if approval.placement_created:
        return f"The link was already in the catalog as “{approval.entry.title}”; it is now also listed in {where}."
    return f"The link was already listed in {where} as “{approval.entry.title}”; the submission is approved."
