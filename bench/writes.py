"""The curator of the benchmarks: approves a new submission and edits an entry
(title, year, stars, a label), alternately, through the services and models as
the admin does. Used by bench/live.py (in a writer process) and
bench/catchup.py (in process)."""

import random
import secrets
import time


class Curator:
    def __init__(self, seed=8):
        from catalog.models import Entry, Label, Section
        from catalog.services.staff import staff_user_create

        self.rng = random.Random(seed)
        stamp = time.time_ns()
        self.moderator = staff_user_create(
            username=f"bench-curator-{stamp}", role="moderator", password=secrets.token_urlsafe(24)
        )
        self.sections = list(Section.objects.values_list("id", flat=True))
        # Labels of groups that take several (a single-choice group allows one an entry).
        self.labels = list(Label.objects.filter(group__single_choice=False, group__internal=False))
        self.top = Entry.objects.order_by("-id").values_list("id", flat=True).first()
        self.n = 0

    def write(self):
        """One save: odd ones approve a new link, even ones edit an entry. Returns its kind."""
        from django.db import transaction

        from catalog.models import Entry, Section
        from catalog.services.submissions import submission_approve, submission_create

        self.n += 1
        rng, n = self.rng, self.n
        if n % 2:
            section = Section.objects.get(pk=rng.choice(self.sections))
            submission = submission_create(
                url=f"https://live-bench.example/{time.time_ns()}",
                title=f"Live bench link {n}",
                section=section,
                labels=rng.sample(self.labels, min(2, len(self.labels))),
                description="Approved by the bench curator.",
            )
            submission_approve(submission=submission, moderator=self.moderator)
            return "approve"
        with transaction.atomic():
            entry = Entry.objects.get(pk=rng.randint(1, self.top))
            entry.title = f"{entry.title.split(' (edited')[0]} (edited {n})"
            entry.year = rng.randint(2012, 2026)
            entry.github_stars = rng.randint(0, 50000)
            entry.full_clean()
            entry.save()
            entry.labels.add(*rng.sample(self.labels, min(1, len(self.labels))))
        return "edit"


def run(every, until):
    """Save every `every` seconds until the time `until`; one JSON line a save."""
    import json

    curator = Curator()
    while time.time() + every < until:
        time.sleep(every - (time.time() % every))
        started = time.time()
        kind = curator.write()
        print(json.dumps({"at": time.time(), "kind": kind, "ms": (time.time() - started) * 1000}), flush=True)
