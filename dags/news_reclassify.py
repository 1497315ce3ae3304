"""
### news_reclassify: stories labelled by an older model, relabelled by the current one

After a new classifier is trained (`make model`) or `wiredesk_model` points at another
one, the stories already in the database still carry the old model's event types.
Each run of this DAG:

1. **relabel_stale_stories**: takes up to `wiredesk_reclassify_max_stories` stories
   whose label came from another model version (oldest id first), labels them with
   the current model in transactions of `wiredesk_classify_batch`, and keeps every
   old label in `classifications` next to the new one.
2. **count_stale_stories**: reports how many stale stories are left for later runs.

It runs after every `news_ingest` run that created stories (the
`wiredesk_new_stories` Asset; `wiredesk_reclassify_schedule` can make it a cron
schedule or on demand only), so a backlog drains in bounded batches between ingest
runs instead of one long job; trigger it by hand to drain faster. Safe to run
next to `news_ingest` and on several workers: rows are taken with SKIP LOCKED.
"""

from __future__ import annotations

import os
import sys

# Airflow puts the DAG folder on sys.path when it parses or runs DAGs; a bare DagBag does not.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from airflow.sdk import dag, task  # noqa: E402
from wiredesk_common import (  # noqa: E402
    DAG_DEFAULTS, NEW_STORIES, Stopwatch, current_model_version, int_setting, load_classifier, log, news_db_url,
    schedule_setting,
)


def _schedule():
    value = schedule_setting("reclassify_schedule")
    return [NEW_STORIES] if value == "asset" else value


@dag(
    dag_id="news_reclassify",
    schedule=_schedule(),
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def news_reclassify():
    @task(multiple_outputs=False)
    def relabel_stale_stories() -> dict:
        """Relabel at most `reclassify_max_stories` stories an older model version labelled."""
        from pipeline import db
        from pipeline.labelling import label_stories
        from pipeline.maintenance import stale_story_count
        from pipeline.report import tally

        clock = Stopwatch()
        version = current_model_version()
        with db.connect(news_db_url()) as conn:
            stale = stale_story_count(conn, version)
        if not stale:
            # The usual case after an ingest run: nothing to do, so the model is not loaded.
            log.info("relabel_stale_stories: 0 stories relabelled (all labelled by model %s); %s", version, clock)
            return {"stories_relabelled": 0, "event_types": {}, "model_version": version}
        classifier = load_classifier()
        with db.connect(news_db_url()) as conn:
            labelled = label_stories(conn, classifier, stale_only=True, batch_size=int_setting("classify_batch"),
                                     max_stories=int_setting("reclassify_max_stories"))
        log.info("relabel_stale_stories: %d stories relabelled by model %s (%s): %s; %s", labelled.stories,
                 classifier.version, classifier.backend,
                 tally(dict(sorted(labelled.by_label.items()))), clock)
        return {"stories_relabelled": labelled.stories, "event_types": labelled.by_label,
                "model_version": classifier.version}

    @task
    def count_stale_stories(relabelled: dict) -> int:
        """How many stories still carry another model version's label."""
        from pipeline import db
        from pipeline.maintenance import stale_story_count

        clock = Stopwatch()
        with db.connect(news_db_url()) as conn:
            left = stale_story_count(conn, relabelled["model_version"])
        log.info("count_stale_stories: %d stories still labelled by an older model%s; %s", left,
                 " (the next runs continue)" if left else "", clock)
        return left

    count_stale_stories(relabel_stale_stories())


news_reclassify()
