"""Story assignment: copies fold into one story, different stories stay apart, reruns are no-ops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import REPO, query

from pipeline import db
from pipeline.dedup import TextFeatures, assign_stories, same_story
from pipeline.feeds import sync_feeds
from pipeline.records import Article, FeedSpec
from pipeline.normalise import text_hash
from pipeline.store import store_articles

SEED = (REPO / "seeds" / "seed-article.txt").read_text()
PARAS = [p.strip() for p in SEED.split("\n") if p.strip()][2:-1]
BACKGROUND = PARAS[4]  # "While IS has lost most of the terrain..."


def features(*paras: str) -> TextFeatures:
    return TextFeatures.of("\n\n".join(paras))


def test_a_trimmed_copy_and_a_teaser_are_the_same_story():
    full = features(*PARAS)
    assert same_story(full, features(*PARAS[:8]))
    assert same_story(full, features(*PARAS[:2]))


def test_a_shared_background_paragraph_is_not_enough():
    other = features(
        "BEIRUT (AFP) - Syrian Democratic Forces said Wednesday they had retaken two villages near Hajin.",
        "SDF spokesman Mustefa Bali said the alliance had pushed IS out of Al-Bahra and Gharanij.",
        BACKGROUND,
    )
    assert not same_story(features(*PARAS), other)


def article(key: str, title: str, text: str, when: datetime, url: str | None = None) -> Article:
    return Article(
        entry_key=key, guid=key, url=url, canonical_url=url, title=title, summary=text, content="",
        author=None, published_at=when, published_guessed=False, text_hash=text_hash(title, text),
        agency=None, agency_evidence=None,
    )


def load(url: str, feed: str, articles: list[Article]) -> None:
    with db.connect(url) as conn:
        [feed_id] = sync_feeds(conn, [FeedSpec(feed, f"http://127.0.0.1/{feed}.xml")])
        store_articles(conn, feed_id, None, articles)


def test_copies_across_feeds_fold_and_a_rerun_changes_nothing(news_db):
    day = datetime(2018, 12, 4, 9, tzinfo=UTC)
    load(news_db, "wire", [article("a1", "US-led strikes kill up to 150 IS fighters", "\n\n".join(PARAS), day)])
    load(news_db, "site", [
        article("b1", "Coalition says 150 jihadists killed", "\n\n".join(PARAS[:6]), day + timedelta(hours=2)),
        article("b2", "Same link, other words", "Completely different words about nothing in particular here.",
                day + timedelta(hours=3), url="https://wire.example/story"),
    ])
    load(news_db, "aggregator", [
        article("c1", "Linked again", "Another unrelated sentence that only shares the link with b2.",
                day + timedelta(hours=4), url="https://wire.example/story"),
    ])
    with db.connect(news_db) as conn:
        first = assign_stories(conn)
    assert (first.assigned, len(first.new_story_ids), first.folded) == (4, 2, 2)
    assert query(news_db, "SELECT copies FROM stories ORDER BY id") == [(2,), (2,)]

    with db.connect(news_db) as conn:
        again = assign_stories(conn)
    assert again.assigned == 0
    assert query(news_db, "SELECT count(*) FROM stories") == [(2,)]


def test_the_same_text_a_month_later_is_a_new_story(news_db):
    day = datetime(2024, 3, 1, tzinfo=UTC)
    text = "\n\n".join(PARAS)
    load(news_db, "wire", [article("m1", "Monthly", text, day), article("m2", "Monthly", text, day + timedelta(days=31))])
    with db.connect(news_db) as conn:
        assert len(assign_stories(conn).new_story_ids) == 2
