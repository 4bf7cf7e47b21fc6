"""Database-side sync: the catalog's data version and its full-text index,
both kept by triggers.

Why triggers: every writer (services, the admin, loaddata, bulk imports, a
shell) keeps them right without remembering to, and without Python work
hidden in save() or signals.

- catalog_catalogstate.version gets a new random value after any write to a
  catalog table. Caches and the in-memory facet index are keyed by it.
- SQLite: catalog_entry_fts, an FTS5 table (title, description, url, labels)
  whose rowid is the entry id.
- PostgreSQL: catalog_entry.search_document, a weighted tsvector (title A,
  labels B, description C, URL words D) with a GIN index.

SQLite drops a table's triggers when a migration rebuilds that table (as it
does to add or alter a column), so `install()` runs again after every
`migrate` (the app's post_migrate handler). It is idempotent, and on SQLite it
refills the search table, so the index matches the data whatever ran before.
"""

WATCHED_TABLES = [
    "catalog_edition",
    "catalog_dimension",
    "catalog_topic",
    "catalog_topic_related",
    "catalog_section",
    "catalog_labelgroup",
    "catalog_label",
    "catalog_entry",
    "catalog_taggedentry",
    "catalog_placement",
]

FTS_COLUMNS = "title, description, url, labels, tokenize = 'porter unicode61 remove_diacritics 2'"
SQLITE_LABELS = (
    "(SELECT coalesce(group_concat(l.name, ' '), '') FROM catalog_taggedentry t"
    " JOIN catalog_label l ON l.id = t.tag_id WHERE t.content_object_id = {entry})"
)


def _sqlite_install():
    bump = (
        "INSERT INTO catalog_catalogstate (id, version) VALUES (1, lower(hex(randomblob(16))))"
        " ON CONFLICT(id) DO UPDATE SET version = excluded.version;"
    )
    statements = []
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} BEGIN {bump} END;"
            )
    labels_of = SQLITE_LABELS.format
    statements += [
        "INSERT INTO catalog_entry_fts (rowid, title, description, url, labels)"
        f" SELECT e.id, e.title, e.description, e.url, {labels_of(entry='e.id')} FROM catalog_entry e",
        "CREATE TRIGGER catalog_entry_fts_insert AFTER INSERT ON catalog_entry BEGIN"
        " INSERT INTO catalog_entry_fts (rowid, title, description, url, labels)"
        f" VALUES (new.id, new.title, new.description, new.url, {labels_of(entry='new.id')}); END;",
        "CREATE TRIGGER catalog_entry_fts_update AFTER UPDATE OF title, description, url ON catalog_entry BEGIN"
        " UPDATE catalog_entry_fts SET title = new.title, description = new.description, url = new.url"
        " WHERE rowid = new.id; END;",
        "CREATE TRIGGER catalog_entry_fts_delete AFTER DELETE ON catalog_entry BEGIN"
        " DELETE FROM catalog_entry_fts WHERE rowid = old.id; END;",
        "CREATE TRIGGER catalog_taggedentry_fts_insert AFTER INSERT ON catalog_taggedentry BEGIN"
        f" UPDATE catalog_entry_fts SET labels = {labels_of(entry='new.content_object_id')}"
        " WHERE rowid = new.content_object_id; END;",
        "CREATE TRIGGER catalog_taggedentry_fts_delete AFTER DELETE ON catalog_taggedentry BEGIN"
        f" UPDATE catalog_entry_fts SET labels = {labels_of(entry='old.content_object_id')}"
        " WHERE rowid = old.content_object_id; END;",
        "CREATE TRIGGER catalog_taggedentry_fts_update AFTER UPDATE ON catalog_taggedentry BEGIN"
        f" UPDATE catalog_entry_fts SET labels = {labels_of(entry='old.content_object_id')}"
        " WHERE rowid = old.content_object_id;"
        f" UPDATE catalog_entry_fts SET labels = {labels_of(entry='new.content_object_id')}"
        " WHERE rowid = new.content_object_id; END;",
        "CREATE TRIGGER catalog_label_fts_update AFTER UPDATE OF name ON catalog_label BEGIN"
        " UPDATE catalog_entry_fts SET labels = "
        + labels_of(entry="catalog_entry_fts.rowid")
        + " WHERE rowid IN (SELECT content_object_id FROM catalog_taggedentry WHERE tag_id = new.id); END;",
    ]
    return statements


def _sqlite_uninstall_triggers():
    statements = []
    for table in WATCHED_TABLES:
        for event in ("insert", "update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_version_{event}")
    for name in ("entry_fts_insert", "entry_fts_update", "entry_fts_delete", "label_fts_update"):
        statements.append(f"DROP TRIGGER IF EXISTS catalog_{name}")
    for name in ("insert", "delete", "update"):
        statements.append(f"DROP TRIGGER IF EXISTS catalog_taggedentry_fts_{name}")
    return statements


_POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION catalog_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO catalog_catalogstate (id, version) VALUES (1, md5(random()::text || clock_timestamp()::text))
      ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
      RETURN NULL;
    END $$
    """,
    *[
        f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()"
        for table in WATCHED_TABLES
    ],
    "ALTER TABLE catalog_entry ADD COLUMN IF NOT EXISTS search_document tsvector",
    """
    CREATE OR REPLACE FUNCTION catalog_entry_document() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Angle brackets go first: PostgreSQL's parser would take "<b>...</b>" for markup and skip it.
      NEW.search_document :=
        setweight(to_tsvector('english', translate(coalesce(NEW.title, ''), '<>', '  ')), 'A')
        || setweight(to_tsvector('english', coalesce((
             SELECT string_agg(l.name, ' ') FROM catalog_taggedentry t
             JOIN catalog_label l ON l.id = t.tag_id WHERE t.content_object_id = NEW.id), '')), 'B')
        || setweight(to_tsvector('english', translate(coalesce(NEW.description, ''), '<>', '  ')), 'C')
        || setweight(to_tsvector('simple', regexp_replace(coalesce(NEW.url, ''), '[^[:alnum:]]+', ' ', 'g')), 'D');
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER catalog_entry_document BEFORE INSERT OR UPDATE OF title, description, url, search_document"
    " ON catalog_entry FOR EACH ROW EXECUTE FUNCTION catalog_entry_document()",
    """
    CREATE OR REPLACE FUNCTION catalog_entry_labels_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Touching search_document makes the row trigger above recompute it.
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE catalog_entry SET search_document = NULL WHERE id = OLD.content_object_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE catalog_entry SET search_document = NULL WHERE id = NEW.content_object_id;
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER catalog_taggedentry_document AFTER INSERT OR UPDATE OR DELETE ON catalog_taggedentry"
    " FOR EACH ROW EXECUTE FUNCTION catalog_entry_labels_changed()",
    """
    CREATE OR REPLACE FUNCTION catalog_label_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE catalog_entry SET search_document = NULL
      WHERE id IN (SELECT content_object_id FROM catalog_taggedentry WHERE tag_id = NEW.id);
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER catalog_label_document AFTER UPDATE OF name ON catalog_label"
    " FOR EACH ROW EXECUTE FUNCTION catalog_label_renamed()",
    "UPDATE catalog_entry SET search_document = NULL WHERE search_document IS NULL",
    "CREATE INDEX IF NOT EXISTS catalog_entry_search_document ON catalog_entry USING gin (search_document)",
]

_POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS catalog_label_document ON catalog_label",
    "DROP TRIGGER IF EXISTS catalog_taggedentry_document ON catalog_taggedentry",
    "DROP TRIGGER IF EXISTS catalog_entry_document ON catalog_entry",
    *[f"DROP TRIGGER IF EXISTS {table}_version ON {table}" for table in WATCHED_TABLES],
    "DROP FUNCTION IF EXISTS catalog_label_renamed()",
    "DROP FUNCTION IF EXISTS catalog_entry_labels_changed()",
    "DROP FUNCTION IF EXISTS catalog_entry_document()",
    "DROP FUNCTION IF EXISTS catalog_bump_version()",
    "ALTER TABLE catalog_entry DROP COLUMN IF EXISTS search_document",
]


def install(connection):
    """(Re)create the triggers and the search index on `connection`, and fill the index."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in _sqlite_uninstall_triggers():
                cursor.execute(statement)
            cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS catalog_entry_fts USING fts5({FTS_COLUMNS})")
            cursor.execute("DELETE FROM catalog_entry_fts")
            for statement in _sqlite_install():
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for statement in _POSTGRES_UNINSTALL[:-1]:  # not the column: its values stay
                cursor.execute(statement)
            for statement in _POSTGRES_INSTALL:
                cursor.execute(statement)
        else:
            raise RuntimeError(f"meshportal supports SQLite and PostgreSQL, not {connection.vendor}")


def uninstall(connection):
    """Remove the triggers, the search index and the functions behind them."""
    if connection.vendor == "sqlite":
        statements = [*_sqlite_uninstall_triggers(), "DROP TABLE IF EXISTS catalog_entry_fts"]
    else:
        statements = _POSTGRES_UNINSTALL
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def catalog_tables_exist(connection):
    """True once the catalog's migrations have made its tables."""
    return "catalog_catalogstate" in connection.introspection.table_names()
