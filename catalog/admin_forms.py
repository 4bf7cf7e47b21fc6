"""The curators' forms in the admin: labels chosen per group, sections shown by
their full path. They validate; the admin saves through services."""

from django import forms
from django.core.exceptions import ValidationError

from .models import Entry, Label, LabelGroup, Section
from .services.labels import validate_label_set


def label_choice(label):
    return (label.pk, f"{label.name} — {label.description}" if label.description else label.name)


def label_group_fields(groups):
    """One form field per label group: a single choice (radio buttons with "none") for a
    single-choice group, checkboxes for the others; an unknown value is refused with
    the group's allowed names."""
    fields = {}
    for group in groups:
        labels = list(group.labels.all())
        allowed = ", ".join(label.name for label in labels) or "none yet (add them in the Label admin)"
        messages = {
            "invalid_choice": f"“%(value)s” is not a {group.name} label; the allowed values are: {allowed}.",
        }
        help_text = "Only curators see this group." if group.internal else ""
        if group.single_choice:
            field = forms.TypedChoiceField(
                label=group.name,
                choices=[("", "none"), *map(label_choice, labels)],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                error_messages=messages,
                help_text=(help_text + " One at most.").strip(),
            )
        else:
            field = forms.TypedMultipleChoiceField(
                label=group.name,
                choices=[label_choice(label) for label in labels],
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                error_messages=messages,
                help_text=help_text,
            )
        fields[f"labels_{group.slug}"] = field
    return fields


def label_groups():
    return list(LabelGroup.objects.prefetch_related("labels"))


class EntryAdminForm(forms.ModelForm):
    """An entry with its labels as one control per group; `chosen_labels` after cleaning."""

    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https")

    class Meta:
        model = Entry
        fields = ["title", "url", "year", "description", "github_stars", "language", "rating", "featured", "logo"]

    label_field_names = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            current = list(self.instance.labels.select_related("group"))
            for group_field in self.label_field_names:
                slug = group_field.removeprefix("labels_")
                ids = [label.pk for label in current if label.group and label.group.slug == slug]
                single = not isinstance(self.fields[group_field], forms.MultipleChoiceField)
                self.initial[group_field] = next(iter(ids), None) if single else ids

    def clean(self):
        cleaned = super().clean()
        ids = []
        for name in self.label_field_names:
            value = cleaned.get(name)
            ids.extend(value if isinstance(value, list) else [value] if value else [])
        self.chosen_labels = list(Label.objects.filter(pk__in=ids).select_related("group"))
        if self.instance.pk:
            # Labels without a group have no control: they stay as they are.
            self.chosen_labels += list(self.instance.labels.filter(group__isnull=True))
        try:
            validate_label_set(self.chosen_labels)
        except ValidationError as exc:
            self.add_error(None, exc.error_dict["labels"])
        return cleaned


def entry_admin_form():
    """An EntryAdminForm class with a field per label group as they are now."""
    fields = label_group_fields(label_groups())
    return type("EntryAdminForm", (EntryAdminForm,), {**fields, "label_field_names": tuple(fields)})


class SectionPathField(forms.ModelChoiceField):
    """A section shown as its full path: edition › topic › every section down to it."""

    def label_from_instance(self, obj):
        return Section.objects.filter(pk=obj.pk).paths().get(obj.pk, str(obj))


def section_path_choices(queryset=None):
    """[(id, full path)] of sections, sorted by path: for a select that works without JavaScript."""
    paths = (queryset if queryset is not None else Section.objects.all()).paths()
    return sorted(paths.items(), key=lambda item: item[1].casefold())


class SectionChoiceField(forms.TypedChoiceField):
    """A section chosen from its full path (a plain select; the ids are checked)."""

    def __init__(self, *, queryset=None, **kwargs):
        choices = section_path_choices(queryset)
        allowed = "; ".join(path for _, path in choices[:5]) + ("…" if len(choices) > 5 else "")
        kwargs.setdefault(
            "error_messages", {"invalid_choice": f"“%(value)s” is not one of the sections offered ({allowed})."}
        )
        super().__init__(choices=[("", "---------"), *choices], coerce=int, **kwargs)

    def clean(self, value):
        pk = super().clean(value)
        return Section.objects.get(pk=pk) if pk not in (None, "") else None


class BulkForm(forms.Form):
    """The parameters of one bulk operation; `params()` gives them to the service."""

    operation = ""
    title = ""
    needs_input = True  # False: nothing to choose, the first page is the confirmation

    def __init__(self, *args, entries=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = entries

    def params(self):
        return dict(self.cleaned_data)


def labels_field(**kwargs):
    labels = Label.objects.select_related("group").order_by("group__position", "position", "name")
    allowed = ", ".join(label.name for label in labels)
    return forms.ModelMultipleChoiceField(
        queryset=labels,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": f"“%(value)s” is not a label; the labels are: {allowed}."},
        **kwargs,
    )


class AddLabelsForm(BulkForm):
    operation, title = "add_labels", "Add labels"
    help_text = "Added to every selected entry that lacks them."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["labels"] = labels_field(help_text=self.help_text)

    def params(self):
        return {"labels": list(self.cleaned_data["labels"])}


class RemoveLabelsForm(AddLabelsForm):
    operation, title = "remove_labels", "Remove labels"
    help_text = "Removed from every selected entry that has them."


class SetChoiceForm(BulkForm):
    """A single-choice group's label, or none: "maturity:12" or "maturity:none"."""

    operation, title = "set_choice", "Set the maturity tier (or another single-choice label)"
    choice = forms.ChoiceField(widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = {g.slug: g for g in LabelGroup.objects.filter(single_choice=True).prefetch_related("labels")}
        choices = []
        for group in self.groups.values():
            options = [(f"{group.slug}:{label.pk}", label.name) for label in group.labels.all()]
            choices.append((group.name, [*options, (f"{group.slug}:none", f"no {group.name.lower()}")]))
        self.fields["choice"].choices = choices

    def params(self):
        slug, _, value = self.cleaned_data["choice"].partition(":")
        group = self.groups[slug]
        label = None if value == "none" else next(lb for lb in group.labels.all() if str(lb.pk) == value)
        return {"group": group, "label": label}


class FeaturedForm(BulkForm):
    operation, title, featured = "set_featured", "Mark as featured", True
    needs_input = False

    def params(self):
        return {"featured": self.featured}


class UnfeaturedForm(FeaturedForm):
    operation, title, featured = "set_featured", "Clear featured", False


class RatingForm(BulkForm):
    operation, title = "set_rating", "Set the rating"
    rating = forms.TypedChoiceField(
        choices=[(n, "★" * n + "☆" * (5 - n)) for n in range(5, 0, -1)] + [("", "no rating (clear)")],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    def clean(self):
        if "rating" not in self.data:
            self.add_error("rating", ValidationError("Choose a rating, or “no rating”.", code="required"))
        return self.cleaned_data


class PlaceForm(BulkForm):
    operation, title = "place", "Place into a section"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"] = SectionChoiceField(help_text="Every selected entry is listed there too.")


def placed_sections(entries):
    return Section.objects.filter(placements__entry__in=entries).distinct()


class UnplaceForm(BulkForm):
    operation, title = "unplace", "Remove from a section"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"] = SectionChoiceField(
            queryset=placed_sections(self.entries), help_text="Only sections the selected entries are in."
        )


class MoveForm(BulkForm):
    operation, title = "move", "Move from one section to another"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"] = SectionChoiceField(
            queryset=placed_sections(self.entries), label="From", help_text="Only sections the selected entries are in."
        )
        self.fields["target"] = SectionChoiceField(label="To")
