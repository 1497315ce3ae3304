"""The news_ingest DAG, run by Airflow itself against a real Postgres and a local feed server."""

from __future__ import annotations

import pytest
from conftest import REPO, query


def test_dags_import_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(REPO / "dags"))

    assert dagbag.import_errors == {}
    dag = dagbag.dags["news_ingest"]
    assert {t.task_id for t in dag.tasks} == {"plan_polls", "poll_feeds", "fold_stories", "classify_stories", "publish_new_stories"}
    assert dag.max_active_runs == 1
    assert dag.doc_md


@pytest.fixture
def news_ingest_dag(news_db, seed_server, airflow_metadata, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_CONN_WIREDESK_DB", news_db)
    monkeypatch.setenv("WIREDESK_FEEDS", str(REPO / "seeds" / "feeds.yaml"))
    return DagBag(dag_folder=str(REPO / "dags")).dags["news_ingest"]


def _run(dag) -> str:
    return str(dag.test().state)


def test_a_run_folds_the_seed_story_from_its_copies(news_ingest_dag, news_db):
    assert _run(news_ingest_dag) == "success"

    stories = query(news_db, """
        SELECT s.title, s.agency, s.copies, count(DISTINCT a.feed_id)
        FROM stories s JOIN articles a ON a.story_id = s.id
        WHERE s.title ILIKE '%%150 IS fighters%%' GROUP BY s.id""")
    assert stories == [("US-led strikes kill up to 150 IS fighters in Syria", "AFP", 4, 4)]
    # The next day's AFP Syria story shares a background paragraph but is another story.
    assert query(news_db, "SELECT copies FROM stories WHERE title ILIKE 'Kurdish-led forces%%'") == [(1,)]
    assert query(news_db, "SELECT count(*), count(story_id) FROM articles") == [(11, 11)]
    assert query(news_db, "SELECT count(*) FROM stories") == [(7,)]
    assert query(news_db, "SELECT count(*), count(*) FILTER (WHERE outcome = 'ok') FROM fetches") == [(4, 4)]
    # Stories, not copies, are classified: one inference for the four copies.
    assert query(news_db, "SELECT event_type FROM stories WHERE title ILIKE '%%150 IS fighters%%'") == [("armed_conflict",)]
    assert query(news_db, "SELECT count(*), count(DISTINCT story_id) FROM classifications") == [(7, 7)]


def test_a_second_run_adds_nothing(news_ingest_dag, news_db):
    _run(news_ingest_dag)
    before = query(news_db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)")

    assert _run(news_ingest_dag) == "success"
    assert query(news_db, "SELECT outcome FROM fetches ORDER BY id DESC LIMIT 4") == [("not_modified",)] * 4

    # Even when the server sends everything again (no validators), nothing is duplicated.
    query(news_db, "UPDATE feeds SET etag = NULL, last_modified = NULL RETURNING id")
    assert _run(news_ingest_dag) == "success"
    assert query(news_db, "SELECT outcome, new_articles FROM fetches ORDER BY id DESC LIMIT 4") == [("ok", 0)] * 4
    after = query(news_db, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)")
    assert after == before
