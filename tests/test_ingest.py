"""One ingest cycle: bad feeds get a recorded outcome and never stop the others."""

from __future__ import annotations

import pytest
from conftest import query
from feedhost import start_feed_host

from pipeline import db
from pipeline.feeds import sync_feeds
from pipeline.ingest import run_cycle
from pipeline.records import FeedSpec


@pytest.fixture
def host():
    server, base = start_feed_host()
    yield base
    server.shutdown()


def test_failures_are_recorded_with_backoff_while_good_feeds_load(news_db, host):
    with db.connect(news_db) as conn:
        sync_feeds(conn, [FeedSpec("broken", f"{host}/server-error"), FeedSpec("gone", f"{host}/gone"),
                          FeedSpec("guardian", f"{host}/guardian.rss")])

    result = run_cycle(news_db)

    assert sorted(p.outcome for p in result.polls) == ["error", "error", "ok"]
    assert result.stories.assigned == 55
    rows = query(news_db, """SELECT f.name, x.outcome, x.http_status, x.error_class, x.new_articles,
                                    f.consecutive_failures, f.next_poll_at > x.started_at
                             FROM fetches x JOIN feeds f ON f.id = x.feed_id ORDER BY f.name""")
    assert rows == [
        ("broken", "error", 500, "HTTP500", 0, 1, True),
        ("gone", "error", 410, "HTTP410", 0, 1, True),
        ("guardian", "ok", 200, None, 55, 0, False),
    ]
    # Backed-off feeds are not due again straight away; the healthy one is.
    assert [p.feed_id for p in run_cycle(news_db).polls] == [3]
