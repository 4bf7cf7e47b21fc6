"""The admin site of meshportal: the admin index shows what waits, and the curator
dashboard lists what needs attention, each count linking to its filtered list."""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse


class PathAutocomplete(AutocompleteJsonView):
    """The admin's autocomplete, with sections shown by their full path (edition ›
    topic › sections): SectionAdmin's search fields match any part of it."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        from .models import Section

        rows = context["object_list"]
        self.paths = (
            Section.objects.filter(pk__in=[s.pk for s in rows]).paths() if rows and isinstance(rows[0], Section) else {}
        )
        return context

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        if obj.pk in self.paths:
            result["text"] = self.paths[obj.pk]
        return result


class CuratorAdminSite(admin.AdminSite):
    site_header = "meshportal curation"
    site_title = "meshportal admin"
    index_template = "admin/catalog/index.html"

    def index(self, request, extra_context=None):
        from .curation import submissions_waiting

        context = {
            "waiting": submissions_waiting() if request.user.has_perm("catalog.view_submission") else None,
            "can_curate": request.user.has_perm("catalog.view_entry"),
            **(extra_context or {}),
        }
        return super().index(request, context)

    def autocomplete_view(self, request):
        return PathAutocomplete.as_view(admin_site=self)(request)

    def get_urls(self):
        return [path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard"), *super().get_urls()]

    def dashboard_view(self, request):
        """What needs attention: every count links to the list it counts."""
        from .curation import GAPS, empty_sections, gap_counts, submissions_waiting
        from .models import Entry

        if not request.user.has_perm("catalog.view_entry"):
            raise PermissionDenied
        entries = reverse("admin:catalog_entry_changelist")
        counts = gap_counts()
        rows = [(gap.title, counts[gap.key], f"{entries}?gap={gap.key}") for gap in GAPS]
        sections = (
            "sections with no entry and no subsection",
            empty_sections().count(),
            reverse("admin:catalog_section_changelist") + "?empty=yes",
        )
        context = {
            **self.each_context(request),
            "title": "What needs attention",
            "waiting": submissions_waiting(),
            "queue_url": reverse("admin:catalog_submission_changelist"),
            "rows": [*rows, sections],
            "total": Entry.objects.count(),
        }
        return TemplateResponse(request, "admin/catalog/dashboard.html", context)
