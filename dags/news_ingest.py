"""
### news_ingest: feeds in, deduplicated wire stories out

Every run:

1. **due_feeds**: syncs the feed list (`WIREDESK_FEEDS`, a feeds.yaml) into the
   `feeds` table and picks the feeds whose next poll time has come.
2. **poll_feed** (one mapped task per feed): a conditional GET with timeouts and a
   size cap, feedparser on the bytes, normalisation, and an idempotent insert of
   the new copies into `articles`. Every outcome (new entries, 304, HTTP error,
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
    def due_feeds() -> list[int]:
        """Ids of the feeds to poll in this run."""
        from pipeline.ingest import sync_and_list_due

        feed_ids = sync_and_list_due(news_db_url(), os.environ.get("WIREDESK_FEEDS"))
        print(f"due_feeds: {len(feed_ids)} feeds due")
        return feed_ids

    @task(multiple_outputs=False)
    def poll_feed(feed_id: int) -> dict:
        """Poll one feed and store its new copies; returns the poll's counts."""
        from dataclasses import asdict

        from pipeline.ingest import ingest_feed

        outcome = ingest_feed(news_db_url(), feed_id)
        print(f"poll_feed: feed {feed_id} {outcome.outcome}, {outcome.entries_seen} entries, "
              f"{outcome.new_articles} new, error={outcome.error_class}")
        return asdict(outcome)

    @task(multiple_outputs=False)
    def fold_stories(polls: list[dict]) -> dict:
        """Fold the new copies into stories; returns the counts of the run."""
        from pipeline.ingest import build_stories

        stories = build_stories(news_db_url())
        polls = list(polls)
        counts = {
            "feeds_polled": len(polls),
            "not_modified": sum(p["outcome"] == "not_modified" for p in polls),
            "errors": sum(p["outcome"] == "error" for p in polls),
            "new_articles": sum(p["new_articles"] for p in polls),
            "new_stories": len(stories.new_story_ids),
            "copies_folded": stories.folded,
        }
        print("fold_stories: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    fold_stories(poll_feed.expand(feed_id=due_feeds()))


news_ingest()
