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
        fields = ["title", "url", "year", "description", "github_stars", "language", "rating", "featured"]

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
