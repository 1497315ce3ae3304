"""
### news_ingest: feeds in, deduplicated and labelled wire stories out

Every run (every 5 minutes by default: `wiredesk_ingest_schedule`):

1. **plan_polls**: syncs the feed list (`wiredesk_feeds`, a feeds.yaml) into the
   `feeds` table, picks the feeds whose next poll time has come, and groups them
   in batches by host (at most `wiredesk_poll_batches`, 64, so never near
   Airflow's map limit however many feeds there are).
2. **poll_feeds** (one mapped task per batch, one request at a time per host, each
   task holding a slot of the `wiredesk_http` pool, so the pool's size caps the
   fetches in flight): a conditional GET with timeouts and a size cap, feedparser on
   the bytes, normalisation, and an idempotent insert of the new copies into
   `articles`. Every outcome (new entries, 304, HTTP error, malformed XML) is a row
   in `fetches`; one bad feed never fails the others, and its log line names it.
3. **fold_stories**: assigns every new copy to its story (exact URL/text match,
   then MinHash/LSH near-duplicates), creating `stories` rows for new ones.
4. **classify_stories**: labels each new story's event type (MiniLM classifier,
   `wiredesk_model`), once per story however many copies it has; every label is
   stored with its confidence, all scores and the model version.
5. **publish_new_stories**: when the run created stories, emits the
   `wiredesk_new_stories` Asset (extra: counts and the new story id range), which
   schedules `news_reclassify` and any DAG of yours; skipped when nothing is new.

Every task logs one summary line with its counts and seconds. The news database is
the Airflow connection `wiredesk_db` (fallback: `WIREDESK_DATABASE_URL`). XCom
carries only ids and counts. One run at a time (`max_active_runs=1`); a failed
task is retried with exponential backoff, and rerunning or retrying a run adds
nothing twice and loses nothing (copies are keyed by feed and entry; a copy stays
unassigned until some run folds it).
"""

from __future__ import annotations

import os
import sys

# Airflow puts the DAG folder on sys.path when it parses or runs DAGs; a bare DagBag does not.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from airflow.sdk import dag, get_current_context, task  # noqa: E402
from airflow.sdk.exceptions import AirflowSkipException  # noqa: E402
from wiredesk_common import (  # noqa: E402
    DAG_DEFAULTS, HTTP_POOL, NEW_STORIES, Stopwatch, int_setting, load_classifier, log, news_db_url,
    schedule_setting, setting,
)


@dag(
    dag_id="news_ingest",
    schedule=schedule_setting("ingest_schedule"),
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def news_ingest():
    @task
    def plan_polls() -> list[list[int]]:
        """The due feeds' ids, in batches that never split a host."""
        from pipeline.ingest import plan_polls

        clock = Stopwatch()
        batches = plan_polls(news_db_url(), setting("feeds") or None, int_setting("poll_batches"))
        log.info("plan_polls: %d feeds due, in %d host batches; %s", sum(map(len, batches)), len(batches), clock)
        return batches

    @task(multiple_outputs=False, pool=HTTP_POOL)
    def poll_feeds(feed_ids: list[int]) -> dict:
        """Poll one batch of feeds and store their new copies; returns the batch's counts."""
        from dataclasses import asdict

        from pipeline.ingest import BatchCounts, poll_batch

        clock = Stopwatch()
        # Each failed feed is logged by name with its reason as it happens (pipeline.ingest).
        counts = BatchCounts.of(poll_batch(news_db_url(), feed_ids))
        log.info("poll_feeds: %s; %s", counts.line(), clock)
        return asdict(counts)

    # none_failed: with no feed due (zero poll tasks) the run still folds copies a failed run left unassigned.
    @task(multiple_outputs=False, trigger_rule="none_failed")
    def fold_stories(batches: list[dict]) -> dict:
        """Fold the new copies into stories; returns the run's counts and the new story id range."""
        from datetime import timedelta

        from pipeline import db
        from pipeline.dedup import assign_stories
        from pipeline.ingest import BatchCounts
        from pipeline.report import tally

        clock = Stopwatch()
        with db.connect(news_db_url()) as conn:
            stories = assign_stories(conn, window=timedelta(days=int_setting("dedup_window_days")),
                                     batch_size=int_setting("dedup_batch"))
        polls = BatchCounts.total([BatchCounts(**b) for b in batches])
        new_ids = stories.new_story_ids
        counts = {
            "feeds_polled": polls.feeds_polled,
            "not_modified": polls.not_modified,
            "errors": polls.errors,
            "new_articles": polls.new_articles,
            "copies_assigned": stories.assigned,
            "new_stories": len(new_ids),
            "copies_folded": stories.folded,
            "new_story_ids": [min(new_ids), max(new_ids)] if new_ids else None,
        }
        log.info("fold_stories: %d feeds polled, %d not modified, errors: %s, %d new articles, "
                 "%d copies assigned -> %d new stories, %d copies folded into stories; %s",
                 counts["feeds_polled"], counts["not_modified"],
                 tally(counts["errors"]),
                 counts["new_articles"], stories.assigned, len(new_ids), stories.folded, clock)
        return counts

    @task(multiple_outputs=False)
    def classify_stories(run_counts: dict) -> dict:
        """Label the event type of every story that has none yet (one inference per story)."""
        from pipeline import db
        from pipeline.labelling import label_stories
        from pipeline.maintenance import unlabelled_story_count
        from pipeline.report import tally

        clock = Stopwatch()
        with db.connect(news_db_url()) as conn:
            waiting = unlabelled_story_count(conn)
        if not waiting:
            # Most runs bring nothing new: skip loading the model (~4 s of imports on 2 cores).
            log.info("classify_stories: 0 stories classified (none unlabelled); %s", clock)
            return {**run_counts, "stories_classified": 0, "event_types": {}, "model_version": None}
        classifier = load_classifier()
        with db.connect(news_db_url()) as conn:
            labelled = label_stories(conn, classifier, batch_size=int_setting("classify_batch"))
        counts = {**run_counts, "stories_classified": labelled.stories, "event_types": labelled.by_label,
                  "model_version": classifier.version}
        log.info("classify_stories: %d stories classified by model %s (%s): %s; %s", labelled.stories,
                 classifier.version, classifier.backend,
                 tally(dict(sorted(labelled.by_label.items()))), clock)
        return counts

    @task(outlets=[NEW_STORIES])
    def publish_new_stories(run_counts: dict) -> None:
        """Emit the new-stories Asset event (skipped, so no event, when the run created none)."""
        if not run_counts["new_stories"]:
            log.info("publish_new_stories: no new stories, no Asset event")
            raise AirflowSkipException("no new stories")
        extra = {k: run_counts[k] for k in ("new_stories", "new_story_ids", "new_articles", "copies_folded",
                                             "stories_classified", "model_version")}
        get_current_context()["outlet_events"][NEW_STORIES].extra = extra
        log.info("publish_new_stories: %s event, %d new stories (ids %s..%s)", NEW_STORIES.name,
                 extra["new_stories"], *extra["new_story_ids"])

    publish_new_stories(classify_stories(fold_stories(poll_feeds.expand(feed_ids=plan_polls()))))


news_ingest()
