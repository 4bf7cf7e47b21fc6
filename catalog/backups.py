"""Backups of the whole database, and restoring one into an empty database.

- SQLite: SQLite's online backup API copies the database in one step while
  others go on writing (WAL mode: writers are never blocked), so the copy is
  one consistent moment. Never a file copy of a live database.
- PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore` in one
  transaction. Both need the PostgreSQL client programs of the server's version.
- JSON (`--format json`, and PostgreSQL's fallback when `pg_dump` is not
  installed): every row as gzipped Django JSON, with natural keys for content
  types and permissions (which `migrate` makes with ids of its own), read in one
  snapshot (PostgreSQL REPEATABLE READ, a SQLite read transaction). It restores
  into either database, after `migrate`.

`restore` writes only into a database that holds no catalog, submission or
user rows (a new one, after `migrate` or not): it never replaces data.
After a restore, `migrate` brings an older backup up to the current schema.
"""

import gzip
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.serializers import json as json_serializer
from django.db import connection, transaction

from .models import Edition, Entry, Submission, Topic


class BackupError(Exception):
    """A backup or restore that cannot be done; its message says why in one line."""


FORMATS = ("auto", "native", "json")
# What `dumpdata` leaves out: `migrate` makes these rows itself (natural keys refer
# to them), and the change log is the facet index's, rewritten by triggers on load.
JSON_EXCLUDED = ("contenttypes", "auth.permission", "catalog.catalogchange")
NATURAL_MODELS = (ContentType, Permission)
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
PG_DUMP_MAGIC = b"PGDMP"  # pg_dump's custom format


@dataclass
class Result:
    path: Path
    size: int
    seconds: float
    rows: dict  # table -> row count, of the backup (backup) or the restored database (restore)
    format: str = "native"

    def summary(self, done):
        """One line for a command's output: `done` is "Backup written: PATH" or "Restored"."""
        return (
            f"{done} ({self.size / 1e6:.1f} MB in {self.seconds:.1f} s, {self.format}; "
            f"{self.rows.get('catalog_entry', 0)} entries, {sum(self.rows.values())} rows in "
            f"{len(self.rows)} tables)."
        )


def vendor():
    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
    return connection.vendor


def choose_format(requested="auto"):
    """ "native" (SQLite's copy, pg_dump) or "json"; "auto" is native unless pg_dump is missing."""
    if requested not in FORMATS:
        raise BackupError(f"unknown backup format {requested!r}: choose one of {', '.join(FORMATS)}")
    kind = vendor()
    if requested == "auto":
        return "native" if kind == "sqlite" or shutil.which("pg_dump") else "json"
    if requested == "native" and kind == "postgresql":
        _pg_tool("pg_dump")
    return requested


def default_path(folder="backups", fmt="native"):
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    suffix = ".json.gz" if fmt == "json" else ".sqlite3" if vendor() == "sqlite" else ".dump"
    return Path(folder) / f"meshportal-{stamp}{suffix}"


def table_rows(cursor=None):
    """Rows per table of every installed model, through Django's connection (or `cursor`)."""
    tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)})
    own = cursor is None
    cursor = cursor or connection.cursor()
    try:
        existing = set(connection.introspection.table_names(cursor)) if own else None
        counts = {}
        for table in tables:
            if existing is not None and table not in existing:
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - model table names
            counts[table] = cursor.fetchone()[0]
        return counts
    finally:
        if own:
            cursor.close()


def _sqlite_rows(path):
    db = sqlite3.connect(path)
    try:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables = sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)} & names)
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
    finally:
        db.close()


def _pg_env():
    s = connection.settings_dict
    env = dict(os.environ)
    for key, name in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if s.get(name):
            env[key] = str(s[name])
    env["PGDATABASE"] = s["NAME"]
    return env


def _pg_tool(name):
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client (apt-get install postgresql-client)")
    return path


def _run(args, env):
    result = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603 - fixed program, our args
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{Path(args[0]).name} failed: {last}")


class _JsonSerializer(json_serializer.Serializer):
    """Django's JSON, with natural keys only where ids differ between databases: the
    content types and permissions that `migrate` makes itself. Every other relation
    keeps its id (one lookup per row at both ends would cost minutes at 15,000 entries)."""

    def _natural(self, field):
        return field.remote_field.model in NATURAL_MODELS

    def handle_fk_field(self, obj, field):
        self.use_natural_foreign_keys = self._natural(field)
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        self.use_natural_foreign_keys = self._natural(field)
        super().handle_m2m_field(obj, field)


def _json_excluded():
    """The models JSON_EXCLUDED names (an app label stands for all its models)."""
    return {
        model
        for name in JSON_EXCLUDED
        for model in ([apps.get_model(name)] if "." in name else apps.get_app_config(name).get_models())
    }


def _json_querysets(excluded):
    """Every row of every model the JSON backup holds, in dependency order, each
    queryset fetching its natural-key relations and many-to-many ids along."""
    app_list = [(config, None) for config in apps.get_app_configs()]  # None: every model of the app
    for model in serializers.sort_dependencies(app_list, allow_cycles=True):
        if model in excluded or model._meta.proxy or not model._meta.managed:
            continue
        natural = [
            f.name for f in model._meta.concrete_fields if f.is_relation and f.remote_field.model in NATURAL_MODELS
        ]
        many = [f.name for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created]
        queryset = model._base_manager.order_by(model._meta.pk.name).select_related(*natural)
        if many:
            queryset = queryset.prefetch_related(*many)
        yield queryset


def _json_backup(path):
    """Every row as gzipped JSON, read in one snapshot; the row counts of that snapshot."""
    tmp, excluded = path.with_name(path.name + ".partial"), _json_excluded()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            rows = table_rows(cursor)  # the first read: SQLite's snapshot begins here
        objects = (obj for queryset in _json_querysets(excluded) for obj in queryset.iterator(chunk_size=2000))
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            _JsonSerializer().serialize(objects, stream=out)
    tmp.rename(path)
    for model in excluded:
        rows.pop(model._meta.db_table, None)
    return rows


def backup(path, fmt="auto"):
    """Write a consistent copy of the whole database to `path` (not overwritten if it exists)."""
    kind = vendor()
    fmt = choose_format(fmt)
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already: choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if fmt == "json":
        rows = _json_backup(path)
    elif kind == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)  # pages=-1: the whole database in one step, one snapshot
        finally:
            target.close()
        rows = _sqlite_rows(path)
    else:
        tmp = path.with_name(path.name + ".partial")
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}"], _pg_env())
        tmp.rename(path)
        rows = table_rows()  # what the server had; the dump is one snapshot of it
    return Result(path, path.stat().st_size, time.monotonic() - started, rows, fmt)


def holds_data():
    """What makes this database not empty, or "" when it is empty (migrated or not)."""
    tables = set(connection.introspection.table_names())
    for model, what in ((Edition, "editions"), (Topic, "topics"), (Entry, "entries"), (Submission, "submissions")):
        if model._meta.db_table in tables and model.objects.exists():
            return what
    users = get_user_model()
    if users._meta.db_table in tables and users.objects.exists():
        return "users"
    return ""


def restore(path):
    """Load the backup at `path` into this empty database, then migrate it to the current schema."""
    kind = vendor()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    found = holds_data()
    if found:
        raise BackupError(
            f"the database {connection.settings_dict['NAME']} holds {found}: restore only into an empty "
            "database (create a new one, or drop this one after making sure you have its backup)"
        )
    with open(path, "rb") as f:
        head = f.read(16)
    started = time.monotonic()
    if head.startswith(GZIP_MAGIC):
        _json_restore(path)
        return Result(path, path.stat().st_size, time.monotonic() - started, table_rows(), "json")
    if kind == "sqlite":
        if head != SQLITE_MAGIC:
            raise BackupError(f"{path} is not a SQLite or JSON backup (a PostgreSQL dump restores into PostgreSQL)")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()
        connection.close()
    else:
        if head == SQLITE_MAGIC:
            raise BackupError(f"{path} is a SQLite backup: it restores into SQLite (or back up with --format json)")
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{path} is not a PostgreSQL or JSON backup written by `manage.py backup`")
        _run(
            [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
            + [f"--dbname={connection.settings_dict['NAME']}", str(path)],
            _pg_env(),
        )
    call_command("migrate", verbosity=0, interactive=False)
    return Result(path, path.stat().st_size, time.monotonic() - started, table_rows())


def _json_restore(path):
    """Schema first (`migrate` makes content types and permissions), then every row in one transaction."""
    call_command("migrate", verbosity=0, interactive=False)
    try:
        with tempfile.TemporaryDirectory() as folder, transaction.atomic():
            named = Path(folder) / "backup.json.gz"  # loaddata knows the format by the name
            named.symlink_to(path.resolve())
            call_command("loaddata", str(named), verbosity=0)
    except Exception as exc:  # loaddata's own errors: bad JSON, a model this schema lacks
        message = str(exc).strip().splitlines() or [type(exc).__name__]
        raise BackupError(f"{path} could not be loaded: {message[0]}") from exc
