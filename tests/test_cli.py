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
    assert "armed_conflict 2" in first.output

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
    shipped = [(version, name) for version, name, _ in db.available_migrations()]
    assert shipped[0] == (1, "initial")
    assert query(news_db, "SELECT version, name FROM schema_migrations ORDER BY version") == shipped


def test_feeds_import_opml_then_list_shows_their_health(news_db, monkeypatch, tmp_path):
    monkeypatch.setenv("WIREDESK_DATABASE_URL", news_db)
    opml = tmp_path / "export.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head><title>My feeds</title></head><body>
      <outline text="World"><outline type="rss" text="Harbour Gazette" xmlUrl="https://harbourgazette.example/feed.xml"/>
      <outline type="rss" title="Nile Post" text="np" xmlUrl="https://nilepost.example/rss"/></outline></body></opml>""")

    imported = runner.invoke(app, ["feeds", "import-opml", str(opml)])
    assert imported.exit_code == 0 and "2 feeds imported" in imported.output
    query(news_db, "UPDATE feeds SET active = false, deactivated_reason = '410 Gone' WHERE name = 'Nile Post' RETURNING id")

    listing = runner.invoke(app, ["feeds", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert any("Harbour Gazette" in line and "never" in line for line in lines)
    assert any("Nile Post" in line and "inactive" in line and "410 Gone" in line for line in lines)
