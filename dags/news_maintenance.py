"""
### news_maintenance: daily upkeep of the news database

1. **report_feed_health**: the feeds that need a look, each named with its reason in
   the log: **dead** (deactivated after a 410 Gone or a day of failures), **failing**
   (active, at least `wiredesk_failing_after` failed polls in a row, with the last
   error), **silent** (active and answering, but no new article for
   `wiredesk_silent_days` days). The same list is `wiredesk maintenance feed-health`.
2. **prune_fetches**: deletes the `fetches` rows (one per poll) older than
   `wiredesk_fetch_retention_days`, in small committed batches, for at most 20 minutes
   a day (a backlog is worked off over several days). Articles, stories and the feeds'
   poll state are kept.
3. **drop_old_band_weeks**: drops the weekly partitions of the dedup index
   (`article_bands`) older than `wiredesk_band_retention_days`, and the stored fingerprints
   of the copies published in them. Stories and articles are kept; a copy published before
   then can still join its story through the exact layer (URL, text hash), not as a
   near-duplicate.
4. **analyze_tables**: `ANALYZE` of the news tables, largest first, so the planner's
   estimates follow the growth (and the deletions just made).

Daily by default (`wiredesk_maintenance_schedule`). Every step is safe to rerun and to
run next to `news_ingest`.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

# Airflow puts the DAG folder on sys.path when it parses or runs DAGs; a bare DagBag does not.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from airflow.sdk import dag, task  # noqa: E402
from wiredesk_common import (  # noqa: E402
    DAG_DEFAULTS, Stopwatch, int_setting, log, news_db_url, schedule_setting,
)

# Deleting fetches is the one job here that can run long (see prune_fetches).
PRUNE_BUDGET = timedelta(minutes=20)


@dag(
    dag_id="news_maintenance",
    schedule=schedule_setting("maintenance_schedule"),
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def news_maintenance():
    @task(multiple_outputs=False)
    def report_feed_health() -> dict:
        """Log every dead, failing and silent feed with its reason; return the counts."""
        from pipeline import db
        from pipeline.maintenance import feed_health_report

        clock = Stopwatch()
        with db.connect(news_db_url()) as conn:
            health = feed_health_report(conn, int_setting("failing_after"), int_setting("silent_days"))
        for kind in ("dead", "failing", "silent"):
            for feed in getattr(health, kind):
                log.warning("%s feed %s (%s): %s", kind, feed.name, feed.url, feed.detail)
        log.info("report_feed_health: %s; %s", health.line(), clock)
        return health.counts()

    @task
    def prune_fetches() -> int:
        """Delete the poll records older than the retention age (up to 20 minutes' worth a day)."""
        from pipeline import db
        from pipeline.maintenance import prune_fetches

        clock = Stopwatch()
        days = int_setting("fetch_retention_days")
        with db.connect(news_db_url()) as conn:
            # A time budget, so a big backlog is worked off over several days instead of one long job.
            deleted = prune_fetches(conn, timedelta(days=days), max_seconds=PRUNE_BUDGET.total_seconds())
        log.info("prune_fetches: %d fetch records older than %d days deleted; %s", deleted, days, clock)
        return deleted

    @task
    def drop_old_band_weeks() -> list[str]:
        """Drop the dedup index's weekly partitions older than the retention age, with their copies' fingerprints."""
        from pipeline import db
        from pipeline.maintenance import drop_old_band_weeks

        clock = Stopwatch()
        days = int_setting("band_retention_days")
        with db.connect(news_db_url()) as conn:
            dropped = drop_old_band_weeks(conn, timedelta(days=days))
        log.info("drop_old_band_weeks: %d weeks older than %d days dropped %s; %s",
                 len(dropped), days, dropped, clock)
        return dropped

    @task(multiple_outputs=False)
    def analyze_tables(pruned: int, dropped: list[str]) -> dict:
        """ANALYZE the news tables (after the pruning, so the statistics see it)."""
        from pipeline import db
        from pipeline.maintenance import analyze_tables

        clock = Stopwatch()
        with db.connect(news_db_url()) as conn:
            done = analyze_tables(conn)
        log.info("analyze_tables: %s; %s",
                 ", ".join(f"{t} ~{rows} rows {secs:.2f} s" for t, (rows, secs) in done.items()), clock)
        return {table: rows for table, (rows, _) in done.items()}

    report_feed_health()
    analyze_tables(prune_fetches(), drop_old_band_weeks())


news_maintenance()
