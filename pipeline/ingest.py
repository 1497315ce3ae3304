"""One ingest cycle: poll due feeds -> parse and normalise -> store copies -> assign stories.

These are the functions the ``news_ingest`` DAG's tasks call, and what
``wiredesk ingest`` runs in one process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pipeline import db
from pipeline.dedup import AssignResult, assign_stories
from pipeline.feeds import due_feed_ids, get_feed, load_feed_specs, sync_feeds
from pipeline.fetch import FetchLimits, http_client, poll_feed
from pipeline.parse import parse_feed
from pipeline.store import record_fetch, store_articles

log = logging.getLogger(__name__)


@dataclass
class PollOutcome:
    """The counts one feed poll produced (what goes into XCom: no bodies)."""

    feed_id: int
    outcome: str
    entries_seen: int = 0
    new_articles: int = 0
    error_class: str | None = None


@dataclass
class CycleResult:
    polls: list[PollOutcome] = field(default_factory=list)
    stories: AssignResult = field(default_factory=AssignResult)


def sync_and_list_due(db_url: str, feeds_file: str | Path | None) -> list[int]:
    """Sync the feed list (when given) into the database; return the ids of feeds due a poll."""
    with db.connect(db_url) as conn:
        if feeds_file:
            sync_feeds(conn, load_feed_specs(feeds_file))
        return due_feed_ids(conn)


def ingest_feed(db_url: str, feed_id: int, client: httpx.Client | None = None,
                limits: FetchLimits = FetchLimits()) -> PollOutcome:
    """Poll one feed and store its new copies; every outcome, good or bad, is recorded."""
    with db.connect(db_url) as conn:
        feed = get_feed(conn, feed_id)
    own_client = client is None
    client = client or http_client(limits)
    try:
        fetch = poll_feed(feed, client, limits)
    finally:
        if own_client:
            client.close()
    parsed = None
    if fetch.outcome == "ok":
        parsed = parse_feed(fetch.body, feed.url, fetch.started_at, fetch.headers, feed.agency_hint)
    with db.connect(db_url) as conn:
        entries = len(parsed.articles) if parsed else 0
        fetch_id = record_fetch(conn, feed_id, fetch, entries, parsed.warning if parsed else None)
        new = store_articles(conn, feed_id, fetch_id, parsed.articles) if parsed else 0
    outcome = PollOutcome(feed_id, fetch.outcome, entries, new, fetch.error_class)
    if fetch.outcome == "error":
        log.warning("feed %s (%s): %s %s", feed.name, feed.url, fetch.error_class, fetch.error_message)
    else:
        log.info("feed %s: %s, %d entries, %d new", feed.name, fetch.outcome, entries, new)
    return outcome


def build_stories(db_url: str) -> AssignResult:
    """Fold every unassigned copy into its story (new or existing)."""
    with db.connect(db_url) as conn:
        return assign_stories(conn)


def run_cycle(db_url: str, feeds_file: str | Path | None = None) -> CycleResult:
    """Everything one scheduled run does, in one process."""
    result = CycleResult()
    feed_ids = sync_and_list_due(db_url, feeds_file)
    with http_client() as client:
        result.polls = [ingest_feed(db_url, feed_id, client) for feed_id in feed_ids]
    result.stories = build_stories(db_url)
    return result
