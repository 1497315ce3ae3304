"""Connections to the news database and its versioned schema migrations.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, applied in
order in one transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import psycopg2
import psycopg2.extensions

MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
# Any constant shared by every process that runs migrations.
MIGRATION_LOCK = 7_352_001


@contextmanager
def connect(url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection that commits when the block succeeds and rolls back when it raises."""
    conn = psycopg2.connect(url)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for path in resources.files("pipeline.migrations").iterdir():
        match = MIGRATION_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path.read_text()))
    return sorted(found)


def migrate(url: str) -> list[str]:
    """Apply the migrations this database lacks; return the names applied (none when up to date)."""
    applied_now = []
    with connect(url) as conn, conn.cursor() as cur:
        # Two workers starting at once must not both apply the same migration.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cur.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, name, sql in available_migrations():
            if version in done:
                continue
            cur.execute(sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied_now.append(f"{version:04d}_{name}")
    return applied_now
