"""The three DAGs as the scheduler sees them: schedules, pool, retries, Asset wiring, parse time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import REPO


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(REPO / "dags"))
    assert dagbag.import_errors == {}
    return dagbag


@pytest.fixture(scope="module")
def dags():
    return _dagbag().dags


def test_every_dag_is_documented_and_runs_one_at_a_time(dags):
    assert set(dags) == {"news_ingest", "news_reclassify", "news_maintenance"}
    for dag in dags.values():
        assert dag.doc_md and dag.max_active_runs == 1 and not dag.catchup
        assert "wiredesk" in dag.tags
        for t in dag.tasks:
            assert t.retries == 3 and t.retry_exponential_backoff, t.task_id
            assert t.retry_delay == timedelta(seconds=30) and t.max_retry_delay == timedelta(minutes=10)


def test_news_ingest_polls_in_the_http_pool_and_publishes_the_asset(dags):
    dag = dags["news_ingest"]
    assert [t.task_id for t in dag.topological_sort()] == [
        "plan_polls", "poll_feeds", "fold_stories", "classify_stories", "publish_new_stories"]
    assert dag.get_task("poll_feeds").pool == "wiredesk_http"
    assert {t.task_id for t in dag.tasks if t.pool == "wiredesk_http"} == {"poll_feeds"}
    [asset] = dag.get_task("publish_new_stories").outlets
    assert (asset.name, asset.uri) == ("wiredesk_new_stories", "wiredesk://news-db/stories")
    assert dag.timetable.expression == "*/5 * * * *"


def test_news_reclassify_is_scheduled_by_the_new_stories_asset(dags):
    from airflow.sdk import Asset

    dag = dags["news_reclassify"]
    assert list(dag.timetable.asset_condition.objects) == [Asset(name="wiredesk_new_stories", uri="wiredesk://news-db/stories")]
    assert dags["news_maintenance"].timetable.expression == "0 0 * * *"


def test_schedules_follow_the_environment(monkeypatch):
    monkeypatch.setenv("WIREDESK_INGEST_SCHEDULE", "*/15 * * * *")
    monkeypatch.setenv("WIREDESK_RECLASSIFY_SCHEDULE", "none")
    monkeypatch.setenv("WIREDESK_MAINTENANCE_SCHEDULE", "30 3 * * *")
    dags = _dagbag().dags
    assert dags["news_ingest"].timetable.expression == "*/15 * * * *"
    assert type(dags["news_reclassify"].timetable).__name__ == "NullTimetable"  # on demand only
    assert dags["news_maintenance"].timetable.expression == "30 3 * * *"


def test_each_dag_file_parses_in_well_under_a_second():
    stats = _dagbag().dagbag_stats
    assert {s.file.rsplit("/", 1)[-1] for s in stats} == {"news_ingest.py", "news_reclassify.py", "news_maintenance.py"}
    for s in stats:
        assert s.duration.total_seconds() < 1, s


def test_an_airflow_variable_overrides_the_environment(monkeypatch):
    _dagbag()  # puts dags/ on sys.path, as Airflow does
    from wiredesk_common import int_setting

    assert int_setting("poll_batches") == 64
    monkeypatch.setenv("WIREDESK_POLL_BATCHES", "9")
    assert int_setting("poll_batches") == 9
    # AIRFLOW_VAR_* is Airflow's own environment-variable backend for Variables.
    monkeypatch.setenv("AIRFLOW_VAR_WIREDESK_POLL_BATCHES", "7")
    assert int_setting("poll_batches") == 7
    monkeypatch.setenv("WIREDESK_SILENT_DAYS", "three")
    with pytest.raises(ValueError, match="wiredesk_silent_days must be a whole number"):
        int_setting("silent_days")
