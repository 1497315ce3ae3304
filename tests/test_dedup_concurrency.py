"""Two real worker processes storing and folding copies of one story at the same moment."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import REPO, query

from pipeline import db

# Each worker: register its feed, wait for the shared start time, store its copies, fold.
WORKER = """
import sys, time
from datetime import datetime, timedelta, UTC
from pipeline import db
from pipeline.dedup import assign_stories
from pipeline.feeds import sync_feeds
from pipeline.normalise import text_hash
from pipeline.records import Article, FeedSpec
from pipeline.store import store_articles

url, feed, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
paras = [p.strip() for p in open("seeds/seed-article.txt").read().split("\\n") if p.strip()][2:-1]
day = datetime(2018, 12, 4, 9, tzinfo=UTC)
copies = [("Strikes kill 150 IS fighters " + feed + str(n), "\\n\\n".join(paras[:9 - n])) for n in range(3)]
with db.connect(url) as conn:
    [feed_id] = sync_feeds(conn, [FeedSpec(feed, "http://127.0.0.1/" + feed)])
time.sleep(max(0, start - time.time()))
for n, (title, text) in enumerate(copies):
    with db.connect(url) as conn:
        store_articles(conn, feed_id, None, [Article(
            entry_key=f"{feed}-{n}", guid=None, url=None, canonical_url=None, title=title, summary=text,
            content="", author=None, published_at=day + timedelta(minutes=n), published_guessed=False,
            text_hash=text_hash(title, text), agency=None, agency_evidence=None)])
    with db.connect(url) as conn:
        assign_stories(conn)
"""


def test_two_workers_folding_copies_of_one_story_at_once_make_one_story(news_db):
    start = time.time() + 3  # both processes are up and connected by then
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, news_db, feed, str(start)], cwd=REPO)
               for feed in ("worker-a", "worker-b")]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]

    assert query(news_db, "SELECT count(*), count(story_id) FROM articles") == [(6, 6)]
    assert query(news_db, "SELECT count(*), sum(copies) FROM stories") == [(1, 6)]
    with db.connect(news_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT stories FROM paragraph_recurrence")
        assert {row[0] for row in cur.fetchall()} == {1}  # each paragraph counted once, for the one story
