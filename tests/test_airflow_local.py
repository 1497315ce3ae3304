"""Airflow for real, as a user drives it: start the services `make airflow` starts, trigger
news_ingest through the REST API, wait for the run, read the results in Postgres, stop.

Real api-server, scheduler (LocalExecutor), dag-processor and triggerer processes, the
real news database (the test Postgres), the seed feeds on a local HTTP server, and
the trained classifier.
"""

from __future__ import annotations

import json
import time
import uuid

import psycopg2
import pytest
from conftest import REPO, query

from pipeline import airflow_local
from pipeline.airflow_local import api_request
from pipeline.localdb import free_port

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 300  # seconds; a run takes ~20-40 s here


@pytest.fixture
def local_airflow(pg_server, news_db, seed_server, tmp_path, monkeypatch):
    """Airflow started in a state folder of its own, with a metadata database of its own;
    every process it started is stopped afterwards, whatever happened."""
    monkeypatch.setenv("WIREDESK_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("WIREDESK_AIRFLOW_PORT", str(free_port()))
    monkeypatch.setenv("WIREDESK_INGEST_SCHEDULE", "none")  # the test triggers the one run itself
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "2")
    metadata_db = f"airflow_{uuid.uuid4().hex[:8]}"
    metadata = airflow_local.ensure_database(pg_server, metadata_db)
    try:
        yield airflow_local.start(news_db, REPO / "seeds" / "feeds.yaml", metadata=metadata, unpaused=False,
                                  timeout=180)
    finally:
        airflow_local.stop()
        assert airflow_local.running_components() == []
        admin = psycopg2.connect(pg_server)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {metadata_db} WITH (FORCE)")
        admin.close()


def _wait_for_run(airflow, token: str, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = api_request(airflow.url, "GET", f"/api/v2/dags/news_ingest/dagRuns/{run_id}", token=token)
        if run["state"] in ("success", "failed"):
            return run
        time.sleep(2)
    return run


def _task_log(airflow, token: str, run_id: str, task_id: str) -> str:
    answer = api_request(airflow.url, "GET",
                         f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances/{task_id}/logs/1", token=token)
    content = answer.get("content", [])
    return "\n".join(c.get("event", "") if isinstance(c, dict) else str(c) for c in content)


def test_news_ingest_triggered_through_the_rest_api(local_airflow, news_db):
    airflow = local_airflow
    token = api_request(airflow.url, "POST", "/auth/token",
                        {"username": airflow.username, "password": airflow.password})["access_token"]
    # Started paused (as a fresh deployment may be): unpause news_ingest alone, then trigger it.
    api_request(airflow.url, "PATCH", "/api/v2/dags/news_ingest", {"is_paused": False}, token=token)
    run_id = api_request(airflow.url, "POST", "/api/v2/dags/news_ingest/dagRuns", {"logical_date": None},
                         token=token)["dag_run_id"]

    run = _wait_for_run(airflow, token, run_id)

    tasks = api_request(airflow.url, "GET", f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances",
                        token=token)["task_instances"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
    assert run["state"] == "success", json.dumps(states) + "\n" + "\n".join(
        _task_log(airflow, token, run_id, t) for (t, _), s in states.items() if s == "failed")
    assert states == {("plan_polls", -1): "success", ("poll_feeds", 0): "success", ("fold_stories", -1): "success",
                      ("classify_stories", -1): "success", ("publish_new_stories", -1): "success"}
    # The seed feeds: 11 copies, the AFP story four times over, 7 stories, each labelled once.
    assert query(news_db, "SELECT count(*), count(story_id) FROM articles") == [(11, 11)]
    assert query(news_db, "SELECT count(*), count(event_type), count(classified_by) FROM stories") == [(7, 7, 7)]
    assert query(news_db, "SELECT count(*) FROM classifications") == [(7,)]
    assert query(news_db, "SELECT copies FROM stories WHERE title ILIKE '%%150 IS fighters%%'") == [(4,)]
    assert query(news_db, "SELECT count(*) FILTER (WHERE outcome = 'ok') FROM fetches") == [(4,)]
    # The run announced its new stories as an Asset event...
    events = api_request(airflow.url, "GET", "/api/v2/assets/events?source_dag_id=news_ingest", token=token)
    assert [e["extra"]["new_stories"] for e in events["asset_events"]] == [7]
    # ...and its task logs say what happened in one line each.
    assert "fold_stories: 4 feeds polled, 0 not modified, errors: none, 11 new articles" in _task_log(
        airflow, token, run_id, "fold_stories")
    assert "classify_stories: 7 stories classified by model" in _task_log(airflow, token, run_id, "classify_stories")
