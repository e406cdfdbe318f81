#!/usr/bin/env python3
"""Compare the SQLite schema of a newsriver database with a PostgreSQL one.

    python3 .ci/schema_parity.py SQLITE_DB PG_URL

The code issues the same SQL text to both backends, so both must have the
same tables and, table by table, the same columns in the same order with the
same nullability. Also compared: each column's type under the mapping of
migrations/postgres/V1__init.sql (INTEGER -> bigint, TEXT -> text,
BLOB -> bytea, REAL -> double precision), its default, and the names of the
explicitly created indexes. Ignored: SQLite's own tables (sqlite_%) and
refinery's (refinery_schema_history).

PostgreSQL is read through `psql` (psycopg may not be installed); the SQLite
file is opened read-only. Prints every difference and exits 1 if there is
any, 0 (with a one-line summary) if there is none, 2 on a usage or access
error.
"""

import re
import sqlite3
import subprocess
import sys

# PostgreSQL-only tables (several pollers: store/pg.rs) and refinery's own.
IGNORED = {"refinery_schema_history", "near_log", "pollers", "host_leases"}
TYPES = {
    "INTEGER": "bigint",
    "INT": "bigint",
    "TEXT": "text",
    "BLOB": "bytea",
    "REAL": "double precision",
}
SEP = "\x1f"


def ignored(table):
    return table.startswith("sqlite_") or table in IGNORED


def sqlite_schema(path):
    """{table: [(name, nullable, pg_type or None, declared, default)]}, {table: {index}}"""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if not ignored(r[0])
        ]
        columns = {}
        for table in tables:
            rows = conn.execute(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid",
                (table,),
            ).fetchall()
            pk_cols = [r for r in rows if r[4]]
            cols = []
            for name, declared, notnull, default, pk in rows:
                declared = (declared or "").strip()
                # An INTEGER PRIMARY KEY is the rowid: never NULL, though
                # PRAGMA table_info says notnull = 0. (A PRIMARY KEY of another
                # type in a rowid table that is not STRICT can hold NULL in
                # SQLite: then it is reported, as it should be.)
                rowid = pk and len(pk_cols) == 1 and declared.upper() == "INTEGER"
                nullable = not (notnull or rowid)
                cols.append((name, nullable, TYPES.get(declared.upper()), declared, default))
            columns[table] = cols
        indexes = {}
        for table, name in conn.execute(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            if not ignored(table):
                indexes.setdefault(table, set()).add(name)
        return columns, indexes
    finally:
        conn.close()


def psql(url, query):
    try:
        out = subprocess.run(
            ["psql", url, "-X", "-q", "-At", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-c", query],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except FileNotFoundError:
        print("schema_parity: psql not found on PATH", file=sys.stderr)
        sys.exit(2)
    except subprocess.CalledProcessError as e:
        print(f"schema_parity: psql failed: {e.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    return [line.split(SEP) for line in out.splitlines() if line]


def pg_schema(url):
    columns = {}
    for table, name, nullable, data_type, default in psql(
        url,
        "SELECT table_name, column_name, is_nullable, data_type, coalesce(column_default, '') "
        "FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "ORDER BY table_name, ordinal_position",
    ):
        if ignored(table):
            continue
        columns.setdefault(table, []).append(
            (name, nullable == "YES", data_type, default or None)
        )
    # Indexes made by CREATE INDEX, not those behind a PRIMARY KEY or UNIQUE
    # constraint (SQLite's sqlite_autoindex_*, which have no sql).
    indexes = {}
    for table, name in psql(
        url,
        "SELECT t.relname, i.relname FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
    ):
        if not ignored(table):
            indexes.setdefault(table, set()).add(name)
    return columns, indexes


def pg_default(default):
    """'[]'::text -> '[]', so that it reads as SQLite's dflt_value does."""
    if default is None:
        return None
    return re.sub(r"::[a-z ]+(\[\])?$", "", default)


def compare(sqlite, pg):
    s_cols, s_idx = sqlite
    p_cols, p_idx = pg
    diffs = []
    for table in sorted(set(s_cols) - set(p_cols)):
        diffs.append(f"{table}: table only in SQLite")
    for table in sorted(set(p_cols) - set(s_cols)):
        diffs.append(f"{table}: table only in PostgreSQL")
    for table in sorted(set(s_cols) & set(p_cols)):
        s, p = s_cols[table], p_cols[table]
        s_names, p_names = [c[0] for c in s], [c[0] for c in p]
        if s_names != p_names:
            diffs.append(f"{table}: columns differ\n    SQLite:     {s_names}\n    PostgreSQL: {p_names}")
        p_by_name = {c[0]: c for c in p}
        for name, nullable, want_type, declared, default in s:
            if name not in p_by_name:
                continue
            _, p_nullable, p_type, p_def = p_by_name[name]
            if nullable != p_nullable:
                diffs.append(
                    f"{table}.{name}: {'NULL' if nullable else 'NOT NULL'} in SQLite, "
                    f"{'NULL' if p_nullable else 'NOT NULL'} in PostgreSQL"
                )
            if want_type is None:
                diffs.append(
                    f"{table}.{name}: SQLite type {declared or '(none declared)'!s} has no mapping "
                    f"(PostgreSQL has {p_type})"
                )
            elif want_type != p_type:
                diffs.append(f"{table}.{name}: SQLite {declared} wants {want_type}, PostgreSQL has {p_type}")
            if default != pg_default(p_def):
                diffs.append(f"{table}.{name}: default {default} in SQLite, {p_def} in PostgreSQL")
        si, pi = s_idx.get(table, set()), p_idx.get(table, set())
        if si != pi:
            diffs.append(
                f"{table}: indexes differ: only in SQLite {sorted(si - pi)}, "
                f"only in PostgreSQL {sorted(pi - si)}"
            )
    return diffs


def main():
    if len(sys.argv) != 3:
        print("usage: python3 .ci/schema_parity.py SQLITE_DB PG_URL", file=sys.stderr)
        return 2
    path, url = sys.argv[1], sys.argv[2]
    try:
        sqlite = sqlite_schema(path)
    except sqlite3.Error as e:
        print(f"schema_parity: cannot read {path}: {e}", file=sys.stderr)
        return 2
    pg = pg_schema(url)
    diffs = compare(sqlite, pg)
    for d in diffs:
        print(d)
    if diffs:
        print(f"{len(diffs)} difference(s)", file=sys.stderr)
        return 1
    n_cols = sum(len(c) for c in sqlite[0].values())
    print(f"schemas match: {len(sqlite[0])} tables, {n_cols} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
