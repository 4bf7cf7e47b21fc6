"""The rules every write of an entry's labels follows.

Labels are chosen, never typed into existence: the forms offer the labels
that exist (an unknown value is refused naming the allowed ones), and every
path checks the final set with `validate_label_set()`: at most one label of a
single-choice group (maturity tier, level). New labels are made only in the
Label admin (and by the markdown import, in its "Imported labels" group, as
documented there).
"""

from django.core.exceptions import ValidationError


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
