"""One ingest cycle: poll due feeds -> parse and normalise -> store copies -> assign stories.

These are the functions the ``news_ingest`` DAG's tasks call, and what
``wiredesk ingest`` runs in one process.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pipeline import db
from pipeline.dedup import AssignResult, assign_stories
from pipeline.feeds import due_feeds, get_feed, load_feed_specs, plan_host_batches, sync_feeds
from pipeline.fetch import FetchLimits, http_client, poll_feed
from pipeline.parse import parse_feed
from pipeline.report import tally
from pipeline.store import record_fetch, remember_entry_key_source, store_articles

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
class BatchCounts:
    """Counts over several polls: what a poll task reports."""

    feeds_polled: int = 0
    not_modified: int = 0
    entries_seen: int = 0
    new_articles: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, polls: list[PollOutcome]) -> BatchCounts:
        return cls(
            feeds_polled=len(polls),
            not_modified=sum(p.outcome == "not_modified" for p in polls),
            entries_seen=sum(p.entries_seen for p in polls),
            new_articles=sum(p.new_articles for p in polls),
            errors=dict(Counter(p.error_class for p in polls if p.error_class)),
        )

    @classmethod
    def total(cls, batches: list[BatchCounts]) -> BatchCounts:
        """The counts of several batches added up (errors sorted by class)."""
        errors = sum((Counter(b.errors) for b in batches), Counter())
        return cls(
            feeds_polled=sum(b.feeds_polled for b in batches),
            not_modified=sum(b.not_modified for b in batches),
            entries_seen=sum(b.entries_seen for b in batches),
            new_articles=sum(b.new_articles for b in batches),
            errors=dict(sorted(errors.items())),
        )

    def line(self) -> str:
        """A one-line summary for task logs."""
        return (f"{self.feeds_polled} feeds polled, {self.not_modified} not modified, "
                f"{self.entries_seen} entries seen, {self.new_articles} new articles, "
                f"errors: {tally(dict(sorted(self.errors.items())))}")


@dataclass
class CycleResult:
    polls: list[PollOutcome] = field(default_factory=list)
    stories: AssignResult = field(default_factory=AssignResult)


def plan_polls(db_url: str, feeds_file: str | Path | None, max_batches: int = 64) -> list[list[int]]:
    """Sync the feed list (when given); return the due feeds' ids in batches grouped by host."""
    with db.connect(db_url) as conn:
        if feeds_file:
            sync_feeds(conn, load_feed_specs(feeds_file))
        return plan_host_batches(due_feeds(conn), max_batches)


def ingest_feed(db_url: str, feed_id: int, client: httpx.Client,
                limits: FetchLimits = FetchLimits()) -> PollOutcome:
    """Poll one feed and store its new copies; every outcome, good or bad, is recorded."""
    with db.connect(db_url) as conn:
        feed = get_feed(conn, feed_id)
    fetch = poll_feed(feed, client, limits)
    parsed = None
    if fetch.outcome == "ok":
        parsed = parse_feed(fetch.body, feed.url, fetch.started_at, fetch.headers,
                            feed.agency_hint, feed.entry_key_source)
    with db.connect(db_url) as conn:
        entries = len(parsed.articles) if parsed else 0
        fetch_id = record_fetch(conn, feed_id, fetch, entries, parsed.warning if parsed else None)
        new = 0
        if parsed:
            if parsed.entry_key_source != feed.entry_key_source:
                remember_entry_key_source(conn, feed_id, parsed.entry_key_source)
            new = store_articles(conn, feed_id, fetch_id, parsed.articles)
    if fetch.outcome == "error":
        log.warning("feed %s (%s): %s %s", feed.name, feed.url, fetch.error_class, fetch.error_message)
    elif parsed and parsed.warning:
        log.warning("feed %s: malformed, kept %d entries (%s)", feed.name, entries, parsed.warning)
    return PollOutcome(feed_id, fetch.outcome, entries, new, fetch.error_class)


def poll_batch(db_url: str, feed_ids: list[int], limits: FetchLimits = FetchLimits()) -> list[PollOutcome]:
    """Poll feeds one after another (a batch never hits one host twice at once)."""
    with http_client(limits) as client:
        return [ingest_feed(db_url, feed_id, client, limits) for feed_id in feed_ids]


def build_stories(db_url: str) -> AssignResult:
    """Fold every unassigned copy into its story (new or existing)."""
    with db.connect(db_url) as conn:
        return assign_stories(conn)


def run_cycle(db_url: str, feeds_file: str | Path | None = None, concurrency: int = 8) -> CycleResult:
    """Everything one scheduled run does, in one process: host batches polled in parallel."""
    batches = plan_polls(db_url, feeds_file)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        polls = [p for batch in pool.map(lambda ids: poll_batch(db_url, ids), batches) for p in batch]
    return CycleResult(polls=polls, stories=build_stories(db_url))
