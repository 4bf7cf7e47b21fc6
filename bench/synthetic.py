"""A synthetic catalog of N entries with realistic distributions, for benchmarks.

Run it against a database of its own (it refuses one that already has entries,
and never runs without an explicit DATABASE_URL):

    DATABASE_URL=sqlite:////tmp/meshportal-bench/demo.sqlite3 \\
        .venv/bin/python bench/synthetic.py --entries 16000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meshportal_bench \\
        .venv/bin/python bench/synthetic.py --entries 16000

or import it once Django is set up: `from bench.synthetic import build; build(16000)`.
It migrates, loads the `base` fixture (editions, label groups, labels), then
bulk-inserts with a fixed seed, so the same N always gives the same catalog:

- 2 editions: v2 holds ~40% of the entries, v1 the rest, and ~15% of the URLs
  are placed in both (the same topic slug in each edition);
- 10 dimensions per edition, ~150 topics (90 in v1, 60 in v2 sharing v1's
  slugs), ~20 sections a topic nested 1-4 deep;
- 1-3 placements an entry; labels of the three groups with skewed frequencies;
  years 2010-2026 skewed to recent; GitHub stars (log-normal) and a language
  for the ~30% GitHub links; ratings for ~25% (mostly v2); featured ~8%;
  hosts from a Zipf pool; titles and descriptions from a Zipf vocabulary in
  which "istio" is one realistic word among many.

The database triggers (migration 0002) fire on every row: the FTS index (or
tsvector) and the data version are kept as any other write keeps them, so the
build time measured here is what a bulk import costs.
"""

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np

SEED = 20260518
GENERATOR_VERSION = 1  # bump when the distributions change: cached bench databases are rebuilt
BATCH = 5000

DIMENSIONS = [
    ("Networking & Service Mesh", 6.0),
    ("Observability", 3.0),
    ("Security & Compliance", 2.5),
    ("CI/CD & GitOps", 2.0),
    ("Kubernetes Core", 2.0),
    ("Storage & Data", 1.0),
    ("Serverless & Events", 1.0),
    ("Platform Engineering", 1.0),
    ("Cloud Providers", 1.0),
    ("AI & MLOps", 0.8),
]


def _words(text, sep=None):
    """A word list written as one string (comma- or space-separated)."""
    return [w.strip() for w in text.split(sep)]


SUBJECTS = _words(
    "Istio,Envoy,Kiali,Linkerd,Cilium,Consul,Jaeger,Prometheus,Grafana,OpenTelemetry,Argo CD,Flux,Tekton,Helm,"
    "Kustomize,Kyverno,OPA Gatekeeper,Falco,Vault,cert-manager,SPIFFE,Knative,Dapr,KEDA,Karpenter,Crossplane,"
    "Backstage,Velero,Rook,Longhorn,Kafka,NATS,Traefik,NGINX Ingress,Contour,Emissary,Kong,APISIX,Gateway API,"
    "eBPF,WebAssembly,Terraform,Pulumi,OpenShift,Rancher,K3s,EKS,GKE,AKS,Kubeflow",
    ",",
)
ASPECTS = ["Operations", "Patterns", "Tooling", "Security", "Performance"]
SECTION_TITLES = _words(
    "Introduction,Getting Started,Tutorials,Best Practices,Architecture,Security,Performance,Troubleshooting,"
    "Tools,Videos,Blogs,Case Studies,Releases,Installation,Configuration,Observability,Traffic Management,"
    "Multi-Cluster,Ambient Mode,Sidecars,Gateways,Policies,Certificates,Upgrades,Benchmarks,Comparisons,"
    "Workshops,Books,Podcasts,Operators,Plugins,Extensions,FAQ,Migration,Cost,Testing,Debugging,Internals",
    ",",
)

STOPWORDS = _words("the and for with to of in a on how your using from is at")
# Domain words in frequency order; specific product names sit further down, as
# in a real cloud-native corpus ("istio" near rank 95, "kiali" near 400).
DOMAIN = _words(
    "kubernetes service cloud native mesh security gateway observability traffic cluster deployment api "
    "microservices monitoring proxy containers network policy production guide tracing operator performance "
    "architecture platform scaling routing metrics logs helm introduction tutorial best practices deep dive "
    "multi tls authentication authorization zero trust canary rollout telemetry dashboard debugging "
    "troubleshooting migration upgrade release control plane data workload pod namespace ingress egress "
    "sidecar ambient envoy grpc http load balancing resilience retry timeout circuit breaker rate limiting "
    "certificates gitops ci cd pipeline terraform aws gke eks aks istio prometheus grafana opentelemetry "
    "jaeger linkerd cilium ebpf mtls wasm plugin filter xds virtual destination rule fault injection "
    "spiffe spire vault keycloak oauth jwt kafka redis postgres serverless knative dapr consul nginx traefik "
    "contour emissary kong apisix openshift rancher k3s kind minikube docker containerd cni csi storage backup "
    "velero crossplane backstage developer experience sre chaos litmus falco opa gatekeeper kyverno sigstore "
    "supply chain sbom scanning trivy compliance cost finops autoscaling keda karpenter hpa scheduler node "
    "federation edge iot ai llm inference gpu mlops kubeflow ray argo flux tekton kustomize pulumi"
)
SPECIFIC_RANKS = {"kiali": 400}
HOSTS = [
    "medium.com",
    "dev.to",
    "www.youtube.com",
    "thenewstack.io",
    "kubernetes.io",
    "istio.io",
    "www.cncf.io",
    "tetrate.io",
    "www.solo.io",
    "www.infoq.com",
    "www.redhat.com",
    "learnk8s.io",
    "blog.envoyproxy.io",
    "kiali.io",
    "aws.amazon.com",
    "cloud.google.com",
    "buoyant.io",
    "linkerd.io",
    "isovalent.com",
    "www.hashicorp.com",
]
LANGUAGES = [
    ("Go", 0.42),
    ("Python", 0.13),
    ("TypeScript", 0.09),
    ("Java", 0.07),
    ("Rust", 0.07),
    ("Shell", 0.06),
    ("HTML", 0.04),
    ("JavaScript", 0.04),
    ("C++", 0.03),
    ("Jupyter Notebook", 0.02),
    ("HCL", 0.015),
    ("Smarty", 0.005),
    ("Lua", 0.01),
]
MATURITY = [
    (None, 0.30),
    ("enterprise-stable", 0.32),
    ("emerging", 0.18),
    ("de-facto-standard", 0.12),
    ("legacy", 0.08),
]
KIND = [(None, 0.20), ("guide", 0.45), ("documentation", 0.20), ("community-tool", 0.15)]
ADVANCED = ("advanced-level", 0.15)


def _zipf(n, exponent=1.0, shift=2.7):
    """Zipf-Mandelbrot probabilities for ranks 1..n."""
    weights = 1.0 / (np.arange(1, n + 1) + shift) ** exponent
    return weights / weights.sum()


def _pseudo_words(rng, count, taken):
    """Pronounceable made-up words for the long tail of the vocabulary and hosts."""
    onsets = _words("b c d f g h k l m n p r s t v z br cl dr fl gr kr pl pr sk st tr")
    vowels = _words("a e i o u ai ea io ou")
    codas = ["", "", "n", "r", "s", "x", "l", "t", "nd", "rk"]
    words = []
    while len(words) < count:
        n = (1, 2, 2, 3)[int(rng.integers(4))]
        word = "".join(
            onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))] + codas[rng.integers(len(codas))]
            for _ in range(n)
        )
        if word not in taken and not word.startswith(("istio", "envoy", "kiali")):
            taken.add(word)
            words.append(word)
    return words


def vocabulary(rng, size=6000):
    """Words in rank order (the first the most frequent) and their probabilities."""
    taken = set(STOPWORDS) | set(DOMAIN)
    tail = _pseudo_words(rng, size - len(STOPWORDS) - len(DOMAIN), taken)
    words = STOPWORDS + [w for w in DOMAIN if w not in SPECIFIC_RANKS] + tail
    for word, rank in sorted(SPECIFIC_RANKS.items(), key=lambda kv: kv[1]):
        words.insert(rank - 1, word)
    return words, _zipf(len(words))


def _choice(rng, pairs, size):
    values = [v for v, _ in pairs]
    p = np.array([w for _, w in pairs], dtype=float)
    return [values[i] for i in rng.choice(len(values), size=size, p=p / p.sum())]


class Builder:
    """Generates and inserts one catalog; `run()` returns the summary."""

    def __init__(self, entries, *, seed=SEED, batch=BATCH, log=print, quiet_triggers=False):
        self.n, self.batch, self.log = entries, batch, log
        # PostgreSQL: the row triggers once per batch (one UPDATE) instead of once per row, whose
        # change-log pruning slows a 200,000-entry build to hours. The rows are the same.
        self.quiet_triggers = quiet_triggers
        self.rng = np.random.default_rng(seed)
        self.timings = {}

    def _timed(self, name, func):
        start = time.perf_counter()
        result = func()
        self.timings[name] = time.perf_counter() - start
        return result

    def run(self):
        from django.core.management import call_command

        from catalog.models import Entry

        started = time.perf_counter()
        self._timed("migrate", lambda: call_command("migrate", verbosity=0, interactive=False))
        if Entry.objects.exists():
            raise SystemExit("bench/synthetic.py: this database already has entries; give it an empty one.")
        self._timed("base fixture", lambda: call_command("loaddata", "base", verbosity=0))
        self._timed("tree", self.make_tree)
        self._timed("entries", self.make_entries)
        self._timed("analyze", self.analyze)
        self.timings["total"] = time.perf_counter() - started
        return self.summary()

    def analyze(self):
        """Planner statistics after a bulk load (handbook §3); SQLite also folds its WAL into the file."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- editions, dimensions, topics, sections ---------------------------------------------

    def make_tree(self):
        from django.db import transaction
        from django.utils.text import slugify

        from catalog.models import Dimension, Edition, Section, Topic

        rng = self.rng
        editions = {e.slug: e for e in Edition.objects.all()}
        self.editions = editions
        with transaction.atomic():
            dims = {}
            for slug in ("v2", "v1"):
                rows = [
                    Dimension(edition=editions[slug], name=name, slug=slugify(name), position=i)
                    for i, (name, _) in enumerate(DIMENSIONS)
                ]
                dims[slug] = Dimension.objects.bulk_create(rows)
            # 90 topic slugs in v1; v2 has 60 of them (the same subject in both editions).
            names = [*SUBJECTS, *(f"{s} {a}" for a in ASPECTS for s in SUBJECTS)][:90]
            dim_p = np.array([w for _, w in DIMENSIONS])
            dim_of = rng.choice(len(DIMENSIONS), size=len(names), p=dim_p / dim_p.sum())
            in_v2 = sorted(rng.choice(len(names), size=60, replace=False, p=_zipf(len(names), 0.6)))
            topic_rows = []
            for slug, chosen in (("v2", in_v2), ("v1", range(len(names)))):
                for pos, i in enumerate(chosen):
                    topic_rows.append(
                        Topic(
                            edition=editions[slug],
                            dimension=dims[slug][dim_of[i]],
                            title=names[i],
                            slug=slugify(names[i]),
                            position=pos,
                            context=f"Where {names[i]} fits in a cloud-native platform.",
                        )
                    )
            topics = Topic.objects.bulk_create(topic_rows)
            # ~20 sections a topic (8-32), 1-4 deep; created a level at a time for the parent ids.
            levels = [[], [], [], []]
            for topic in topics:
                count = int(rng.integers(8, 33))
                nodes, used = [], set()
                for k in range(count):
                    deeper = [i for i, (_, depth, _) in enumerate(nodes) if depth < 4]
                    if k == 0 or not deeper or rng.random() < 0.3:
                        parent, depth = None, 1
                    else:
                        parent = deeper[-1 - int(rng.integers(min(len(deeper), 5)))]
                        depth = nodes[parent][1] + 1
                    title = SECTION_TITLES[int(rng.integers(len(SECTION_TITLES)))]
                    slug, n = slugify(title), 2
                    while slug in used:
                        slug, n = f"{slugify(title)}-{n}", n + 1
                    used.add(slug)
                    section = Section(topic=topic, title=title, slug=slug, position=k)
                    nodes.append((section, depth, parent))
                    levels[depth - 1].append((section, None if parent is None else nodes[parent][0]))
            for level in levels:
                for section, parent in level:
                    section.parent_id = parent.pk if parent else None
                Section.objects.bulk_create([s for s, _ in level])
        self.topics = topics
        by_edition = {"v2": [], "v1": []}
        sections_of = {}
        for level in levels:
            for section, _ in level:
                sections_of.setdefault(section.topic_id, []).append(section.pk)
        for topic in topics:
            by_edition["v2" if topic.edition_id == editions["v2"].pk else "v1"].append(topic)
        self.topics_by_edition = by_edition
        self.sections_of = {tid: np.array(ids, dtype=np.int64) for tid, ids in sections_of.items()}
        v1_by_slug = {t.slug: t for t in by_edition["v1"]}
        self.v1_twin = {t.pk: v1_by_slug[t.slug] for t in by_edition["v2"]}
        self.log(
            f"tree: 2 editions, {2 * len(DIMENSIONS)} dimensions, {len(topics)} topics, "
            f"{sum(len(v) for v in self.sections_of.values())} sections"
        )

    # --- entries, placements, labels ----------------------------------------------------------

    def make_entries(self):
        from django.db import connection, transaction

        from catalog.models import Entry, Label, Placement, TaggedEntry

        rng, n = self.rng, self.n
        words, word_p = vocabulary(rng)
        words = np.array(words, dtype=object)
        owners = _pseudo_words(rng, 3000, set(words.tolist()))
        host_pool = HOSTS + [
            f"{w}.{('io', 'dev', 'com', 'net', 'org', 'blog')[i % 6]}"
            for i, w in enumerate(_pseudo_words(rng, 1500, set(owners) | set(words.tolist())))
        ]
        label_id = dict(Label.objects.values_list("slug", "id"))

        # Edition membership: both ~15%, v2 only ~25%, v1 only ~60%.
        membership = rng.choice(3, size=n, p=[0.15, 0.25, 0.60])  # 0 both, 1 v2, 2 v1
        in_v2 = membership < 2
        github = rng.random(n) < 0.30
        years = 2010 + rng.choice(17, size=n, p=_skew_recent())
        years = np.where(rng.random(n) < 0.03, 0, years)
        stars = np.clip(rng.lognormal(5.5, 1.9, size=n), 0, 250_000).astype(np.int64)
        languages = _choice(rng, LANGUAGES, n)
        rated = rng.random(n) < np.where(in_v2, 0.55, 0.06)
        ratings = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.03, 0.07, 0.20, 0.40, 0.30])
        featured = rng.random(n) < np.where(in_v2, 0.14, 0.04)
        hosts = rng.choice(len(host_pool), size=n, p=_zipf(len(host_pool), 1.1, 0.5))
        owner_idx = rng.choice(len(owners), size=n, p=_zipf(len(owners), 1.0, 1.0))
        title_len = rng.integers(3, 10, size=n)
        desc_len = np.where(rng.random(n) < 0.1, 0, rng.integers(8, 31, size=n))
        title_words = words[rng.choice(len(words), size=int(title_len.sum()), p=word_p)]
        desc_words = words[rng.choice(len(words), size=int(desc_len.sum()), p=word_p)]
        t_end, d_end = np.cumsum(title_len), np.cumsum(desc_len)
        labelled = np.where(in_v2, 1.0, 0.55)
        maturity = _choice(rng, MATURITY, n)
        kind = _choice(rng, KIND, n)
        second_kind = _choice(rng, KIND[1:], n)
        label_draw = rng.random((n, 4))
        n_place = 1 + (rng.random(n) > 0.70) + (rng.random(n) > 0.92)
        section_draw = rng.random((n, 3))

        v2_topics, v1_topics = self.topics_by_edition["v2"], self.topics_by_edition["v1"]
        v2_pick = rng.choice(len(v2_topics), size=(n, 3), p=_zipf(len(v2_topics), 0.9))
        v1_pick = rng.choice(len(v1_topics), size=(n, 3), p=_zipf(len(v1_topics), 0.9))
        next_position = {}
        started = time.perf_counter()
        self.shared = int((membership == 0).sum())
        for lo in range(0, n, self.batch):
            hi = min(n, lo + self.batch)
            rows = []
            for i in range(lo, hi):
                title_list = title_words[(t_end[i] - title_len[i]) : t_end[i]]
                title = " ".join(title_list).capitalize()
                slug = "-".join(title_list[:4])
                if desc_len[i]:
                    description = " ".join(desc_words[(d_end[i] - desc_len[i]) : d_end[i]]).capitalize() + "."
                else:
                    description = ""
                if github[i]:
                    url = f"https://github.com/{owners[owner_idx[i]]}/{slug}-{i:x}"
                else:
                    url = f"https://{host_pool[hosts[i]]}/{slug}-{i:x}"
                rows.append(
                    Entry(
                        title=title,
                        url=url,
                        year=int(years[i]) or None,
                        description=description,
                        github_stars=int(stars[i]) if github[i] else None,
                        language=languages[i] if github[i] else "",
                        rating=int(ratings[i]) if rated[i] else None,
                        featured=bool(featured[i]),
                    )
                )
            placements, tags = [], []
            with transaction.atomic():
                if self.quiet_triggers:
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = replica")
                Entry.objects.bulk_create(rows, batch_size=1000)
                for i, entry in zip(range(lo, hi), rows, strict=True):
                    topics = self._topics_for(i, membership[i], n_place[i], v2_pick[i], v1_pick[i])
                    chosen = set()
                    for k, topic in enumerate(topics):
                        sections = self.sections_of[topic.pk]
                        sid = int(sections[int(section_draw[i, k] * len(sections))])
                        if sid in chosen:
                            continue
                        chosen.add(sid)
                        position = next_position.get(sid, 0)
                        next_position[sid] = position + 1
                        placements.append(Placement(section_id=sid, entry_id=entry.pk, position=position))
                    if label_draw[i, 0] < labelled[i]:
                        slugs = {maturity[i], kind[i]}
                        if label_draw[i, 1] < 0.05:
                            slugs.add(second_kind[i])
                        if label_draw[i, 2] < ADVANCED[1]:
                            slugs.add(ADVANCED[0])
                        tags += [TaggedEntry(content_object_id=entry.pk, tag_id=label_id[s]) for s in slugs if s]
                Placement.objects.bulk_create(placements, batch_size=1000)
                TaggedEntry.objects.bulk_create(tags, batch_size=1000)
                if self.quiet_triggers:  # the triggers once for the batch: documents, version, change log
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = origin")
                        cursor.execute(
                            "UPDATE catalog_entry SET search_document = NULL WHERE id BETWEEN %s AND %s",
                            [rows[0].pk, rows[-1].pk],
                        )
            elapsed = time.perf_counter() - started
            self.log(f"entries {hi:,}/{n:,} ({100 * hi / n:.0f}%) {elapsed:.1f} s, {hi / elapsed:,.0f} entries/s")

    def _topics_for(self, i, membership, count, v2_pick, v1_pick):
        v2_topics, v1_topics = self.topics_by_edition["v2"], self.topics_by_edition["v1"]
        if membership == 0:  # a shared URL: the same subject in both editions, then anywhere
            first = v2_topics[v2_pick[0]]
            picks = [first, self.v1_twin[first.pk]]
            if count > 2:
                picks.append(v2_topics[v2_pick[2]] if v1_pick[2] % 2 else v1_topics[v1_pick[2]])
            return picks
        pool, pick = (v2_topics, v2_pick) if membership == 1 else (v1_topics, v1_pick)
        return [pool[pick[k]] for k in range(count)]

    # --- summary --------------------------------------------------------------------------

    def summary(self):
        from django.conf import settings
        from django.db.models import Count

        from catalog import search
        from catalog.models import (
            Dimension,
            Edition,
            Entry,
            Label,
            LabelGroup,
            Placement,
            Section,
            TaggedEntry,
            Topic,
        )

        counts = {
            model.__name__: model.objects.count()
            for model in (Edition, Dimension, Topic, Section, Entry, Placement, Label, LabelGroup, TaggedEntry)
        }
        both = (
            Placement.objects.values("entry_id")
            .annotate(n=Count("section__topic__edition", distinct=True))
            .filter(n__gt=1)
            .count()
        )
        istio = len(search.matching_ids("istio") or [])
        db = settings.DATABASES["default"]
        size = None
        if db["ENGINE"].endswith("sqlite3") and Path(db["NAME"]).exists():
            size = Path(db["NAME"]).stat().st_size
        return {
            "entries": self.n,
            "rows": counts,
            "shared_urls": both,
            "istio_matches": istio,
            "seconds": {k: round(v, 2) for k, v in self.timings.items()},
            "db_bytes": size,
            "vendor": db["ENGINE"].rsplit(".", 1)[-1],
        }


def _skew_recent():
    """Year weights 2010..2026, each year ~22% more than the one before; 2026 is half a year."""
    weights = 1.22 ** np.arange(17)
    weights[-1] *= 0.5
    return weights / weights.sum()


def build(entries, *, seed=SEED, batch=BATCH, log=print, quiet_triggers=False):
    """Build a catalog of `entries` entries in the configured (empty) database; returns the summary."""
    return Builder(entries, seed=seed, batch=batch, log=log, quiet_triggers=quiet_triggers).run()


def print_summary(summary, log=print):
    rows = summary["rows"]
    n = summary["entries"]
    log(f"summary ({summary['vendor']}, {n:,} entries):")
    log("  rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    log(
        f"  shared URLs (in both editions): {summary['shared_urls']:,} ({100 * summary['shared_urls'] / n:.1f}%);"
        f" 'istio' matches {summary['istio_matches']:,} ({100 * summary['istio_matches'] / n:.1f}%)"
    )
    log("  seconds: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items()))
    if summary["db_bytes"]:
        log(f"  database file: {summary['db_bytes'] / 2**20:.0f} MiB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file")
    parser.add_argument(
        "--quiet-triggers", action="store_true", help="PostgreSQL: fire the triggers once a batch, not once a row"
    )
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("Set DATABASE_URL to a database of its own (never the development db.sqlite3).")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
    # Production settings (DEBUG off, so no query log) with a throwaway key: nothing is served.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    summary = build(args.entries, seed=args.seed, batch=args.batch, quiet_triggers=args.quiet_triggers)
    print_summary(summary)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
