"""Upkeep of the news database: feed health, retention of poll records and of old dedup index
weeks, planner statistics.

What the ``news_maintenance`` DAG's tasks and ``wiredesk maintenance ...`` call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg2 import sql


@dataclass
class FeedProblem:
    name: str
    url: str
    detail: str
    since: datetime | None


@dataclass
class FeedHealth:
    """Feeds needing a look: ``dead`` (deactivated), ``failing`` (active, failing in a row),
    ``silent`` (active, polled fine, but no new article for days)."""

    active: int = 0
    dead: list[FeedProblem] = field(default_factory=list)
    failing: list[FeedProblem] = field(default_factory=list)
    silent: list[FeedProblem] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.active} active feeds, {len(self.dead)} dead, {len(self.failing)} failing, "
                f"{len(self.silent)} silent")

    def counts(self) -> dict[str, int]:
        return {"active": self.active, "dead": len(self.dead), "failing": len(self.failing),
                "silent": len(self.silent)}


def feed_health_report(conn, failing_after: int = 3, silent_days: int = 3) -> FeedHealth:
    """The dead, failing and silent feeds, each with the reason and since when."""
    report = FeedHealth()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM feeds WHERE active")
        report.active = cur.fetchone()[0]
        cur.execute(
            """SELECT name, url, COALESCE(deactivated_reason, 'deactivated'), deactivated_at
               FROM feeds WHERE NOT active ORDER BY deactivated_at DESC NULLS LAST, name"""
        )
        report.dead = [FeedProblem(*row) for row in cur.fetchall()]
        # The latest failed poll says why; failures started after the last success.
        cur.execute(
            """SELECT f.name, f.url,
                      f.consecutive_failures || ' failed polls in a row, last: '
                        || COALESCE(x.error_class, 'HTTP ' || f.last_status::text, 'unknown')
                        || COALESCE(' ' || left(x.error_message, 200), ''),
                      f.last_success_at
               FROM feeds f
               LEFT JOIN LATERAL (SELECT error_class, error_message FROM fetches
                                  WHERE feed_id = f.id AND outcome = 'error'
                                  ORDER BY started_at DESC LIMIT 1) x ON true
               WHERE f.active AND f.consecutive_failures >= %s
               ORDER BY f.consecutive_failures DESC, f.name""",
            (failing_after,),
        )
        report.failing = [FeedProblem(*row) for row in cur.fetchall()]
        # Answering but publishing nothing new: a moved feed left behind, a dead section...
        cur.execute(
            """SELECT f.name, f.url,
                      CASE WHEN a.last_new IS NULL THEN 'no article ever'
                           ELSE 'no new article for ' || date_part('day', now() - a.last_new)::int || ' days' END,
                      a.last_new
               FROM feeds f
               LEFT JOIN LATERAL (SELECT max(fetched_at) AS last_new FROM articles WHERE feed_id = f.id) a ON true
               WHERE f.active AND f.consecutive_failures < %(failing)s
                 AND f.created_at < now() - %(silent)s
                 AND (a.last_new IS NULL OR a.last_new < now() - %(silent)s)
               ORDER BY a.last_new NULLS FIRST, f.name""",
            {"failing": failing_after, "silent": timedelta(days=silent_days)},
        )
        report.silent = [FeedProblem(*row) for row in cur.fetchall()]
    return report


def prune_fetches(conn, older_than: timedelta, batch_size: int = 5000, max_seconds: float | None = None) -> int:
    """Delete the ``fetches`` rows (the poll log) older than ``older_than``, in batches
    committed one by one so polls are never blocked for long; return how many went.
    With ``max_seconds``, stop after the batch that reaches it (the next call goes on).

    Articles stay; their ``fetch_id`` becomes NULL. The feeds' poll state lives in ``feeds``,
    so nothing the pipeline needs is lost.
    """
    deleted = 0
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute("SELECT now() - %s", (older_than,))
        cutoff = cur.fetchone()[0]
        while True:
            cur.execute(
                """DELETE FROM fetches WHERE id IN (
                       SELECT id FROM fetches WHERE started_at < %s ORDER BY started_at LIMIT %s)""",
                (cutoff, batch_size),
            )
            conn.commit()
            deleted += cur.rowcount
            if cur.rowcount < batch_size or (max_seconds is not None and time.monotonic() - started >= max_seconds):
                return deleted


def drop_old_band_weeks(conn, older_than: timedelta) -> list[str]:
    """Drop the weekly partitions of the dedup index (``article_bands``) whose week ended more
    than ``older_than`` ago, and the stored fingerprints of the copies published in them; return
    the weeks' names, oldest first.

    Stories and articles stay. A copy published before then can still join a story through the
    exact layer (URL, text hash), no longer as a near-duplicate: keep well over the dedup window.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'article_bands'::regclass AND c.relname ~ '^article_bands_w[0-9]{8}$'
                 AND to_date(right(c.relname, 8), 'YYYYMMDD') + 7 <= (now() - %s) AT TIME ZONE 'UTC'
               ORDER BY 1""",
            (older_than,),
        )
        weeks = [name for (name,) in cur.fetchall()]
        for name in weeks:
            cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        if weeks:
            # Without their bands these copies are never candidates again: nothing reads their fingerprints.
            newest_week_ended = datetime.strptime(weeks[-1][-8:], "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=7)
            cur.execute("""DELETE FROM article_fingerprints f USING articles a
                           WHERE a.id = f.article_id AND a.published_at < %s""", (newest_week_ended,))
    conn.commit()
    return weeks


def analyze_tables(conn) -> dict[str, tuple[int, float]]:
    """ANALYZE every table of the news schema, largest first; return table -> (estimated
    rows afterwards, seconds taken).

    All of them rather than a fixed list, so tables later migrations add are covered; ANALYZE
    reads a bounded sample (30,000 rows by default), so the small tables cost next to nothing.
    A partitioned table is analysed as a whole, its partitions with it (autovacuum never does the whole).
    """
    done = {}
    with conn.cursor() as cur:
        cur.execute(
            """SELECT c.oid::regclass::text FROM pg_class c
               WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace
               ORDER BY pg_total_relation_size(c.oid) DESC, 1"""
        )
        for (table,) in cur.fetchall():
            started = time.monotonic()
            cur.execute(f"ANALYZE {table}")  # a name from pg_class (quoted by regclass), never user input
            conn.commit()
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", (table,))
            done[table] = (max(cur.fetchone()[0], 0), round(time.monotonic() - started, 3))
    return done


def stale_story_count(conn, current_version: str) -> int:
    """Stories whose label came from a model version other than ``current_version``."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM stories WHERE event_type IS NOT NULL AND classified_by IS DISTINCT FROM %s",
            (current_version,),
        )
        return cur.fetchone()[0]


def unlabelled_story_count(conn) -> int:
    """Stories with no event type yet."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM stories WHERE event_type IS NULL")
        return cur.fetchone()[0]
