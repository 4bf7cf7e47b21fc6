"""The curators' admin: every model, with list columns, filters and search;
and the moderators' queue of reader submissions."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, models
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from taggit.models import Tag

from . import admin_forms
from .admin_forms import SectionPathField, entry_admin_form
from .curation import GAPS, GAPS_BY_KEY, empty_sections, gap_entries
from .duplicates import possible_duplicates
from .forms import ApproveForm, RejectForm
from .linkhealth.admin import LINK_ACTIONS, LinkHealthAdminMixin
from .models import (
    Change,
    Dimension,
    Edition,
    Entry,
    Label,
    LabelGroup,
    Placement,
    Redirect,
    Section,
    Submission,
    Topic,
    labels_prefetch,
)
from .services import history
from .services.curation import entries_bulk_edit, entries_bulk_preview
from .services.redirects import topic_renamed
from .services.structure import label_save, structure_delete
from .services.submissions import submission_approve, submission_reject


class PlacementInline(admin.TabularInline):
    model = Placement
    extra = 0
    # The listing a listing nests under: looked up as you type (a select would list them all).
    autocomplete_fields = ["section", "entry", "parent"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["form_class"] = SectionPathField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# taggit's own Tag model is unused (labels are catalog.Label): keep it out of the curators' way.
admin.site.unregister(Tag)


class SafeLookupsMixin:
    """A changelist URL with a lookup the database cannot compute (`?created_at__year=99999`,
    an overflowing number) gets the admin's "invalid filter" page, never a server error."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (ValueError, OverflowError, DataError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class HistoryMixin:
    """Admin writes of entries and placements recorded in the history, with old and new
    values: the entries are snapshotted before the save and compared after it."""

    def history_entry_ids(self, obj):
        return [obj.pk] if obj.pk else []

    def history_begin(self, request, entry_ids):
        request._history = history.Tracked(entry_ids)

    def history_end(self, request, *entry_ids, note=""):
        tracked = getattr(request, "_history", None)
        if tracked is None:
            return
        tracked.add(*entry_ids)
        actor = history.Actor.person(request.user, source=Change.Source.ADMIN, note=note)
        history.record(actor=actor, before=tracked.before, after=history.snapshots(tracked.ids))
        del request._history


class RecordedDeleteMixin:
    """Deleting a label, a section or anything above it (one, or many with the delete
    action) records, in the history, each entry that lost a label or a placement."""

    def deleted_names(self, objects):
        return [str(obj) for obj in objects]

    def _delete(self, request, objects):
        objects = list(objects)
        names = self.deleted_names(objects)
        what = self.model._meta.verbose_name if len(objects) == 1 else self.model._meta.verbose_name_plural
        note = f"Deleted {what}: {'; '.join(names)}"
        actor = history.Actor.person(request.user, source=Change.Source.ADMIN, note=note[:500])
        structure_delete(objects=objects, actor=actor)

    def delete_model(self, request, obj):
        self._delete(request, [obj])

    def delete_queryset(self, request, queryset):
        self._delete(request, queryset)


class GapFilter(admin.SimpleListFilter):
    """What needs attention (catalog.curation.GAPS): the dashboard's counts link here."""

    title = "needs attention"
    parameter_name = "gap"

    def lookups(self, request, model_admin):
        return [(gap.key, gap.title) for gap in GAPS]

    def queryset(self, request, queryset):
        return gap_entries(queryset, self.value()) if self.value() in GAPS_BY_KEY else queryset


class EmptySectionFilter(admin.SimpleListFilter):
    title = "empty"
    parameter_name = "empty"

    def lookups(self, request, model_admin):
        return [("yes", "no entry and no subsection")]

    def queryset(self, request, queryset):
        return queryset.filter(pk__in=empty_sections().values("pk")) if self.value() == "yes" else queryset


@admin.register(Edition)
class EditionAdmin(SafeLookupsMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Dimension)
class DimensionAdmin(SafeLookupsMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "edition", "position"]
    list_filter = ["edition"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Topic)
class TopicAdmin(SafeLookupsMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["title", "slug", "edition", "dimension", "position", "entry_count"]
    list_filter = ["edition", "dimension"]
    list_select_related = ["edition", "dimension"]
    search_fields = ["title", "slug", "context"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["dimension", "related", "logo"]

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
class SectionAdmin(SafeLookupsMixin, HistoryMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["title", "topic", "parent", "position", "entry_count"]
    list_filter = [EmptySectionFilter, "topic__edition", "topic"]
    list_select_related = ["topic__edition", "parent"]
    # Any part of a section's full path: edition › topic › ancestors › title.
    search_fields = [
        "title",
        "slug",
        "topic__title",
        "topic__edition__name",
        "parent__title",
        "parent__parent__title",
        "parent__parent__parent__title",
    ]
    autocomplete_fields = ["topic", "parent"]
    inlines = [PlacementInline]
    ordering = ["topic__edition__position", "topic__title", "position", "id"]  # explicit: counts are a GROUP BY

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("placements"))

    def deleted_names(self, objects):
        paths = Section.objects.filter(pk__in=[s.pk for s in objects]).paths()
        return [paths.get(s.pk, str(s)) for s in objects]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Placement:
            return super().save_formset(request, form, formset, change)
        before = [f.instance.entry_id for f in formset.forms if f.instance.pk]
        self.history_begin(request, before)
        super().save_formset(request, form, formset, change)
        self.history_end(request, *(p.entry_id for p in formset.new_objects), note=f"Section {form.instance.pk}")

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count


@admin.register(LabelGroup)
class LabelGroupAdmin(SafeLookupsMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position", "single_choice", "internal"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Label)
class LabelAdmin(SafeLookupsMixin, RecordedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "group", "position", "entry_count"]
    list_filter = ["group"]
    list_editable = ["group", "position"]
    list_select_related = ["group"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("tagged_entries"))

    def save_model(self, request, obj, form, change):
        if not (change and "name" in form.changed_data):
            return super().save_model(request, obj, form, change)
        note = f"Label renamed: {form.initial['name']} → {obj.name}"
        label_save(label=obj, actor=history.Actor.person(request.user, source=Change.Source.ADMIN, note=note[:500]))

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count


@admin.register(Entry)
class EntryAdmin(LinkHealthAdminMixin, SafeLookupsMixin, HistoryMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "title", "year", "rating", "featured", "github_stars", "language", "label_list", "link_state", "updated_at"
    ]  # fmt: skip
    list_filter = [
        GapFilter, "featured", "rating", "language", "labels", "placements__section__topic__edition", "link_state",
        "published",
    ]  # fmt: skip
    search_fields = ["title", "url", "description"]
    autocomplete_fields = ["logo"]
    readonly_fields = ["created_at", "updated_at", "link_health_text", "link_history", "github_text", "site_logo_text"]
    inlines = [PlacementInline]
    actions = [
        "add_labels",
        "remove_labels",
        "set_choice",
        "set_featured",
        "clear_featured",
        "set_rating",
        "place",
        "move",
        "unplace",
        *LINK_ACTIONS,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(labels_prefetch())

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = entry_admin_form()
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="labels")
    def label_list(self, obj):
        return ", ".join(item.tag.name for item in obj.tagged_items.all())

    # Bulk actions: choose (when there is something to choose), see what will change, confirm.
    def bulk_action(self, request, queryset, form_class, action):
        entries = list(queryset.order_by("title", "pk"))
        asked = "_preview" in request.POST or "_apply" in request.POST or not form_class.needs_input
        form = form_class(request.POST if asked else None, entries=entries)
        actor = history.Actor.person(request.user, source=Change.Source.BULK, note=form_class.title)
        preview, error, status = None, None, 200
        if asked and form.is_valid():
            try:
                if "_apply" in request.POST:
                    result = entries_bulk_edit(entries=entries, operation=form.operation, actor=actor, **form.params())
                    self.message_user(
                        request,
                        f"{form.title}: {result.changed} entr{'y' if result.changed == 1 else 'ies'} changed, "
                        f"{result.unchanged} already so. Recorded in the history.",
                        messages.SUCCESS,
                    )
                    return None
                preview = entries_bulk_preview(entries=entries, operation=form.operation, actor=actor, **form.params())
            except ValidationError as exc:
                error, status = " ".join(exc.messages), 422
        elif asked:
            status = 422
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{form.title}: {len(entries)} selected entr{'y' if len(entries) == 1 else 'ies'}",
            "form": form,
            "action": action,
            "entries": entries,
            "preview": preview,
            "rows": history.describe(preview.changes) if preview else [],
            "error": error,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/entry/bulk_confirm.html", context, status=status)

    @admin.action(description="Add labels…", permissions=["change"])
    def add_labels(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.AddLabelsForm, "add_labels")

    @admin.action(description="Remove labels…", permissions=["change"])
    def remove_labels(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.RemoveLabelsForm, "remove_labels")

    @admin.action(description="Set the maturity tier (or level)…", permissions=["change"])
    def set_choice(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.SetChoiceForm, "set_choice")

    @admin.action(description="Mark as featured…", permissions=["change"])
    def set_featured(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.FeaturedForm, "set_featured")

    @admin.action(description="Clear featured…", permissions=["change"])
    def clear_featured(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.UnfeaturedForm, "clear_featured")

    @admin.action(description="Set the rating…", permissions=["change"])
    def set_rating(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.RatingForm, "set_rating")

    @admin.action(description="Place into a section…", permissions=["change"])
    def place(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.PlaceForm, "place")

    @admin.action(description="Move from one section to another…", permissions=["change"])
    def move(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.MoveForm, "move")

    @admin.action(description="Remove from a section…", permissions=["change"])
    def unplace(self, request, queryset):
        return self.bulk_action(request, queryset, admin_forms.UnplaceForm, "unplace")

    # The form and its placements inline: one change in the history, with every value.
    def save_model(self, request, obj, form, change):
        self.history_begin(request, self.history_entry_ids(obj))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.labels.set(form.chosen_labels)
        self.history_end(request, form.instance.pk)

    def delete_model(self, request, obj):
        self.history_begin(request, [obj.pk])
        super().delete_model(request, obj)
        self.history_end(request)

    def delete_queryset(self, request, queryset):
        self.history_begin(request, list(queryset.values_list("pk", flat=True)))
        super().delete_queryset(request, queryset)
        self.history_end(request, note="Deleted from the list")

    def get_urls(self):
        revert = self.admin_site.admin_view(self.revert_view)
        return [
            path("<path:object_id>/history/<int:change_id>/revert/", revert, name="catalog_entry_revert"),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        """The entry's history: every recorded change with its old and new values."""
        entry = self.get_object(request, unquote(object_id))
        if entry is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, entry):
            raise PermissionDenied
        changes = list(Change.objects.for_list().filter(entry=entry))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"History: {entry}",
            "subtitle": None,
            "object": entry,
            "rows": history.describe(changes),
            "can_revert": self.has_change_permission(request, entry),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/catalog/entry/history.html", context)

    def revert_view(self, request, object_id, change_id):
        """Confirm, then undo one change with a new change."""
        entry = self.get_object(request, unquote(object_id))
        change = Change.objects.filter(pk=change_id, entry=entry).first() if entry else None
        if change is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, entry):
            raise PermissionDenied
        history_url = reverse("admin:catalog_entry_history", args=[entry.pk])
        error = None
        if request.method == "POST":
            try:
                history.revert(change=change, actor=history.Actor.person(request.user, source=Change.Source.REVERT))
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                self.message_user(request, f"Reverted the change of {change.at:%Y-%m-%d %H:%M}.", messages.SUCCESS)
                return HttpResponseRedirect(history_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revert this change?",
            "object": entry,
            "rows": history.describe([change]),
            "history_url": history_url,
            "error": error,
        }
        return TemplateResponse(request, "admin/catalog/entry/revert.html", context, status=422 if error else 200)


@admin.register(Placement)
class PlacementAdmin(SafeLookupsMixin, HistoryMixin, admin.ModelAdmin):
    list_display = ["entry", "section", "topic", "position"]
    list_filter = ["section__topic__edition", "section__topic"]
    list_select_related = ["entry", "section__topic__edition"]
    search_fields = ["entry__title", "entry__url", "section__title"]
    autocomplete_fields = ["section", "entry", "parent"]

    @admin.display(description="topic", ordering="section__topic__title")
    def topic(self, obj):
        return obj.section.topic

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["form_class"] = SectionPathField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        old = Placement.objects.filter(pk=obj.pk).values_list("entry_id", flat=True).first() if obj.pk else None
        self.history_begin(request, [pk for pk in (old, obj.entry_id) if pk])
        super().save_model(request, obj, form, change)
        self.history_end(request)

    def delete_model(self, request, obj):
        self.history_begin(request, [obj.entry_id])
        super().delete_model(request, obj)
        self.history_end(request)

    def delete_queryset(self, request, queryset):
        self.history_begin(request, list(queryset.values_list("entry_id", flat=True)))
        super().delete_queryset(request, queryset)
        self.history_end(request)


class ChangeTopicFilter(admin.SimpleListFilter):
    """Changes of entries placed on a topic page."""

    title = "topic"
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        return [(t.pk, str(t)) for t in Topic.objects.select_related("edition").order_by("edition", "title")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        entries = Placement.objects.filter(section__topic_id=int(self.value())).values("entry_id")
        return queryset.filter(entry_id__in=entries)


@admin.register(Change)
class ChangeAdmin(SafeLookupsMixin, admin.ModelAdmin):
    """Recent changes: every recorded change of every entry, newest first; read-only."""

    list_display = ["at", "entry_link", "action", "fields_changed", "actor_shown", "source", "note"]
    list_filter = ["source", ("user", admin.RelatedOnlyFieldListFilter), ChangeTopicFilter, "at", "action"]
    list_select_related = ["entry", "user"]
    search_fields = ["entry_title", "entry_url", "command", "note"]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Recent changes", **(extra_context or {})})

    @admin.display(description="entry", ordering="entry_title")
    def entry_link(self, obj):
        if obj.entry_id is None:
            return f"{obj.entry_title} (deleted)"
        url = reverse("admin:catalog_entry_history", args=[obj.entry_id])
        return format_html('<a href="{}">{}</a>', url, obj.entry_title)

    @admin.display(description="changed")
    def fields_changed(self, obj):
        return ", ".join(obj.values)

    @admin.display(description="by")
    def actor_shown(self, obj):
        return obj.actor


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
class SubmissionAdmin(SafeLookupsMixin, admin.ModelAdmin):
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

    @admin.action(description="Approve the selected submissions…", permissions=["change"])
    def approve_selected(self, request, queryset):
        """Approve in the suggested sections; for suggestions that named only a topic (or
        nothing), a page asks for the section of each first (or to leave it pending)."""
        pending = list(queryset.filter(status=Submission.Status.PENDING).select_related("section__topic__edition"))
        left_alone = queryset.exclude(status=Submission.Status.PENDING).count()
        unplaced = [s for s in pending if s.section_id is None]
        choices, errors = {}, {}
        if unplaced:
            all_paths = None
            for submission in unplaced:
                if submission.topic_id:
                    rows = Section.objects.filter(topic_id=submission.topic_id)
                    choices[submission.pk] = admin_forms.section_path_choices(rows)
                else:
                    all_paths = all_paths if all_paths is not None else admin_forms.section_path_choices()
                    choices[submission.pk] = all_paths
        chosen = {}
        if unplaced and "apply" in request.POST:
            for submission in unplaced:
                value = request.POST.get(f"section_{submission.pk}", "")
                allowed = {str(pk): pk for pk, _ in choices[submission.pk]}
                if value and value not in allowed:
                    errors[submission.pk] = f"“{value}” is not one of the sections offered for this suggestion."
                elif value:
                    chosen[submission.pk] = allowed[value]
        if unplaced and ("apply" not in request.POST or errors):
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Approve submissions",
                "rows": [
                    (s, choices.get(s.pk), errors.get(s.pk), request.POST.get(f"section_{s.pk}", "")) for s in pending
                ],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "left_alone": left_alone,
            }
            return TemplateResponse(
                request, "admin/catalog/submission/approve_selected.html", context, status=422 if errors else 200
            )
        sections = {s.pk: s for s in Section.objects.filter(pk__in=chosen.values())}
        approved, refused, kept = 0, [], 0
        for submission in pending:
            section = sections.get(chosen.get(submission.pk)) if submission.section_id is None else None
            if submission.section_id is None and section is None:
                kept += 1
                continue
            try:
                submission_approve(submission=submission, moderator=request.user, section=section)
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
            self.message_user(request, f"{len(refused)} not approved: " + "; ".join(refused), messages.WARNING)
        if kept:
            self.message_user(request, f"{kept} left pending (no section chosen).", messages.INFO)
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
