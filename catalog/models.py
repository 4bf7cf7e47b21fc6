"""The catalog: editions, their section trees, and the entries placed in them.

An edition (V2 Elite, V1 Historical Archive, ...) has its own tree:
dimension -> topic page -> nested sections. An entry is one URL with its
metadata, kept once; a Placement puts it in a section, so the same link can
stand in many sections and in every edition while being edited in one place.
Every catalog model has a natural key so fixtures load twice without
duplicates. A Submission is a reader's suggestion, private until approved.
"""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import Count, F, Func, Prefetch, Q, Value
from django.db.models.functions import Lower, Replace, StrIndex, Substr
from django.urls import reverse
from taggit.managers import TaggableManager
from taggit.models import ItemBase, TagBase

from .linkhealth import wayback
from .linkhealth.models import (  # noqa: F401
    GitHubRepo,
    LinkCheck,
    LinkCheckRun,
    LinkHealth,
    LinkState,
    Logo,
    LogoSource,
    logo_path,
)
from .tree import path_from_top
from .visibility import listed_entries, public_groups, public_labels, visible_entries

SAFE_URL_SCHEMES = ("http", "https")


# http(s)://, a plain host name or address and an optional port: a URL urlsplit() would
# accept as safe, told apart without it (a topic page checks hundreds).
PLAIN_SAFE_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]+)?(?:[/?#]|$)", re.I)


def is_safe_url(url):
    """True when `url` may be rendered as a link: http or https with a host."""
    if url and PLAIN_SAFE_URL.match(url):
        return True
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_URL_SCHEMES and bool(parts.netloc)


# scheme://[userinfo@][www.]HOST[:port][/?#...]; a regular expression, since the
# facet index derives the host of every entry at once (urlsplit costs 6x more).
URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?(?:www\.)?(\[[^\]/?#]*\]|[^/:?#]*)", re.I)


def url_host(url):
    """The host of `url` as readers name the site (the "source site" facet):
    lower case, without `www.`."""
    match = URL_HOST.match(url or "")
    return match.group(1).strip("[]").lower() if match else ""


def url_rest(field):
    """SQL: a URL without its scheme ("www.istio.io/docs/")."""
    return Substr(field, StrIndex(field, Value("://")) + 3)


# SQL: a URL's key for finding duplicates in bulk, without the scheme, "www." and trailing
# slashes, lower case; indexed (entry_url_key_idx). Coarser than catalog.urlnorm, which
# compares one link at a time in Python.
URL_KEY = Lower(
    Func(
        Replace(url_rest("url"), Value("www."), Value("")),
        Value("/"),
        function="RTRIM",
        output_field=models.CharField(),
    )
)


# A site's home page or its blog or news index, not a page about the subject (the
# dashboard's "bare home page"): a URL with no path, or one of these paths.
HOME_PATHS = ("/", "/blog", "/blog/", "/news", "/news/", "/posts", "/posts/", "/articles", "/articles/", "/en", "/en/")


class NaturalKeyQuerySet(models.QuerySet):
    """`get_by_natural_key()` for loaddata, from the model's `natural_key_lookups`."""

    def get_by_natural_key(self, *key):
        return self.get(**dict(zip(self.model.natural_key_lookups, key, strict=True)))


NaturalKeyManager = models.Manager.from_queryset(NaturalKeyQuerySet)


validate_http_url = URLValidator(
    schemes=list(SAFE_URL_SCHEMES),
    message="Enter an http:// or https:// URL.",
    code="unsafe_url",
)


def import_record_field():
    """What the last markdown import wrote to a row's import-owned fields.

    A field whose value still equals the record belongs to the import; one that
    differs was changed by a curator since (see `catalog.services.imports`).
    """
    return models.JSONField(default=dict, blank=True, editable=False, help_text="Values the last import wrote.")


class Edition(models.Model):
    """A curated edition of the catalog, e.g. "V2 Elite"; each has its own tree."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    tagline = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lowest first; the first edition is the default.")

    natural_key_lookups = ("slug",)
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Dimension(models.Model):
    """An area of an edition, e.g. "Networking & Service Mesh"."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="dimensions")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    natural_key_lookups = ("edition__slug", "slug")
    objects = NaturalKeyManager()

    class Meta:
        ordering = ["edition", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "slug"], name="dimension_unique_slug_per_edition"),
        ]

    def __str__(self):
        return f"{self.name} ({self.edition})"

    def natural_key(self):
        return (*self.edition.natural_key(), self.slug)

    natural_key.dependencies = ["catalog.edition"]


class TopicQuerySet(NaturalKeyQuerySet):
    def with_entry_counts(self, *, listed=False):
        """Annotate `entry_count`: distinct entries placed anywhere in the topic; with `listed`,
        only those a reader's lists show (published, link not dead), as the topic page does."""
        entry = "sections__placements__entry"
        return self.annotate(entry_count=Count(entry, distinct=True, filter=listed_entries(entry) if listed else None))


class Topic(models.Model):
    """A topic page of one edition, e.g. "Istio - Service Mesh" in V2 Elite.

    The same slug in another edition is the same subject there: the page's
    edition switch goes between them.
    """

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="topics")
    dimension = models.ForeignKey(Dimension, on_delete=models.PROTECT, related_name="topics")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    context = models.TextField(blank=True, help_text='The "Architectural Context" box.')
    related = models.ManyToManyField("self", symmetrical=False, blank=True, help_text="Explore related topics.")
    position = models.PositiveIntegerField(default=0)
    logo = models.ForeignKey(
        Logo, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Shown beside the title."
    )
    import_record = import_record_field()

    natural_key_lookups = ("edition__slug", "slug")
    objects = models.Manager.from_queryset(TopicQuerySet)()

    class Meta:
        ordering = ["edition", "dimension", "position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "slug"], name="topic_unique_slug_per_edition"),
        ]

    def __str__(self):
        return f"{self.title} ({self.edition})"

    def get_absolute_url(self):
        return reverse("catalog:topic_edition", kwargs={"slug": self.slug, "edition": self.edition.slug})

    @property
    def logo_src(self):
        return logo_path(self.logo_id) if self.logo_id else ""

    def clean(self):
        if self.dimension_id and self.edition_id and self.dimension.edition_id != self.edition_id:
            raise ValidationError(
                {
                    "dimension": ValidationError(
                        "The dimension must belong to the topic's edition.", code="edition_mismatch"
                    )
                }
            )

    def natural_key(self):
        return (*self.edition.natural_key(), self.slug)

    natural_key.dependencies = ["catalog.edition", "catalog.dimension"]


def refuse_cycle(obj, message):
    """ValidationError when `obj` is among the ancestors its `parent` chain leads to."""
    ancestor, seen = obj.parent, set()
    while ancestor is not None and ancestor.pk not in seen:
        if obj.pk is not None and ancestor.pk == obj.pk:
            raise ValidationError({"parent": ValidationError(message, code="cycle")})
        seen.add(ancestor.pk)
        ancestor = ancestor.parent


class SectionQuerySet(NaturalKeyQuerySet):
    def paths(self):
        """{section id: "V2 Elite › Istio - Service Mesh › Data Plane › API Gateway"}: edition,
        topic and every section from the top, so that same-named sections are told apart.
        Three queries, whatever the number of sections."""
        sections = {s.pk: s for s in self.select_related("topic__edition")}
        rows = Section.objects.filter(topic_id__in={s.topic_id for s in sections.values()}).values_list(
            "id", "parent_id", "title"
        )
        parents = {pk: parent for pk, parent, _ in rows}
        titles = {pk: title for pk, _, title in rows}
        paths = {}
        for pk, section in sections.items():
            topic = section.topic
            paths[pk] = " › ".join([topic.edition.name, topic.title, *(titles[i] for i in path_from_top(pk, parents))])
        return paths


class Section(models.Model):
    """A heading of a topic page; sections nest to any depth.

    `slug` is unique within the topic (it is the heading's anchor), made from
    the titles on the path from the top so a repeated title stays distinct.
    """

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="sections")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=255)
    position = models.PositiveIntegerField(default=0, help_text="Order among its siblings.")
    prose = models.TextField(
        blank=True,
        default="",
        help_text="The section's text above its links (intro, notes, tables, code), as markdown; "
        "shown as sanitised HTML.",
    )
    import_record = import_record_field()

    natural_key_lookups = ("topic__edition__slug", "topic__slug", "slug")
    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = ["topic", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "slug"], name="section_unique_slug_per_topic"),
        ]
        indexes = [models.Index(fields=["topic", "parent", "position"], name="section_tree_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"{self.topic.get_absolute_url()}#{self.slug}"

    def clean(self):
        if self.parent_id and self.parent.topic_id != self.topic_id:
            raise ValidationError(
                {"parent": ValidationError("The parent section must be on the same topic page.", code="topic_mismatch")}
            )
        refuse_cycle(self, "A section cannot be inside itself.")

    def natural_key(self):
        return (*self.topic.natural_key(), self.slug)

    natural_key.dependencies = ["catalog.topic"]


class LabelGroupQuerySet(NaturalKeyQuerySet):
    def public(self):
        """The groups readers may see (catalog.visibility)."""
        return self.filter(public_groups())


LabelGroupManager = models.Manager.from_queryset(LabelGroupQuerySet)


class LabelGroup(models.Model):
    """What kind of label: maturity tier, content kind, level, ..."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    single_choice = models.BooleanField(
        default=False, help_text="An entry has at most one label of this group (e.g. maturity tier)."
    )
    internal = models.BooleanField(
        default=False, help_text="For curators only: hidden from reader pages, facets and the submit form."
    )

    natural_key_lookups = ("slug",)
    objects = LabelGroupManager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


@functools.lru_cache(maxsize=1)
def entry_url_pattern():
    """An entry page's URL with `{}` for its id; reversed once, since a topic page links hundreds."""
    marker = 2_147_483_647
    return reverse("catalog:entry", kwargs={"pk": marker}).replace(str(marker), "{}")


@functools.lru_cache(maxsize=1024)
def label_url(slug):
    """A label page's URL; cached, since every entry card links its labels."""
    return reverse("catalog:label", kwargs={"slug": slug})


def github_flag(repo):
    """ "archived on GitHub" or "no push since <month>" when a fetched repository (None:
    none) looks abandoned, else ""."""
    if repo is None:
        return ""
    if repo.archived:
        return "archived on GitHub"
    from .linkhealth.github import is_inactive

    return f"no push since {repo.pushed_at:%B %Y}" if is_inactive(repo) else ""


def rating_stars(rating):
    """A rating as five stars, filled and empty ("" when unrated)."""
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def label_css_class(group_slug, slug):
    return f"label--{group_slug or 'other'} label--{slug}"


def label_tooltip(group_name, description):
    return f"{group_name or 'Label'}: {description}"


class LabelQuerySet(models.QuerySet):
    def get_by_natural_key(self, name):
        return self.get(name=name)

    def public(self):
        """The labels readers may see (catalog.visibility): none of an internal group."""
        return self.filter(public_labels())


class Label(TagBase):
    """A django-taggit tag that belongs to a group, e.g. GUIDE in "Content kind"."""

    group = models.ForeignKey(LabelGroup, on_delete=models.PROTECT, related_name="labels", null=True, blank=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order within its group.")

    objects = LabelQuerySet.as_manager()

    class Meta:
        ordering = ["group__position", "position", "name"]

    def get_absolute_url(self):
        return label_url(self.slug)

    @property
    def css_class(self):
        """The classes of its chip: its group's ("other" without one) and its own."""
        return label_css_class(self.group.slug if self.group else "", self.slug)

    @property
    def tooltip(self):
        """What its chip says on hover: the group and the label's description."""
        return label_tooltip(self.group.name if self.group else "", self.description)

    def natural_key(self):
        return (self.name,)

    natural_key.dependencies = ["catalog.labelgroup"]


class TaggedEntry(ItemBase):
    """The through table between entries and labels."""

    content_object = models.ForeignKey("Entry", on_delete=models.CASCADE, related_name="tagged_items")
    tag = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="tagged_entries")

    natural_key_lookups = ("content_object__url", "tag__name")
    objects = NaturalKeyManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["content_object", "tag"], name="tagged_entry_unique")]

    def natural_key(self):
        return (*self.content_object.natural_key(), *self.tag.natural_key())

    natural_key.dependencies = ["catalog.entry", "catalog.label"]


def labels_prefetch(path="tagged_items", *, public=False):
    """Prefetch an entry's labels with their groups, in display order; `public`: only
    those a reader may see (not of an internal group)."""
    queryset = TaggedEntry.objects.select_related("tag__group")
    if public:
        queryset = queryset.filter(public_labels("tag"))
    return Prefetch(path, queryset=queryset.order_by("tag__group__position", "tag__position", "tag__name"))


class EntryQuerySet(NaturalKeyQuerySet):
    def with_card_data(self):
        """Everything an entry card shows to a reader (no internal labels), in a constant number of queries."""
        return self.select_related("github_repo").prefetch_related(labels_prefetch(public=True))

    def with_url_shape(self):
        """Annotate `url_key` (URL_KEY: the key duplicates share) and `url_home` (true when
        the link is a bare home page: no path, or one of HOME_PATHS)."""
        return self.alias(
            link_rest=url_rest("url"),
            link_slash=StrIndex("link_rest", Value("/")),
            link_path=Substr("link_rest", F("link_slash")),
        ).annotate(url_key=URL_KEY, url_home=Q(link_slash=0) | Q(link_path__in=HOME_PATHS))

    def visible(self):
        """What readers may see at all: published entries (catalog.visibility)."""
        return self.filter(visible_entries())

    def listed(self):
        """What reader lists show by default: published entries whose link is not dead."""
        return self.filter(listed_entries())


class Entry(models.Model):
    """One link with its metadata, listed in any number of sections."""

    title = models.CharField(max_length=500)
    url = models.URLField(max_length=2000, unique=True, validators=[validate_http_url])
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1990), MaxValueValidator(2100)]
    )
    description = models.TextField(blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=50, blank=True, help_text="Main programming language of the project.")
    rating = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 to 5; empty is unrated.",
    )
    featured = models.BooleanField(default=False, help_text="A curator's pick (🌟).")
    published = models.BooleanField(default=True, help_text="Shown to readers; unpublished entries stay in the admin.")
    link_state = models.CharField(
        max_length=10, choices=LinkState.choices, default=LinkState.UNCHECKED, editable=False, db_index=True
    )
    github_repo = models.ForeignKey(
        "catalog.GitHubRepo", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="entries"
    )
    logo = models.ForeignKey(
        Logo,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="A curator's choice of image; the logo job never changes it. Empty: the site's icon, when fetched.",
    )
    site_logo = models.ForeignKey(
        Logo, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )  # set by the logo job (favicon of the host, or the GitHub owner's avatar)
    labels = TaggableManager(through=TaggedEntry, blank=True, related_name="entries")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    import_record = import_record_field()

    natural_key_lookups = ("url",)
    objects = models.Manager.from_queryset(EntryQuerySet)()

    class Meta:
        ordering = ["-year", "title"]
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="entry_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(url__istartswith="http://") | Q(url__istartswith="https://"), name="entry_url_http"
            ),
        ]
        indexes = [
            models.Index(fields=["year"], name="entry_year_idx"),
            models.Index(fields=["github_stars"], name="entry_stars_idx"),
            models.Index(fields=["rating"], name="entry_rating_idx"),
            models.Index(fields=["language"], name="entry_language_idx"),
            models.Index(URL_KEY, name="entry_url_key_idx"),
        ]

    def __str__(self):
        return self.title

    # A search page sets these to the title and description with the matches marked;
    # elsewhere the templates find None (a missing attribute costs the template engine a dir()).
    title_html = description_html = None

    def get_absolute_url(self):
        return entry_url_pattern().format(self.pk)

    @property
    def link_url(self):
        """The URL when it is safe to render as a link, else None (checked on output too)."""
        return self.url if is_safe_url(self.url) else None

    @property
    def github_fetched(self):
        """This entry's GitHub repository when its figures have been fetched (needs `with_card_data()`)."""
        repo = self.github_repo
        return repo if repo is not None and repo.fetched_at and repo.stars is not None else None

    @property
    def github_flag(self):
        return github_flag(self.github_fetched)

    @property
    def link_is_dead(self):
        return self.link_state == LinkState.DEAD

    # A list row tests these once instead of each badge and note (catalog/templatetags/entry_lists.py).
    @property
    def has_facts(self):
        """Whether a row shows a badge other than labels (`entry_lists.badges()`); needs `with_card_data()`."""
        facts = self.featured or self.github_stars is not None or self.language or self.rating
        return bool(facts or self.github_fetched)

    @property
    def has_badges(self):
        """Whether a row shows a badge or a label; needs `with_card_data()`."""
        return self.has_facts or bool(self.tagged_items.all())

    @property
    def has_link_note(self):
        """Whether a row shows a note about its link (`entry_lists.link_note()`)."""
        return bool(self.link_is_dead and self.archived_copy_url or self.archived_original)

    @property
    def archived_copy_url(self):
        """Where readers find an archived copy of this link (the Wayback Machine)."""
        return wayback.archived_copy_url(self.url) if self.link_url else None

    @property
    def archived_original(self):
        """The original URL when this entry links to an archived copy, else ""."""
        return wayback.original_of_archived(self.url)

    @property
    def rating_stars(self):
        return rating_stars(self.rating)

    @property
    def host(self):
        return url_host(self.url)

    @property
    def logo_src(self):
        """Our URL of the image shown beside the title: the curator's, else the site's; "" for none."""
        pk = self.logo_id or self.site_logo_id
        return logo_path(pk) if pk else ""

    @property
    def labels_shown(self):
        """Its public labels in display order (needs `with_card_data()`)."""
        return [item.tag for item in self.tagged_items.all()]

    def grouped_labels(self):
        """[(group, [labels])] in group order; needs `with_card_data()` to avoid queries."""
        groups = []
        for item in self.tagged_items.all():
            group = item.tag.group
            if groups and groups[-1][0] == group:
                groups[-1][1].append(item.tag)
            else:
                groups.append((group, [item.tag]))
        return groups

    def natural_key(self):
        return (self.url,)


class PlacementQuerySet(NaturalKeyQuerySet):
    def for_topic(self, topic, *, include_dead=False):
        """A topic page's placements of published entries with their card data, newest year first.

        Dead links are left out unless `include_dead` (a reader asked for them).
        """
        shown = visible_entries("entry") if include_dead else listed_entries("entry")
        placements = self.filter(shown, section__topic=topic)
        return (
            placements.select_related("entry__github_repo")
            .prefetch_related(labels_prefetch("entry__tagged_items", public=True))
            .order_by("section_id", models.F("entry__year").desc(nulls_last=True), "position", "id")
        )


class Placement(models.Model):
    """An entry listed in a section (a listing); at most once per section.

    The entry holds the shared facts (URL, year, stars, language, labels,
    rating); the words a page uses to list it are the listing's own: its
    title and description there (an empty description when the page gives
    none). NULL means the listing uses the entry's words (the seed's and
    hand-made listings). So each page keeps its wording, and importing one
    edition never changes another's text.
    """

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="placements")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="placements")
    position = models.PositiveIntegerField(default=0, help_text="Order among entries of the same year.")
    title = models.CharField(  # noqa: DJ001 - NULL (the entry's words) differs from "" here
        max_length=500, null=True, blank=True, help_text="This page's title for the link; empty: the entry's."
    )
    description = models.TextField(  # noqa: DJ001 - NULL (the entry's words) differs from "" (none on this page)
        null=True, blank=True, help_text="This page's description of the link; empty: the entry's."
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
        help_text="The listing of the same section this one is nested under.",
    )
    highlight = models.CharField(
        max_length=500, blank=True, default="", help_text="The words this page marks (==highlight==)."
    )
    note = models.TextField(
        blank=True, default="", help_text="Markdown nested under the link on this page (shown as sanitised HTML)."
    )
    import_record = import_record_field()

    natural_key_lookups = ("section__topic__edition__slug", "section__topic__slug", "section__slug", "entry__url")
    objects = models.Manager.from_queryset(PlacementQuerySet)()

    class Meta:
        ordering = ["section", "position"]
        constraints = [models.UniqueConstraint(fields=["section", "entry"], name="placement_once_per_section")]
        indexes = [models.Index(fields=["entry", "section"], name="placement_entry_idx")]

    def __str__(self):
        return f"{self.entry} in {self.section}"

    @property
    def shown_title(self):
        """The title this page shows: its own, or the entry's."""
        return self.entry.title if self.title is None else self.title

    @property
    def shown_description(self):
        return self.entry.description if self.description is None else self.description

    def clean(self):
        if self.parent_id and self.parent.section_id != self.section_id:
            raise ValidationError(
                {"parent": ValidationError("A listing nests only under a listing of its section.", code="section")}
            )
        refuse_cycle(self, "A listing cannot be inside itself.")

    def natural_key(self):
        return (*self.section.natural_key(), *self.entry.natural_key())

    natural_key.dependencies = ["catalog.section", "catalog.entry"]


class Redirect(models.Model):
    """An old address that answers a permanent redirect to a topic page.

    The target is the topic itself, not a path, so a redirect follows the
    topic through later renames. Made for every page address of the
    Nubenetes sites when the catalog is built, and for a topic's old address
    when a curator changes its slug.
    """

    class Source(models.TextChoices):
        NUBENETES = "nubenetes", "Nubenetes address"
        RENAMED = "renamed", "Renamed topic"
        CURATOR = "curator", "Added by a curator"

    old_path = models.CharField(
        max_length=500, unique=True, help_text="The old address, a path starting with /, e.g. /istio/."
    )
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="redirects")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CURATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["old_path"]
        constraints = [
            models.CheckConstraint(condition=Q(old_path__startswith="/"), name="redirect_old_path_absolute"),
        ]

    def __str__(self):
        return f"{self.old_path} → {self.topic}"

    def get_absolute_url(self):
        return self.topic.get_absolute_url()

    def clean(self):
        if self.old_path and self.topic_id and self.old_path == urlsplit(self.get_absolute_url()).path:
            raise ValidationError({"old_path": ValidationError("A redirect to itself.", code="redirect_loop")})


class CatalogState(models.Model):
    """One row whose `version` changes on every write to the catalog tables.

    Database triggers (migration 0002) set a new random version after any
    insert, update or delete, whoever writes: services, the admin, loaddata or
    a shell. Caches and the in-memory facet index are keyed by it, so a
    version seen once always means the same data.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.CharField(max_length=32)

    def __str__(self):
        return self.version


class CatalogChange(models.Model):
    """The change log the facet index catches up from: one row per changed
    entry (an entry row, its placements or its labels), written by database
    triggers (`catalog/dbsync.py`) in the writer's transaction.

    `id` is the log's sequence. `entry_id` is the entry that changed; NULL
    when a page, section, edition, dimension, label or label group changed;
    0 when a whole table was emptied (TRUNCATE). The triggers keep only the
    last `dbsync.CHANGE_LOG_KEPT` rows. `token`, random, tells a reader that
    the row it last saw is still the same row (not one of a restored backup
    or a rolled-back transaction that reused its id).
    """

    id = models.BigAutoField(primary_key=True)
    entry_id = models.BigIntegerField(null=True, blank=True)
    token = models.BigIntegerField()

    def __str__(self):
        return f"{self.id}: {self.entry_id}"


class SubmissionQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Submission.Status.PENDING)

    def for_queue(self):
        """What the moderation queue shows, in a constant number of queries."""
        return self.select_related("topic__edition", "section__topic", "entry", "moderator").prefetch_related(
            Prefetch("labels", queryset=Label.objects.select_related("group"))
        )


class Submission(models.Model):
    """A link suggested by a reader; private until a moderator approves it.

    Readers never see this table: an approved submission becomes an Entry and
    a Placement (see `catalog.services.submissions`), and only those are
    published. The submitter follows it through the unguessable `token`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class RejectionReason(models.TextChoices):
        OFF_TOPIC = "off_topic", "It is not about cloud-native engineering or the chosen topic."
        LOW_QUALITY = "low_quality", "It does not meet the catalog's quality bar."
        OUTDATED = "outdated", "It is outdated or no longer maintained."
        UNREACHABLE = "unreachable", "The link does not work."
        COMMERCIAL = "commercial", "It is advertising or mainly promotional."
        SPAM = "spam", "It looks like spam."
        OTHER = "other", "Another reason (see the note)."

    TITLE_MAX = 200
    DESCRIPTION_MAX = 500
    REASON_MAX = 1000
    NAME_MAX = 100
    NOTE_MAX = 1000

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    url = models.URLField(max_length=2000, validators=[validate_http_url])
    url_key = models.CharField(max_length=2000, help_text="The normalised URL that duplicates share.")
    title = models.CharField(max_length=TITLE_MAX)
    topic = models.ForeignKey(
        Topic,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
        help_text="Suggested topic.",
    )
    section = models.ForeignKey(
        Section,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
        help_text="Suggested section (on the suggested topic).",
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="submissions", help_text="Suggested labels.")
    description = models.TextField(blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX)])
    reason = models.TextField("why it belongs", blank=True, validators=[MaxLengthValidator(REASON_MAX)])
    submitter_name = models.CharField(max_length=NAME_MAX, blank=True)
    submitter_email = models.EmailField(blank=True, help_text="Only for telling the submitter the decision.")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entry = models.ForeignKey(
        Entry, on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions", help_text="When approved."
    )
    rejection_reason = models.CharField(max_length=20, choices=RejectionReason.choices, blank=True)
    rejection_note = models.TextField(blank=True, validators=[MaxLengthValidator(NOTE_MAX)])

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected"]), name="submission_status_known"
            ),
            models.CheckConstraint(
                condition=Q(url__istartswith="http://") | Q(url__istartswith="https://"), name="submission_url_http"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="submission_rejected_has_reason"
            ),
            # At most one pending suggestion per link, even when two arrive at once.
            models.UniqueConstraint(
                fields=["url_key"],
                condition=Q(status="pending"),
                name="submission_one_pending_per_url",
                violation_error_code="already_pending",
                violation_error_message="This link has already been suggested and is waiting for review.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="submission_queue_idx"),
            models.Index(fields=["url_key"], name="submission_url_key_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        """The submitter's private status page."""
        return reverse("catalog:submission_status", kwargs={"token": self.token})

    @property
    def link_url(self):
        return self.url if is_safe_url(self.url) else None

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING

    @property
    def host(self):
        return url_host(self.url)

    @property
    def rejection_text(self):
        """The reason a submitter reads: the canned reason and the moderator's note."""
        if not self.rejection_reason:
            return ""
        canned = "" if self.rejection_reason == self.RejectionReason.OTHER else self.get_rejection_reason_display()
        return " ".join(part for part in (canned, self.rejection_note.strip()) if part)

    def clean(self):
        if self.section_id and self.topic_id and self.section.topic_id != self.topic_id:
            raise ValidationError(
                {"section": ValidationError("The section must be on the suggested topic page.", code="topic_mismatch")}
            )


class ChangeQuerySet(models.QuerySet):
    def for_list(self):
        """What the recent-changes list shows, in a constant number of queries."""
        return self.select_related("entry", "user", "reverts")


class Change(models.Model):
    """One recorded change of an entry: its fields, labels and placements, old and new.

    Written only by `catalog.services.history` (the import, the admin, bulk
    actions, approvals, jobs all go through it). `values` maps each changed
    field to `[old, new]`; labels are lists of label names, placements lists
    of section ids. `entry` is kept as text too, so a deleted entry's history
    still reads.
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        CHANGED = "changed", "changed"
        DELETED = "deleted", "deleted"

    class Source(models.TextChoices):
        ADMIN = "admin", "admin form"
        BULK = "bulk", "bulk action"
        IMPORT = "import", "import"
        APPROVAL = "approval", "submission approval"
        REVERT = "revert", "revert"
        JOB = "job", "job"
        COMMAND = "command", "command"

    entry = models.ForeignKey(Entry, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    entry_title = models.CharField(max_length=500)
    entry_url = models.CharField(max_length=2000)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.CHANGED)
    values = models.JSONField(default=dict, help_text="{field: [old, new]}")
    at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    command = models.CharField(max_length=1000, blank=True, help_text="The command and its arguments, for jobs.")
    note = models.CharField(max_length=500, blank=True, help_text="What the change was, e.g. the bulk action.")
    reverts = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reverted_by", help_text="Undone here."
    )

    objects = ChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "change"
        verbose_name_plural = "recent changes"
        indexes = [
            models.Index(fields=["entry", "-at"], name="change_entry_idx"),
            models.Index(fields=["source", "-at"], name="change_source_idx"),
        ]

    def __str__(self):
        return f"{self.entry_title}: {self.action} {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor(self):
        """Who or what made the change, as the history shows it."""
        who = self.user.get_username() if self.user_id else ""
        return " · ".join(part for part in (who, self.command) if part) or self.get_source_display()
