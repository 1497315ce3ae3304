"""Writes of poll outcomes and article copies to Postgres; every write is idempotent."""

from __future__ import annotations

from datetime import timedelta

from pipeline.dedup_pg import save_fingerprints
from pipeline.fingerprint import Fingerprint
from pipeline.records import Article, FetchResult

MAX_BACKOFF = timedelta(hours=24)
# A feed failing this many polls in a row is deactivated (about a day of backed-off polls).
MAX_CONSECUTIVE_FAILURES = 12


def record_fetch(conn, feed_id: int, fetch: FetchResult, entries_seen: int = 0,
                 parse_warning: str | None = None) -> int:
    """Store one poll outcome and update the feed's poll state; return the fetch id."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO fetches (feed_id, started_at, url, outcome, http_status, bytes,
                                    duration_ms, entries_seen, parse_warning, error_class, error_message)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (feed_id, fetch.started_at, fetch.url, fetch.outcome, fetch.status, len(fetch.body),
             fetch.duration_ms, entries_seen, parse_warning, fetch.error_class, fetch.error_message),
        )
        fetch_id = cur.fetchone()[0]
        if fetch.outcome == "error":
            _record_failure(cur, feed_id, fetch)
        else:
            cur.execute(
                """UPDATE feeds SET last_status = %s, last_polled_at = %s, last_success_at = %s,
                          consecutive_failures = 0, next_poll_at = %s,
                          etag = COALESCE(%s, etag), last_modified = COALESCE(%s, last_modified),
                          url = COALESCE(%s, url)
                   WHERE id = %s""",
                (fetch.status, fetch.started_at, fetch.started_at, fetch.started_at,
                 fetch.headers.get("etag"), fetch.headers.get("last-modified"), fetch.moved_to,
                 feed_id),
            )
    return fetch_id


def _record_failure(cur, feed_id: int, fetch: FetchResult) -> None:
    """Back off exponentially (or as long as Retry-After asks); deactivate a gone or dead feed."""
    cur.execute(
        """UPDATE feeds SET last_status = %(status)s, last_polled_at = %(at)s,
                  consecutive_failures = consecutive_failures + 1,
                  next_poll_at = %(at)s + GREATEST(
                      LEAST(interval '1 minute' * power(2, consecutive_failures), %(max_backoff)s),
                      make_interval(secs => %(retry_after)s))
           WHERE id = %(id)s RETURNING consecutive_failures""",
        {"status": fetch.status, "at": fetch.started_at, "max_backoff": MAX_BACKOFF,
         "retry_after": fetch.retry_after or 0, "id": feed_id},
    )
    failures = cur.fetchone()[0]
    reason = None
    if fetch.status == 410:
        reason = "410 Gone: the publisher removed the feed"
    elif failures >= MAX_CONSECUTIVE_FAILURES:
        reason = f"{failures} consecutive failures, last: {fetch.error_class} {fetch.error_message}"
    if reason:
        cur.execute(
            """UPDATE feeds SET active = false, deactivated_reason = %s, deactivated_at = %s
               WHERE id = %s""",
            (reason, fetch.started_at, feed_id),
        )


def remember_entry_key_source(conn, feed_id: int, source: str) -> None:
    """Keep identifying this feed's entries the way the latest parse chose (guid -> link only)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE feeds SET entry_key_source = %s WHERE id = %s", (source, feed_id))


def store_articles(conn, feed_id: int, fetch_id: int, articles: list[Article]) -> int:
    """Insert the copies not stored yet (same feed + entry key = same copy); return how many were new."""
    # Each new copy's dedup fingerprint is computed here, by the poll tasks running side by side,
    # rather than in the one-at-a-time story assignment.
    fingerprints = {}
    with conn.cursor() as cur:
        for a in articles:
            cur.execute(
                """INSERT INTO articles (feed_id, fetch_id, entry_key, guid, url, canonical_url, title,
                                         summary, content, author, published_at, published_guessed,
                                         text_hash, agency, agency_evidence)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (feed_id, entry_key) DO NOTHING RETURNING id""",
                (feed_id, fetch_id, a.entry_key, a.guid, a.url, a.canonical_url, a.title,
                 a.summary, a.content, a.author, a.published_at, a.published_guessed,
                 a.text_hash, a.agency, a.agency_evidence),
            )
            if row := cur.fetchone():
                fingerprints[row[0]] = Fingerprint.of(a.title, a.text)
        save_fingerprints(cur, fingerprints)
        cur.execute("UPDATE fetches SET new_articles = %s WHERE id = %s", (len(fingerprints), fetch_id))
    return len(fingerprints)
