"""The curators' admin: every model, with list columns, filters and search."""

from django.contrib import admin
from django.db import models
from django.db.models import Count

from .models import Dimension, Edition, Entry, Label, LabelGroup, Placement, Section, Topic


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
