"""The rules every write of an entry's labels follows.

Labels are chosen, never typed into existence: a write path that receives
label names looks them up with `labels_named()` (an unknown name is an error
that lists the allowed ones), and every path checks the final set with
`validate_label_set()`: at most one label of a single-choice group (maturity
tier, level). New labels are made only in the Label admin (and by the markdown
import, in its "Imported labels" group, as documented there).
"""

from django.core.exceptions import ValidationError

from ..models import Label


def validate_label_set(labels):
    """Refuse a set of labels holding two of one single-choice group (code `single_choice`)."""
    chosen = {}
    for label in labels:
        if label.group_id and label.group.single_choice:
            chosen.setdefault(label.group, []).append(label.name)
    errors = [
        ValidationError(
            "An entry has at most one %(group)s label; choose one of %(chosen)s.",
            code="single_choice",
            params={"group": group.name, "chosen": ", ".join(sorted(names))},
        )
        for group, names in chosen.items()
        if len(names) > 1
    ]
    if errors:
        raise ValidationError({"labels": errors})


def allowed_names(queryset=None):
    return ", ".join(label.name for label in (queryset or Label.objects.all()))


def labels_named(names, *, queryset=None):
    """The labels with these names, in the order given; an unknown name is refused
    with the allowed names (code `unknown_label`)."""
    queryset = queryset if queryset is not None else Label.objects.select_related("group")
    names = [name.strip() for name in names if name.strip()]
    found = {label.name.casefold(): label for label in queryset.filter(name__in=names)}
    if any(name.casefold() not in found for name in names):
        found = {label.name.casefold(): label for label in queryset}  # typed by people: ignore case
    unknown = [name for name in names if name.casefold() not in found]
    if unknown:
        raise ValidationError(
            {
                "labels": ValidationError(
                    "Unknown label %(unknown)s; the labels are: %(allowed)s.",
                    code="unknown_label",
                    params={"unknown": ", ".join(unknown), "allowed": allowed_names(queryset)},
                )
            }
        )
    return list(dict.fromkeys(found[name.casefold()] for name in names))
