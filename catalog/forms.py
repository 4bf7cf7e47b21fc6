"""Forms validate; their `save()` calls a service.

`SubmissionForm` is the public "Suggest a link" form; `ApproveForm` and
`RejectForm` are the moderators' decisions in the admin.
"""

import logging
import re
import secrets
import time
import unicodedata
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator

from . import tree
from .admin_forms import label_group_fields
from .duplicates import catalog_entries_for, pending_submission_for
from .models import Label, LabelGroup, Section, Submission, Topic
from .services.submissions import ALREADY_PENDING, MAX_LABELS, submission_approve, submission_create, submission_reject
from .spoofing import confusable_host, has_bidi_controls
from .urlnorm import InvalidURL, split_url

URL_MAX = 2000
STARTED_SALT = "catalog.submission-form.started"
# Refusals that a person cannot cause by mistake: they use up the rate limit.
BOT_CODES = ("honeypot", "too_fast", "form_tampered", "form_reused")

logger = logging.getLogger(__name__)

_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)
_MULTILINE_OK = "\n\r\t"
EM_SPACE = "\u2003"
_ID = re.compile(r"[1-9][0-9]{0,17}")  # an id that fits every database's 64-bit integer


def issue_started(at=None):
    """The signed time the form was handed out and a one-time number (a hidden field):
    the minimum fill time's clock, good for one suggestion."""
    return signing.dumps([time.time() if at is None else at, secrets.token_urlsafe(12)], salt=STARTED_SALT)


def _read_started(token):
    """(issued time, one-time number), or None when `token` is missing or was tampered with."""
    try:
        issued, nonce = signing.loads(token or "", salt=STARTED_SALT)
        return float(issued), str(nonce)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def seconds_since_started(token):
    """Seconds since `token` was issued, or None when it is missing or was tampered with."""
    started = _read_started(token)
    return None if started is None else time.time() - started[0]


def use_started(token):
    """Mark the form `token` as used; False when it was used before.

    The mark lives in the cache as long as the form is valid (shared by the
    workers with REDIS_URL). When the cache fails, the form goes through (and
    it is logged): the rate limit and moderation still stand.
    """
    nonce = _read_started(token)[1]
    try:
        return cache.add(f"submit-form-used:{nonce}", 1, timeout=settings.SUBMISSION_FORM_MAX_AGE + 60)
    except Exception:
        logger.exception("submission form: the cache failed; the one-time form check is skipped")
        return True


def refuse_control_characters(value, allowed=""):
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        what = "control characters" if allowed else "line breaks or control characters"
        raise ValidationError(f"This field cannot contain {what}.", code="control_characters")
    if has_bidi_controls(value):
        raise ValidationError(
            "This field cannot contain text-direction control characters (such as U+202E, "
            "right-to-left override): they make text display differently from what it says.",
            code="bidi_controls",
        )


class PlainTextField(forms.CharField):
    """Text stored as typed (and escaped whenever shown); no control characters."""

    def __init__(self, *, multiline=False, **kwargs):
        self.multiline = multiline
        if multiline:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if self.multiline else value

    def validate(self, value):
        super().validate(value)
        refuse_control_characters(value, _MULTILINE_OK if self.multiline else "")


def section_rows(sections):
    """Sections of one topic in page order, as (section, depth) with depth 0 at the top."""
    ids = {s.pk for s in sections}
    children = tree.children_of(sections, parent=lambda s: s.parent_id if s.parent_id in ids else None)
    return [(section, depth - 1) for depth, section in tree.depth_first(children)]


def _indent(title, depth):
    return EM_SPACE * depth + title


def grouped_section_choices():
    """Every section by its full path (edition › topic › sections), grouped by topic page in
    page order: for the moderators' select, where same-named sections must be told apart."""
    by_topic = {}
    for s in Section.objects.select_related("topic__edition").order_by(
        "topic__edition__position", "topic__title", "position", "id"
    ):
        by_topic.setdefault(s.topic, []).append(s)
    paths = Section.objects.all().paths()
    return [("", "---------")] + [
        (f"{topic.title} ({topic.edition.name})", [(s.pk, paths[s.pk]) for s, _ in section_rows(sections)])
        for topic, sections in by_topic.items()
    ]


def parse_target(value):
    """A target value, "t12" (topic 12) or "s34" (section 34), as (kind, id); None when neither."""
    match = re.fullmatch(rf"([ts])({_ID.pattern})", value or "")
    return (match.group(1), int(match.group(2))) if match else None


class LabelsField(forms.ModelMultipleChoiceField):
    """Labels by id; an id that no database integer can hold is refused before any query."""

    def _check_values(self, value):
        for pk in value:
            if not _ID.fullmatch(str(pk)):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class SectionField(forms.ModelChoiceField):
    """A section by id; an id that no database integer can hold is refused before any query."""

    def to_python(self, value):
        if value not in self.empty_values and not _ID.fullmatch(str(value)):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class TargetField(forms.ChoiceField):
    """A topic or one of its sections. Any well-formed value is let through here; the
    form looks it up, so a section of a topic that was not shown is still accepted."""

    def valid_value(self, value):
        return parse_target(value) is not None


class AccessibleFormMixin:
    """Ties each input to its help text and error (aria-describedby) and marks it invalid."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._describe_inputs()

    def full_clean(self):
        super().full_clean()
        self._describe_inputs()

    def _describe_inputs(self):
        errors = self._errors or {}
        for name, field in self.fields.items():
            auto_id = self[name].auto_id
            described = [f"{auto_id}_helptext"] if field.help_text else []
            if name in errors:
                field.widget.attrs["aria-invalid"] = "true"
                described.append(f"{auto_id}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)

    @property
    def error_summary(self):
        """[(field id or "", message)] for the summary at the top of the form."""
        items = [("", message) for message in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name != NON_FIELD_ERRORS:
                items.extend((self[name].auto_id, f"{self[name].label}: {message}") for message in errors)
        return items


class SubmissionForm(AccessibleFormMixin, forms.Form):
    """A reader suggests a link: validated here, stored by `submission_create`."""

    url = forms.CharField(
        label="Link",
        max_length=URL_MAX,
        help_text="The address of the page, starting with https:// or http://.",
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"}),
    )
    title = PlainTextField(
        label="Title", max_length=Submission.TITLE_MAX, help_text="The page's name, as it should be listed."
    )
    target = TargetField(
        label="Where does it belong?",
        required=False,
        help_text="A topic page or one of its sections. Not sure? The moderators will choose.",
    )
    labels = LabelsField(
        label="Labels",
        queryset=Label.objects.public().select_related("group"),
        required=False,
        help_text=f"Choose up to {MAX_LABELS}.",
    )
    description = PlainTextField(
        label="Short description",
        multiline=True,
        required=False,
        max_length=Submission.DESCRIPTION_MAX,
        help_text=f"What the reader will find there, in plain text (up to {Submission.DESCRIPTION_MAX} characters).",
    )
    reason = PlainTextField(
        label="Why it belongs in the catalog",
        multiline=True,
        max_length=Submission.REASON_MAX,
        help_text=f"For the moderators: what makes it worth a place (up to {Submission.REASON_MAX} characters).",
    )
    submitter_name = PlainTextField(
        label="Your name",
        required=False,
        max_length=Submission.NAME_MAX,
        help_text="Only the moderators see it.",
    )
    submitter_email = forms.EmailField(
        label="Your email",
        required=False,
        max_length=254,
        help_text="We write only to tell you the decision, and never show it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # Bots fill every field; people never see this one (hidden by CSS and from screen readers).
    website = forms.CharField(label="Leave this field empty", required=False, max_length=200)
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.catalog_entries = []
        self.fields["submitter_name"].widget.attrs["autocomplete"] = "name"
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        if not self.is_bound:
            self.initial["started"] = issue_started()
            if target:
                self.initial["target"] = target
        focus = self._focus_topic(self.data.get("target") if self.is_bound else target)
        self.fields["target"].choices = self._target_choices(focus)

    def _focus_topic(self, value):
        parsed = parse_target(value)
        if parsed is None:
            return None
        kind, pk = parsed
        if kind == "t":
            return Topic.objects.select_related("edition").filter(pk=pk).first()
        section = Section.objects.select_related("topic__edition").filter(pk=pk).first()
        return section.topic if section else None

    @staticmethod
    def _target_choices(focus):
        choices = [("", "Not sure: let the moderators choose")]
        if focus is not None:
            sections = section_rows(list(Section.objects.filter(topic=focus).order_by("position", "id")))
            choices.append(
                (
                    f"{focus.title} ({focus.edition.name})",
                    [(f"t{focus.pk}", f"{focus.title}: anywhere on the page")]
                    + [(f"s{s.pk}", _indent(s.title, d + 1)) for s, d in sections],
                )
            )
        groups = {}
        topics = Topic.objects.select_related("edition", "dimension").order_by(
            "edition__position", "dimension__position", "position", "title"
        )
        for topic in topics:
            if topic != focus:
                groups.setdefault(f"{topic.edition.name} · {topic.dimension.name}", []).append(
                    (f"t{topic.pk}", topic.title)
                )
        return choices + list(groups.items())

    def label_groups(self):
        """[(group name, [(label, checked)])] for the checkboxes, in group order."""
        chosen = {str(v) for v in (self["labels"].value() or [])}
        groups = {}
        for label in self.fields["labels"].queryset:
            groups.setdefault(label.group.name if label.group else "Other", []).append((label, str(label.pk) in chosen))
        return list(groups.items())

    def clean_url(self):
        url = self.cleaned_data["url"]
        if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
            raise ValidationError("A link cannot contain spaces or control characters.", code="invalid_url")
        if has_bidi_controls(url):
            raise ValidationError(
                "A link cannot contain text-direction control characters (such as U+202E).", code="bidi_controls"
            )
        if not _HAS_SCHEME.match(url):
            url = f"https://{url}"
        if url.split(":", 1)[0].lower() not in ("http", "https"):
            raise ValidationError("Only http:// and https:// links can be suggested.", code="unsafe_url")
        try:
            parts = urlsplit(url)
            has_credentials = parts.username is not None or parts.password is not None
            normalized = split_url(url)
        except (ValueError, InvalidURL) as exc:
            raise ValidationError("Enter a valid web address, like https://istio.io/.", code="invalid_url") from exc
        if has_credentials:
            raise ValidationError("A link cannot contain a user name or password.", code="credentials")
        lookalike = confusable_host(normalized.host_unicode)
        if lookalike:
            raise ValidationError(
                f"The address's name “{lookalike}” mixes alphabets or uses letters that look like Latin "
                "ones (for example a Cyrillic “а” for “a”), so it can pass for another site. Type the "
                "address in one alphabet; moderators can add a genuine site with such a name.",
                code="confusable_host",
            )
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError("Enter a valid web address, like https://istio.io/.", code="invalid_url") from exc
        if len(url) > URL_MAX or len(normalized.key) > URL_MAX:
            raise ValidationError(f"A link can have at most {URL_MAX} characters.", code="too_long")
        self.catalog_entries = catalog_entries_for(normalized)
        if self.catalog_entries:
            raise ValidationError("This link is already in the catalog.", code="in_catalog")
        if pending_submission_for(normalized.key):
            raise ValidationError(ALREADY_PENDING, code="already_pending")
        return url

    def clean_target(self):
        parsed = parse_target(self.cleaned_data["target"])
        if parsed is None:
            return None, None
        kind, pk = parsed
        if kind == "t":
            topic = Topic.objects.filter(pk=pk).first()
            section = None
        else:
            section = Section.objects.select_related("topic").filter(pk=pk).first()
            topic = section.topic if section else None
        if topic is None:
            raise ValidationError("Choose a topic or section from the list.", code="invalid_choice")
        return topic, section

    def clean_labels(self):
        labels = self.cleaned_data["labels"]
        if len(labels) > MAX_LABELS:
            raise ValidationError(f"Choose at most {MAX_LABELS} labels.", code="too_many_labels")
        return labels

    def clean(self):
        if self.cleaned_data.get("website"):
            raise ValidationError(
                "Your suggestion was not sent: a field that people leave empty was filled in "
                "(some autofill tools do that). Empty the “Leave this field empty” field, or "
                "turn the autofill tool off, and send it again.",
                code="honeypot",
            )
        elapsed = seconds_since_started(self.data.get("started"))
        if elapsed is None:
            raise ValidationError(
                "This form could not be checked. Please reload the page and send your suggestion again.",
                code="form_tampered",
            )
        if elapsed < settings.SUBMISSION_MIN_FILL_SECONDS:
            raise ValidationError(
                "That was quicker than a person can fill in the form. Please check your suggestion "
                "and send it again in a few seconds.",
                code="too_fast",
            )
        if elapsed > settings.SUBMISSION_FORM_MAX_AGE:
            # Hand out a fresh clock so the re-shown form can be sent.
            self.data = self.data.copy()
            self.data["started"] = issue_started()
            raise ValidationError(
                "This form was open for too long. Please check your suggestion and send it again.",
                code="form_expired",
            )
        return self.cleaned_data

    @property
    def refused_as_bot(self):
        return any(self.has_error(NON_FIELD_ERRORS, code) for code in BOT_CODES)

    def save(self):
        """Store the suggestion; None (with the errors added) when the service refuses it
        or this form (its one-time number) was sent before."""
        if not use_started(self.data.get("started")):
            self.add_error(
                None,
                ValidationError(
                    "This form was already sent. To suggest another link, open the form again.", code="form_reused"
                ),
            )
            return None
        topic, section = self.cleaned_data["target"]
        try:
            return submission_create(
                url=self.cleaned_data["url"],
                title=self.cleaned_data["title"],
                topic=topic,
                section=section,
                labels=self.cleaned_data["labels"],
                description=self.cleaned_data["description"],
                reason=self.cleaned_data["reason"],
                submitter_name=self.cleaned_data["submitter_name"],
                submitter_email=self.cleaned_data["submitter_email"],
            )
        except ValidationError as exc:
            self.add_error(None, exc)
            # The form's one-time number is spent: the re-shown form gets a new one, same clock.
            self.data = self.data.copy()
            self.data["started"] = issue_started(at=_read_started(self.data["started"])[0])
            return None


class ApproveForm(AccessibleFormMixin, forms.Form):
    """A moderator publishes a submission, optionally after editing and curating it:
    year, language, rating and a label of each single-choice group (maturity tier) may
    be set here; an entry approved without them shows on the curator dashboard."""

    title = PlainTextField(max_length=500)
    section = SectionField(
        queryset=Section.objects.all(), help_text="The section of a topic page that will list the link."
    )
    labels = LabelsField(
        queryset=Label.objects.select_related("group").exclude(group__single_choice=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = PlainTextField(multiline=True, required=False, max_length=2000)
    year = forms.IntegerField(required=False, min_value=1990, max_value=2100, help_text="Publication year.")
    language = PlainTextField(required=False, max_length=50, help_text="Main programming language, if a project.")
    rating = forms.TypedChoiceField(
        choices=[("", "not rated yet"), *((n, "★" * n + "☆" * (5 - n)) for n in range(5, 0, -1))],
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, submission, **kwargs):
        suggested = list(submission.labels.all())
        kwargs.setdefault(
            "initial",
            {
                "title": submission.title,
                "section": submission.section_id,
                "labels": [label.pk for label in suggested],
                "description": submission.description,
            },
        )
        super().__init__(*args, **kwargs)
        self.submission = submission
        self.fields["section"].choices = grouped_section_choices()
        self.fields["labels"].choices = [(label.pk, label.name) for label in self.fields["labels"].queryset]
        groups = LabelGroup.objects.filter(single_choice=True).prefetch_related("labels")
        self.choice_fields = label_group_fields(groups)
        for name, field in self.choice_fields.items():
            self.fields[name] = field
            field.initial = next((lb.pk for lb in suggested if f"labels_{lb.group.slug}" == name), None)

    def save(self, *, moderator):
        data = dict(self.cleaned_data)
        chosen = [data.pop(name) for name in self.choice_fields]
        data["labels"] = [*data["labels"], *Label.objects.filter(pk__in=[pk for pk in chosen if pk])]
        try:
            return submission_approve(submission=self.submission, moderator=moderator, **data)
        except ValidationError as exc:
            self.add_error(None, exc)
            return None


class RejectForm(AccessibleFormMixin, forms.Form):
    """A moderator declines one or more submissions with a reason the submitters read."""

    rejection_reason = forms.ChoiceField(
        label="Reason", choices=Submission.RejectionReason.choices, widget=forms.RadioSelect
    )
    rejection_note = PlainTextField(
        label="Note to the submitter",
        multiline=True,
        required=False,
        max_length=Submission.NOTE_MAX,
        help_text="Optional, unless the reason is “another reason”. The submitter reads it.",
    )

    def clean(self):
        if self.cleaned_data.get("rejection_reason") == Submission.RejectionReason.OTHER and not self.cleaned_data.get(
            "rejection_note"
        ):
            self.add_error("rejection_note", ValidationError("Explain the reason in a note.", code="note_required"))
        return self.cleaned_data

    def save(self, *, submission, moderator):
        try:
            return submission_reject(
                submission=submission,
                moderator=moderator,
                reason=self.cleaned_data["rejection_reason"],
                note=self.cleaned_data["rejection_note"],
            )
        except ValidationError as exc:
            self.add_error(None, exc)
            return None
