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


def feed_state(url: str, name: str) -> dict:
    [row] = query(url, """SELECT active, deactivated_reason, consecutive_failures,
                                 extract(epoch FROM next_poll_at - last_polled_at), url, entry_key_source
                          FROM feeds WHERE name = %s""", (name,))
    return dict(zip(["active", "reason", "failures", "wait_s", "url", "entry_key_source"], row))


def test_retry_after_is_honoured(news_db, host):
    with db.connect(news_db) as conn:
        sync_feeds(conn, [FeedSpec("busy", f"{host}/rate-limited")])
    run_cycle(news_db)
    state = feed_state(news_db, "busy")
    assert state["active"] and state["failures"] == 1
    assert state["wait_s"] == pytest.approx(600, abs=2)


def test_a_gone_feed_is_deactivated_with_its_reason(news_db, host):
    with db.connect(news_db) as conn:
        sync_feeds(conn, [FeedSpec("gone", f"{host}/gone")])
    run_cycle(news_db)
    state = feed_state(news_db, "gone")
    assert not state["active"]
    assert "410" in state["reason"]


def test_a_feed_that_keeps_failing_is_deactivated(news_db, host):
    with db.connect(news_db) as conn:
        sync_feeds(conn, [FeedSpec("flaky", f"{host}/server-error")])
    query(news_db, "UPDATE feeds SET consecutive_failures = 11 RETURNING id")
    run_cycle(news_db)
    state = feed_state(news_db, "flaky")
    assert not state["active"]
    assert state["reason"].startswith("12 consecutive failures, last: HTTP500")


def test_a_permanent_redirect_updates_the_stored_url(news_db, host):
    with db.connect(news_db) as conn:
        sync_feeds(conn, [FeedSpec("moved", f"{host}/moved")])
    run_cycle(news_db)
    assert feed_state(news_db, "moved")["url"] == f"{host}/guardian.rss"


def test_a_feed_that_repeats_guids_is_keyed_by_link_from_then_on(news_db, tmp_path):
    from pipeline.seedserver import serve_directory

    item = "<item><title>{0}</title><link>https://x.example/{0}</link><guid>{1}</guid></item>"
    doc = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{}</channel></rss>'
    (tmp_path / "feed.xml").write_text(doc.format(item.format("a", "g") + item.format("b", "g")))
    server, base = serve_directory(tmp_path)
    try:
        with db.connect(news_db) as conn:
            sync_feeds(conn, [FeedSpec("dupes", f"{base}/feed.xml")])
        run_cycle(news_db)
        # The next version has distinct GUIDs, but keys must not flip to them.
        (tmp_path / "feed.xml").write_text(doc.format(item.format("a", "g1") + item.format("b", "g2")))
        run_cycle(news_db)
    finally:
        server.shutdown()
    assert feed_state(news_db, "dupes")["entry_key_source"] == "link"
    assert query(news_db, "SELECT entry_key FROM articles ORDER BY entry_key") == [
        ("url:https://x.example/a",), ("url:https://x.example/b",)]


def test_feeds_are_batched_by_host_without_splitting_a_host():
    from pipeline.feeds import plan_host_batches

    feeds = [(i, f"https://host{i % 5}.example/feed{i}.xml") for i in range(50)]
    batches = plan_host_batches(feeds, max_batches=3)
    assert len(batches) == 3
    assert sorted(i for b in batches for i in b) == list(range(50))
    hosts_per_batch = [{i % 5 for i in b} for b in batches]
    assert sum(len(h) for h in hosts_per_batch) == 5  # every host in exactly one batch
