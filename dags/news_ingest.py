"""
### news_ingest: feeds in, deduplicated wire stories out

Every run:

1. **plan_polls**: syncs the feed list (`WIREDESK_FEEDS`, a feeds.yaml) into the
   `feeds` table, picks the feeds whose next poll time has come, and groups them
   in batches by host (at most 64, so never near Airflow's map limit).
2. **poll_feeds** (one mapped task per batch, one request at a time per host): a
   conditional GET with timeouts and a size cap, feedparser on the bytes,
   normalisation, and an idempotent insert of the new copies into `articles`. Every outcome (new entries, 304, HTTP error,
   malformed XML) is a row in `fetches`; one bad feed never fails the others.
3. **fold_stories**: assigns every new copy to its story (exact URL/text match,
   then MinHash/LSH near-duplicates), creating `stories` rows for new ones.

The news database is the Airflow connection `wiredesk_db` (fallback:
`WIREDESK_DATABASE_URL`). XCom carries only ids and counts. Rerunning or
retrying a run adds nothing twice.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Connection, dag, task
from airflow.sdk.exceptions import AirflowNotFoundException


def news_db_url() -> str:
    """The news database: the `wiredesk_db` connection, else WIREDESK_DATABASE_URL."""
    try:
        return Connection.get("wiredesk_db").get_uri()
    except AirflowNotFoundException:
        return os.environ["WIREDESK_DATABASE_URL"]


@dag(
    dag_id="news_ingest",
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["wiredesk"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
)
def news_ingest():
    @task
    def plan_polls() -> list[list[int]]:
        """The due feeds' ids, in batches that never split a host."""
        from pipeline.ingest import plan_polls

        batches = plan_polls(news_db_url(), os.environ.get("WIREDESK_FEEDS"))
        print(f"plan_polls: {sum(map(len, batches))} feeds due, in {len(batches)} host batches")
        return batches

    @task(multiple_outputs=False)
    def poll_feeds(feed_ids: list[int]) -> dict:
        """Poll one batch of feeds and store their new copies; returns the batch's counts."""
        from dataclasses import asdict

        from pipeline.ingest import BatchCounts, poll_batch

        counts = BatchCounts.of(poll_batch(news_db_url(), feed_ids))
        print("poll_feeds: " + counts.line())
        return asdict(counts)

    @task(multiple_outputs=False)
    def fold_stories(batches: list[dict]) -> dict:
        """Fold the new copies into stories; returns the run's counts."""
        from pipeline.ingest import build_stories

        stories = build_stories(news_db_url())
        batches = list(batches)
        counts = {
            "feeds_polled": sum(b["feeds_polled"] for b in batches),
            "not_modified": sum(b["not_modified"] for b in batches),
            "errors": sum(sum(b["errors"].values()) for b in batches),
            "new_articles": sum(b["new_articles"] for b in batches),
            "new_stories": len(stories.new_story_ids),
            "copies_folded": stories.folded,
        }
        print("fold_stories: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    fold_stories(poll_feeds.expand(feed_ids=plan_polls()))


news_ingest()
