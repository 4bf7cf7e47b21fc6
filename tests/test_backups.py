"""`manage.py backup` and `manage.py restore` on the database the tests run on
(SQLite, or PostgreSQL with DATABASE_URL), each in databases of their own."""

import gzip
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection

WRITER = """
import os, time
from catalog.models import Entry
stop, n = time.monotonic() + float(os.environ["WRITER_SECONDS"]), 0
while time.monotonic() < stop:
    Entry.objects.create(url=f"https://writer.example/{n}", title=f"Written {n}", year=2024)
    if n % 5 == 0:
        Entry.objects.filter(url=f"https://writer.example/{n // 2}").update(title=f"Edited {n}")
    n += 1
print(n)
"""
ROWS = "import json; from catalog.backups import table_rows; print(json.dumps(table_rows()))"


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_ALLOW_ASYNC"))}
    env["MESHPORTAL_ENV_FILE"] = "/nonexistent/.env"
    return env


def manage(url, *args, check=True, timeout=300, env=None):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**base_env(), "DATABASE_URL": url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def rows(url):
    return json.loads(manage(url, "shell", "-c", ROWS).stdout.strip().splitlines()[-1])


@pytest.fixture
def databases(tmp_path):
    """(source URL, empty target URL) of the kind the tests run on."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'source.sqlite3'}", f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    stem = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    yield from pg_pair(os.environ["DATABASE_URL"], [f"{stem}_backup_source", f"{stem}_backup_restored"])


def pg_pair(url, names):
    """New PostgreSQL databases `names` on `url`'s server, as URLs; dropped afterwards."""
    admin = urlsplit(url)._replace(path="/postgres").geturl()

    def recreate(create):
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as pg:
            for name in names:
                pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if create:
                    pg.execute(f'CREATE DATABASE "{name}"')

    try:
        recreate(True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL does not answer at {admin}: {exc}")
    yield tuple(urlsplit(admin)._replace(path=f"/{name}").geturl() for name in names)
    recreate(False)


def seeded(url):
    manage(url, "migrate", "--noinput", "--verbosity", "0")
    manage(url, "loaddata", "base", "istio", "--verbosity", "0")


FORMATS = pytest.mark.parametrize("fmt", ["native", "json"])


def entries_of(url):
    script = "from catalog.models import Entry; print(sorted(Entry.objects.values_list('id', 'url', 'title', 'year')))"
    return manage(url, "shell", "-c", script).stdout


@FORMATS
def test_restore_reproduces_every_row_of_every_table(databases, tmp_path, fmt):
    source, target = databases
    seeded(source)
    manage(source, "createsuperuser", "--noinput", "--username", "curator", "--email", "c@example.org")
    path = tmp_path / "nightly.backup"
    out = manage(source, "backup", str(path), f"--format={fmt}").stdout
    assert out.startswith("Backing up the ") and f"Backup written: {path} (" in out and f", {fmt};" in out
    before = rows(source)
    assert before["catalog_entry"] > 20 and before["auth_user"] == 1
    out = manage(target, "restore", str(path)).stdout
    assert out.splitlines()[-1].startswith("Restored (") and f", {fmt};" in out
    restored = rows(target)
    # The facet index's change log (written by triggers) gains the marks of the
    # migrate that follows a restore; every other table is the backup's, row for row.
    log = "catalog_catalogchange"
    assert restored.pop(log) >= before.pop(log)
    assert restored == before
    assert entries_of(target) == entries_of(source)


@FORMATS
def test_a_backup_taken_while_a_curator_writes_is_one_consistent_moment(databases, tmp_path, fmt):
    source, target = databases
    seeded(source)
    start = rows(source)["catalog_entry"]
    writer = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", WRITER],
        cwd=settings.BASE_DIR,
        env={**base_env(), "DATABASE_URL": source, "WRITER_SECONDS": "6"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # the writer is well under way
        path = tmp_path / "during-writes.backup"
        manage(source, "backup", str(path), f"--format={fmt}")
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    written = int(out.strip().splitlines()[-1])
    assert written > 0
    manage(target, "restore", str(path))
    restored = rows(target)
    # Some of the writes, none half-done: entries written before the backup, every row whole.
    assert start <= restored["catalog_entry"] <= start + written
    check = (
        "from catalog.models import Entry, CatalogState; "
        "ids = [u.split('/')[-1] for u in Entry.objects.filter(url__startswith='https://writer.example/')"
        ".values_list('url', flat=True)]; n = len(ids); "
        "print(sorted(map(int, ids)) == list(range(n)), CatalogState.objects.count())"
    )
    assert manage(target, "shell", "-c", check).stdout.strip().splitlines()[-1] == "True 1"


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(databases, tmp_path):
    source, _ = databases
    seeded(source)
    path = tmp_path / "b.backup"
    manage(source, "backup", str(path))
    manage(source, "shell", "-c", "from catalog.models import Entry; Entry.objects.filter(pk__lte=3).delete()")
    before = rows(source)
    result = manage(source, "restore", str(path), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("CommandError: the database") and "holds editions" in result.stderr
    assert "Traceback" not in result.stderr
    assert rows(source) == before


def test_backup_never_overwrites_a_file(databases, tmp_path):
    source, _ = databases
    seeded(source)
    path = tmp_path / "exists.backup"
    path.write_bytes(b"yesterday's backup")
    result = manage(source, "backup", str(path), check=False)
    assert result.returncode == 1 and "exists already" in result.stderr
    assert path.read_bytes() == b"yesterday's backup"


def test_a_folder_gets_a_dated_backup(databases, tmp_path):
    source, _ = databases
    seeded(source)
    folder = tmp_path / "nightly"
    folder.mkdir()
    out = manage(source, "backup", str(folder)).stdout
    [written] = list(folder.iterdir())
    assert written.name.startswith("meshportal-") and written.suffix in (".sqlite3", ".dump")
    assert "natively" in out
    assert f"Backup written: {written}" in out


PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_databases():
    """(source URL, empty target URL) on PostgreSQL whichever database the suite runs on."""
    url = os.environ["DATABASE_URL"] if connection.vendor == "postgresql" else PG_DEFAULT
    yield from pg_pair(url, [f"meshportal_backup_{os.getpid()}_{role}" for role in ("source", "target")])


def manage_without_pg_tools(url, tmp_path, *args):
    no_tools = tmp_path / "bin"
    no_tools.mkdir(exist_ok=True)  # a PATH without pg_dump or pg_restore
    return manage(url, *args, env={"PATH": str(no_tools)}).stdout


def test_postgresql_without_pg_dump_falls_back_to_json_and_restores(pg_databases, tmp_path):
    source, target = pg_databases
    seeded(source)
    folder = tmp_path / "nightly"
    folder.mkdir()
    out = manage_without_pg_tools(source, tmp_path, "backup", str(folder))
    assert "as JSON (pg_dump is not installed)" in out
    [written] = list(folder.iterdir())
    assert written.name.endswith(".json.gz")
    manage_without_pg_tools(target, tmp_path, "restore", str(written))
    assert entries_of(target) == entries_of(source)


def test_a_json_backup_of_sqlite_restores_into_postgresql(pg_databases, tmp_path):
    _, target = pg_databases
    source = f"sqlite:///{tmp_path / 'small.sqlite3'}"
    seeded(source)
    manage(source, "createsuperuser", "--noinput", "--username", "curator", "--email", "c@example.org")
    path = tmp_path / "move.json.gz"
    manage(source, "backup", str(path), "--format=json")
    manage(target, "restore", str(path))
    before, restored = rows(source), rows(target)
    for table in ("catalog_catalogchange", "django_content_type", "auth_permission"):
        before.pop(table), restored.pop(table)
    assert restored == before
    assert entries_of(target) == entries_of(source)
    # New rows get ids after the restored ones: loaddata moved the sequences on.
    add = (
        "from django.db.models import Max; from catalog.models import Entry; "
        "top = Entry.objects.aggregate(m=Max('id'))['m']; "
        "print(Entry.objects.create(url='https://new.example/').pk > top)"
    )
    assert manage(target, "shell", "-c", add).stdout.split()[-1] == "True"


def test_a_damaged_backup_is_refused_in_one_line_and_changes_nothing(databases, tmp_path):
    _, target = databases
    damaged = tmp_path / "damaged.json.gz"
    with gzip.open(damaged, "wt") as f:
        f.write('[{"model": "catalog.entry", "pk": 1, "fields": {"url": ')  # cut short
    result = manage(target, "restore", str(damaged), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"CommandError: {damaged} could not be loaded:")
    assert "Traceback" not in result.stderr
    assert rows(target).get("catalog_entry", 0) == 0
    unknown = tmp_path / "notes.txt"
    unknown.write_text("not a backup")
    result = manage(target, "restore", str(unknown), check=False)
    assert result.returncode == 1 and "is not a" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_format_is_refused(databases, tmp_path):
    source, _ = databases
    result = manage(source, "backup", str(tmp_path / "b"), "--format=zip", check=False)
    assert result.returncode == 2 and "invalid choice: 'zip'" in result.stderr
    assert not (tmp_path / "b").exists()
