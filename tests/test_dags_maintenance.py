"""news_maintenance and news_reclassify, run by Airflow itself (dag.test) against a real Postgres.

The feed states come from real polls of a local feed server: a feed that answers, one
that 404s (failing), one that 404ed a dozen times (deactivated: dead), and one whose
articles we age (silent).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import REPO, query

from pipeline import db
from pipeline.feeds import sync_feeds
from pipeline.ingest import build_stories, poll_batch
from pipeline.maintenance import drop_old_band_weeks, feed_health_report, prune_fetches, stale_story_count
from pipeline.records import FeedSpec
from pipeline.store import MAX_CONSECUTIVE_FAILURES


@pytest.fixture
def polled_db(news_db, seed_server):
    """Four feeds in four states, every state reached through real polls."""
    with db.connect(news_db) as conn:
        ok, silent, failing, dead = sync_feeds(conn, [
            FeedSpec("AFP World News", f"{seed_server}/afp-world.xml", "AFP"),
            FeedSpec("Euro Daily - World", f"{seed_server}/euro-daily.xml"),
            FeedSpec("Moved Away", f"{seed_server}/moved-away.xml"),
            FeedSpec("Long Gone", f"{seed_server}/long-gone.xml"),
        ])
    poll_batch(news_db, [ok, silent])
    for _ in range(3):
        poll_batch(news_db, [failing])
    for _ in range(MAX_CONSECUTIVE_FAILURES):
        poll_batch(news_db, [dead])
    build_stories(news_db)
    # Euro Daily's articles are from 5 days ago, and it is older than that.
    query(news_db, """UPDATE articles SET fetched_at = now() - interval '5 days'
                      WHERE feed_id = %s RETURNING id""", (silent,))
    query(news_db, "UPDATE feeds SET created_at = now() - interval '10 days' RETURNING id")
    return news_db


def test_feed_health_names_dead_failing_and_silent_feeds(polled_db):
    with db.connect(polled_db) as conn:
        health = feed_health_report(conn, failing_after=3, silent_days=3)

    assert health.counts() == {"active": 3, "dead": 1, "failing": 1, "silent": 1}
    assert health.dead[0].name == "Long Gone"
    assert health.dead[0].detail.startswith(f"{MAX_CONSECUTIVE_FAILURES} consecutive failures, last: HTTP404")
    assert (health.failing[0].name, health.failing[0].detail[:38]) == ("Moved Away", "3 failed polls in a row, last: HTTP404")
    assert (health.silent[0].name, health.silent[0].detail) == ("Euro Daily - World", "no new article for 5 days")
    with db.connect(polled_db) as conn:
        stricter = feed_health_report(conn, failing_after=4, silent_days=6)
    # Three failures no longer count as failing; a feed that never delivered is then silent.
    assert stricter.counts() == {"active": 3, "dead": 1, "failing": 0, "silent": 1}
    assert (stricter.silent[0].name, stricter.silent[0].detail) == ("Moved Away", "no article ever")


def test_prune_keeps_recent_fetches_and_every_article(polled_db):
    query(polled_db, """UPDATE fetches SET started_at = now() - interval '40 days'
                        WHERE feed_id = (SELECT id FROM feeds WHERE name = 'AFP World News') RETURNING id""")
    articles = query(polled_db, "SELECT count(*) FROM articles")
    fetches = query(polled_db, "SELECT count(*) FROM fetches")[0][0]

    with db.connect(polled_db) as conn:

        assert prune_fetches(conn, timedelta(days=30), batch_size=2) == 1
        assert prune_fetches(conn, timedelta(days=30)) == 0

    assert query(polled_db, "SELECT count(*) FROM fetches") == [(fetches - 1,)]
    assert query(polled_db, "SELECT count(*) FROM articles") == articles
    assert query(polled_db, """SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id
                               WHERE f.name = 'AFP World News' AND a.fetch_id IS NOT NULL""") == [(0,)]


def band_weeks(url: str) -> list[str]:
    return [name for (name,) in query(url, """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                               WHERE i.inhparent = 'article_bands'::regclass ORDER BY 1""")]


def test_old_weeks_of_the_dedup_index_are_dropped_and_every_story_stays(polled_db):
    old_weeks = band_weeks(polled_db)  # the seed articles are from years ago
    query(polled_db, "SELECT add_article_band_weeks(ARRAY[now(), now() - interval '80 days'])")
    recent_weeks = sorted(set(band_weeks(polled_db)) - set(old_weeks))
    stories = query(polled_db, "SELECT id, copies FROM stories ORDER BY id")
    [(recent_copy,)] = query(polled_db, """UPDATE articles SET published_at = now() - interval '10 days'
                                           WHERE id = (SELECT min(id) FROM articles) RETURNING id""")
    assert query(polled_db, "SELECT count(*) FROM article_fingerprints") == query(polled_db, "SELECT count(*) FROM articles")

    with db.connect(polled_db) as conn:
        assert drop_old_band_weeks(conn, timedelta(days=90)) == old_weeks
        assert drop_old_band_weeks(conn, timedelta(days=90)) == []

    assert old_weeks and len(recent_weeks) == 2
    assert band_weeks(polled_db) == recent_weeks
    assert query(polled_db, "SELECT id, copies FROM stories ORDER BY id") == stories
    # The old copies' fingerprints went with their bands; the recent copy keeps its own.
    assert query(polled_db, "SELECT article_id FROM article_fingerprints") == [(recent_copy,)]


def test_the_cli_drops_old_weeks_of_the_dedup_index(polled_db, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app

    monkeypatch.setenv("WIREDESK_DATABASE_URL", polled_db)
    weeks = band_weeks(polled_db)
    result = CliRunner().invoke(app, ["maintenance", "drop-band-weeks", "--older-than-days", "90"])
    assert result.exit_code == 0, result.output
    assert f"{len(weeks)} weeks of the dedup index older than 90 days dropped: {', '.join(weeks)}" in result.output
    assert band_weeks(polled_db) == []


def test_prune_stops_at_its_time_budget_and_the_next_call_goes_on(polled_db):
    from datetime import timedelta

    query(polled_db, "UPDATE fetches SET started_at = now() - interval '40 days' RETURNING id")
    total = query(polled_db, "SELECT count(*) FROM fetches")[0][0]
    with db.connect(polled_db) as conn:
        # A zero budget still deletes one batch, so every daily run makes progress.
        assert prune_fetches(conn, timedelta(days=30), batch_size=5, max_seconds=0) == 5
        assert prune_fetches(conn, timedelta(days=30), batch_size=5) == total - 5


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).dags[dag_id]


def test_news_maintenance_run_prunes_and_analyzes(polled_db, airflow_metadata, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WIREDESK_DB", polled_db)
    monkeypatch.setenv("WIREDESK_FETCH_RETENTION_DAYS", "7")
    query(polled_db, "UPDATE fetches SET started_at = now() - interval '8 days' WHERE http_status = 404 RETURNING id")

    run = _dag("news_maintenance").test()

    assert str(run.state) == "success"
    assert query(polled_db, "SELECT count(*), count(*) FILTER (WHERE http_status = 404) FROM fetches") == [(2, 0)]
    assert band_weeks(polled_db) == []  # the seed stories are years old: past the 90 days kept by default
    never_analyzed = query(polled_db, "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL")
    assert never_analyzed == []


def test_news_reclassify_relabels_old_model_labels_in_bounded_runs(polled_db, airflow_metadata, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WIREDESK_DB", polled_db)
    monkeypatch.setenv("WIREDESK_RECLASSIFY_MAX_STORIES", "2")
    stories = query(polled_db, "SELECT count(*) FROM stories")[0][0]
    assert stories >= 3
    # Labels from a model that no longer exists.
    query(polled_db, "UPDATE stories SET event_type = 'other', classified_by = 'retired-model' RETURNING id")
    dag = _dag("news_reclassify")

    assert str(dag.test().state) == "success"
    relabelled = query(polled_db, """SELECT classified_by FROM stories WHERE classified_by <> 'retired-model'""")
    assert len(relabelled) == 2
    current = relabelled[0][0]
    with db.connect(polled_db) as conn:
        assert stale_story_count(conn, current) == stories - 2

    while query(polled_db, "SELECT count(*) FROM stories WHERE classified_by = 'retired-model'")[0][0]:
        assert str(dag.test().state) == "success"
    assert query(polled_db, "SELECT count(DISTINCT classified_by), count(*) FROM stories") == [(1, stories)]
    assert query(polled_db, "SELECT count(*) FROM classifications WHERE model_version = %s", (current,)) == [(stories,)]
