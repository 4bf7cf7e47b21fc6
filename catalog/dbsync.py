"""Database-side sync: the catalog's data version and its full-text index,
both kept by triggers.

Why triggers: every writer (services, the admin, loaddata, bulk imports, a
shell) keeps them right without remembering to, and without Python work
hidden in save() or signals.

- catalog_catalogstate.version gets a new random value after any write to a
  catalog table. Caches and the in-memory facet index are keyed by it.
- catalog_catalogchange, the change log: the id of each entry whose row,
  placements or labels changed (NULL for a change to the page tree or the
  labels, 0 for a TRUNCATE), in sequence. Each process's facet index catches
  up from it (`catalog/facet_index.py`), so it works across processes and
  machines. Only the last CHANGE_LOG_KEPT rows are kept (on PostgreSQL, pruned
  at a transaction's first write, so it may grow by one transaction's rows). On PostgreSQL the
  version is bumped BEFORE each statement: that takes the state row's lock
  before any log id is drawn, so writers draw log ids in commit order and a
  reader never sees a later id before an earlier one.
- SQLite: catalog_entry_fts, an FTS5 table (title, description, url, labels)
  whose rowid is the entry id.
- PostgreSQL: catalog_entry.search_document, a weighted tsvector (title A,
  labels B, description C, URL words D) with a GIN index.
- Both hold only the labels readers may see (`catalog.visibility`): a label of
  an internal group is never searchable, and an entry's text follows when a
  label is renamed or moved to another group, or a group is made internal or public.

SQLite drops a table's triggers when a migration rebuilds that table (as it
does to add or alter a column), so `install()` runs again after every
`migrate` (the app's post_migrate handler). It is idempotent, and on SQLite it
refills the search table, so the index matches the data whatever ran before.
"""

from .visibility import public_label_sql

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

# The tables whose rows name an entry (and the column that does), and the
# tables of the page tree and labels, for the change log.
ENTRY_TABLES = {"catalog_entry": "id", "catalog_placement": "entry_id", "catalog_taggedentry": "content_object_id"}
TREE_TABLES = [
    "catalog_edition",
    "catalog_dimension",
    "catalog_topic",
    "catalog_section",
    "catalog_labelgroup",
    "catalog_label",
]
CHANGE_LOG_KEPT = 50_000
LOG_EVENTS = ("insert", "update", "delete")

FTS_COLUMNS = "title, description, url, labels, tokenize = 'porter unicode61 remove_diacritics 2'"
# True for a public label `l`; replaced at install time (by "1 = 1" while the migrations
# run that come before label groups could be internal).
PUBLIC = "__PUBLIC_LABEL__"
# PostgreSQL's trigger and function for a group made internal or public (once groups can be).
GROUP_DOCUMENT = ("catalog_labelgroup_document", "catalog_labelgroup_changed")
# An entry's public labels as text: `{entry}` is the SQL naming the entry's id.
PUBLIC_LABELS_OF = (
    "SELECT {aggregate} FROM catalog_taggedentry t JOIN catalog_label l ON l.id = t.tag_id"
    " WHERE t.content_object_id = {entry} AND " + PUBLIC
)
SQLITE_LABELS = "(" + PUBLIC_LABELS_OF.replace("{aggregate}", "coalesce(group_concat(l.name, ' '), '')") + ")"
# The entries that hold a label of the group `{group}` (an id), for a group's change.
ENTRIES_OF_GROUP = (
    "SELECT t.content_object_id FROM catalog_taggedentry t JOIN catalog_label l ON l.id = t.tag_id"
    " WHERE l.group_id = {group}"
)


SQLITE_BUMP = (
    "INSERT INTO catalog_catalogstate (id, version) VALUES (1, lower(hex(randomblob(16))))"
    " ON CONFLICT(id) DO UPDATE SET version = excluded.version"
)


def _sqlite_install(with_log, with_internal=True):
    bump = SQLITE_BUMP + ";"
    statements = []
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} BEGIN {bump} END;"
            )
    prune = (
        "DELETE FROM catalog_catalogchange WHERE id <="
        f" (SELECT max(id) FROM catalog_catalogchange) - {CHANGE_LOG_KEPT};"
    )
    for table, column in ENTRY_TABLES.items() if with_log else ():
        new, old = f"(new.{column}, abs(random()))", f"(old.{column}, abs(random()))"
        logged = {"insert": new, "update": f"{old}, {new}", "delete": old}
        for event in LOG_EVENTS:
            statements.append(
                f"CREATE TRIGGER {table}_log_{event} AFTER {event.upper()} ON {table} BEGIN"
                f" INSERT INTO catalog_catalogchange (entry_id, token) VALUES {logged[event]}; {prune} END;"
            )
    for table in TREE_TABLES if with_log else ():
        for event in LOG_EVENTS:
            statements.append(
                f"CREATE TRIGGER {table}_log_{event} AFTER {event.upper()} ON {table} BEGIN"
                f" INSERT INTO catalog_catalogchange (entry_id, token) VALUES (NULL, abs(random())); {prune} END;"
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
        "CREATE TRIGGER catalog_label_fts_update AFTER UPDATE OF name, group_id ON catalog_label"
        " WHEN old.name IS NOT new.name OR old.group_id IS NOT new.group_id BEGIN"
        " UPDATE catalog_entry_fts SET labels = "
        + labels_of(entry="catalog_entry_fts.rowid")
        + " WHERE rowid IN (SELECT content_object_id FROM catalog_taggedentry WHERE tag_id = new.id); END;",
    ]
    if with_internal:
        statements.append(
            "CREATE TRIGGER catalog_labelgroup_fts_update AFTER UPDATE OF internal ON catalog_labelgroup"
            " WHEN old.internal IS NOT new.internal BEGIN"
            " UPDATE catalog_entry_fts SET labels = "
            + labels_of(entry="catalog_entry_fts.rowid")
            + " WHERE rowid IN ("
            + ENTRIES_OF_GROUP.format(group="new.id")
            + "); END;"
        )
    return statements


def _sqlite_uninstall_triggers():
    statements = []
    for table in WATCHED_TABLES:
        for event in ("insert", "update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_version_{event}")
    for table in [*ENTRY_TABLES, *TREE_TABLES]:
        for event in LOG_EVENTS:
            statements.append(f"DROP TRIGGER IF EXISTS {table}_log_{event}")
    for name in (
        "entry_fts_insert",
        "entry_fts_update",
        "entry_fts_delete",
        "label_fts_update",
        "labelgroup_fts_update",
    ):
        statements.append(f"DROP TRIGGER IF EXISTS catalog_{name}")
    for name in ("insert", "delete", "update"):
        statements.append(f"DROP TRIGGER IF EXISTS catalog_taggedentry_fts_{name}")
    return statements


_POSTGRES_BUMP = """
    CREATE OR REPLACE FUNCTION catalog_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO catalog_catalogstate (id, version) VALUES (1, md5(random()::text || clock_timestamp()::text))
      ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
      {prune}
      RETURN NULL;
    END $$
"""
# Once per transaction: in one long transaction (a bulk import) the rows it deleted
# stay in the index until it ends, and a prune per statement walked them all again,
# so a 200,000-entry build slowed from 540 to 39 entries a second.
_POSTGRES_PRUNE = f"""
      IF coalesce(current_setting('meshportal.log_pruned', true), '') = '' THEN
        DELETE FROM catalog_catalogchange WHERE id <= (SELECT max(id) FROM catalog_catalogchange) - {CHANGE_LOG_KEPT};
        PERFORM set_config('meshportal.log_pruned', '1', true);
      END IF;"""

_POSTGRES_INSTALL = [
    _POSTGRES_BUMP.format(prune=_POSTGRES_PRUNE),
    *[
        f"CREATE TRIGGER {table}_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()"
        for table in WATCHED_TABLES
    ],
    """
    CREATE OR REPLACE FUNCTION catalog_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE mark bigint := (random() * 9e15)::bigint;
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO catalog_catalogchange (entry_id, token) VALUES (0, mark);
      ELSIF TG_NARGS = 0 THEN
        INSERT INTO catalog_catalogchange (entry_id, token) VALUES (NULL, mark);
      ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          INSERT INTO catalog_catalogchange (entry_id, token) VALUES ((to_jsonb(OLD) ->> TG_ARGV[0])::bigint, mark);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          INSERT INTO catalog_catalogchange (entry_id, token) VALUES ((to_jsonb(NEW) ->> TG_ARGV[0])::bigint, mark);
        END IF;
      END IF;
      RETURN NULL;
    END $$
    """,
    *[
        f"CREATE TRIGGER {table}_log AFTER INSERT OR UPDATE OR DELETE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION catalog_log_change('{column}')"
        for table, column in ENTRY_TABLES.items()
    ],
    *[
        f"CREATE TRIGGER {table}_log_truncate AFTER TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_change()"
        for table in [*ENTRY_TABLES, *TREE_TABLES]
    ],
    *[
        f"CREATE TRIGGER {table}_log AFTER INSERT OR UPDATE OR DELETE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_change()"
        for table in TREE_TABLES
    ],
    "ALTER TABLE catalog_entry ADD COLUMN IF NOT EXISTS search_document tsvector",
    """
    CREATE OR REPLACE FUNCTION catalog_entry_document() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Angle brackets go first: PostgreSQL's parser would take "<b>...</b>" for markup and skip it.
      NEW.search_document :=
        setweight(to_tsvector('english', translate(coalesce(NEW.title, ''), '<>', '  ')), 'A')
        || setweight(to_tsvector('english', coalesce((PUBLIC_LABELS), '')), 'B')
        || setweight(to_tsvector('english', translate(coalesce(NEW.description, ''), '<>', '  ')), 'C')
        || setweight(to_tsvector('simple', regexp_replace(coalesce(NEW.url, ''), '[^[:alnum:]]+', ' ', 'g')), 'D');
      RETURN NEW;
    END $$
    """.replace("PUBLIC_LABELS", PUBLIC_LABELS_OF.format(aggregate="string_agg(l.name, ' ')", entry="NEW.id")),
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
    "CREATE TRIGGER catalog_label_document AFTER UPDATE OF name, group_id ON catalog_label FOR EACH ROW"
    " WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.group_id IS DISTINCT FROM NEW.group_id)"
    " EXECUTE FUNCTION catalog_label_renamed()",
    """
    CREATE OR REPLACE FUNCTION catalog_labelgroup_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE catalog_entry SET search_document = NULL WHERE id IN (ENTRIES_OF_GROUP);
      RETURN NULL;
    END $$
    """.replace("ENTRIES_OF_GROUP", ENTRIES_OF_GROUP.format(group="NEW.id")),
    "CREATE TRIGGER catalog_labelgroup_document AFTER UPDATE OF internal ON catalog_labelgroup FOR EACH ROW"
    " WHEN (OLD.internal IS DISTINCT FROM NEW.internal) EXECUTE FUNCTION catalog_labelgroup_changed()",
    "UPDATE catalog_entry SET search_document = NULL WHERE search_document IS NULL",
    # Documents written before internal labels were left out (idempotent, and few rows).
    "UPDATE catalog_entry SET search_document = NULL WHERE id IN (SELECT t.content_object_id FROM"
    " catalog_taggedentry t JOIN catalog_label l ON l.id = t.tag_id WHERE NOT (" + PUBLIC + "))",
    "CREATE INDEX IF NOT EXISTS catalog_entry_search_document ON catalog_entry USING gin (search_document)",
]

_POSTGRES_INSTALL_BEFORE_LOG = [
    _POSTGRES_BUMP.format(prune=""),
    *(s for s in _POSTGRES_INSTALL[1:] if "catalog_catalogchange" not in s and "_log" not in s),
]

_POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS catalog_labelgroup_document ON catalog_labelgroup",
    "DROP TRIGGER IF EXISTS catalog_label_document ON catalog_label",
    "DROP TRIGGER IF EXISTS catalog_taggedentry_document ON catalog_taggedentry",
    "DROP TRIGGER IF EXISTS catalog_entry_document ON catalog_entry",
    *[f"DROP TRIGGER IF EXISTS {table}_version ON {table}" for table in WATCHED_TABLES],
    *[f"DROP TRIGGER IF EXISTS {table}_log ON {table}" for table in [*ENTRY_TABLES, *TREE_TABLES]],
    *[f"DROP TRIGGER IF EXISTS {table}_log_truncate ON {table}" for table in [*ENTRY_TABLES, *TREE_TABLES]],
    "DROP FUNCTION IF EXISTS catalog_log_change()",
    "DROP FUNCTION IF EXISTS catalog_labelgroup_changed()",
    "DROP FUNCTION IF EXISTS catalog_label_renamed()",
    "DROP FUNCTION IF EXISTS catalog_entry_labels_changed()",
    "DROP FUNCTION IF EXISTS catalog_entry_document()",
    "DROP FUNCTION IF EXISTS catalog_bump_version()",
    "ALTER TABLE catalog_entry DROP COLUMN IF EXISTS search_document",
]


def _has_column(connection, cursor, table, column):
    return column in {c.name for c in connection.introspection.get_table_description(cursor, table)}


def install(connection):
    """(Re)create the triggers and the search index on `connection`, and fill the index."""
    # Migrations before the change log's own run this too: its triggers come once its table exists,
    # and the search leaves internal labels out once label groups can be internal.
    with_log = "catalog_catalogchange" in connection.introspection.table_names()
    with connection.cursor() as cursor:
        with_internal = _has_column(connection, cursor, "catalog_labelgroup", "internal")
        public = public_label_sql("l") if with_internal else "1 = 1"
        if connection.vendor == "sqlite":
            for statement in _sqlite_uninstall_triggers():
                cursor.execute(statement)
            cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS catalog_entry_fts USING fts5({FTS_COLUMNS})")
            cursor.execute("DELETE FROM catalog_entry_fts")
            for statement in _sqlite_install(with_log, with_internal):
                cursor.execute(statement.replace(PUBLIC, public))
        elif connection.vendor == "postgresql":
            # Inside a transaction that wrote rows (a test, a data migration), deferred foreign-key
            # checks are still pending, and PostgreSQL refuses trigger DDL on a table with pending
            # events: run them now, then defer again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for statement in _POSTGRES_UNINSTALL[:-1]:  # not the column: its values stay
                cursor.execute(statement)
            for statement in _POSTGRES_INSTALL if with_log else _POSTGRES_INSTALL_BEFORE_LOG:
                if with_internal or not any(name in statement for name in GROUP_DOCUMENT):
                    cursor.execute(statement.replace(PUBLIC, public))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            raise RuntimeError(f"meshportal supports SQLite and PostgreSQL, not {connection.vendor}")
        if with_log:
            # A first row, so that every index sees a row to catch up from (and anything
            # installed meanwhile, e.g. after a restore, makes the processes reload the tree).
            # SQLite's search table was refilled: a new data version, and a row that means "build
            # again" (the in-memory search index reads that table's terms).
            sqlite = connection.vendor == "sqlite"
            token = "abs(random())" if sqlite else "(random() * 9e15)::bigint"
            refilled = "0" if sqlite else "NULL"
            cursor.execute(f"INSERT INTO catalog_catalogchange (entry_id, token) VALUES ({refilled}, {token})")  # noqa: S608
            if sqlite:
                cursor.execute(SQLITE_BUMP)


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
