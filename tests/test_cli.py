"""The wiredesk CLI: the same stages as the DAG, from a shell."""

from __future__ import annotations

from conftest import REPO, query
from typer.testing import CliRunner

from pipeline import db
from pipeline.cli import app

runner = CliRunner()


def test_ingest_runs_a_cycle_and_prints_what_it_added(news_db, seed_server, monkeypatch):
    monkeypatch.setenv("WIREDESK_DATABASE_URL", news_db)

    first = runner.invoke(app, ["ingest", "--feeds", str(REPO / "seeds" / "feeds.yaml")])
    assert first.exit_code == 0, first.output
    assert "new articles: 11" in first.output
    assert "new stories:  7" in first.output
    assert "4 copies: US-led strikes kill up to 150 IS fighters in Syria" in first.output

    second = runner.invoke(app, ["ingest"])
    assert second.exit_code == 0, second.output
    assert "nothing new" in second.output and "4 feeds answered 304" in second.output
    assert query(news_db, "SELECT count(*) FROM articles") == [(11,)]


def test_db_url_prints_the_configured_database(news_db, monkeypatch):
    monkeypatch.setenv("WIREDESK_DATABASE_URL", news_db)
    result = runner.invoke(app, ["db-url"])
    assert result.output.strip() == news_db


def test_without_a_database_the_cli_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv("WIREDESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("WIREDESK_HOME", str(tmp_path))
    result = runner.invoke(app, ["db-url"])
    assert result.exit_code == 1
    assert "wiredesk db start" in result.output


def test_migrations_are_recorded_and_applied_once(news_db):
    assert db.migrate(news_db) == []
    assert query(news_db, "SELECT version, name FROM schema_migrations") == [(1, "initial")]
