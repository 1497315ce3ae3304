"""The feed registry: feeds.yaml files in, rows of the ``feeds`` table out."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import yaml

from pipeline.records import Feed, FeedSpec


def load_feed_specs(path: str | Path) -> list[FeedSpec]:
    """Read a feeds.yaml file (``feeds: [{name, url, agency}]``); ``$VARS`` in URLs are expanded."""
    document = yaml.safe_load(Path(path).read_text()) or {}
    specs = []
    for item in document.get("feeds", []):
        url = os.path.expandvars(item["url"])
        if "$" in url:
            raise ValueError(f"feed {item['name']!r}: unset variable in url {item['url']!r}")
        specs.append(FeedSpec(name=item["name"], url=url, agency_hint=item.get("agency")))
    return specs


def sync_feeds(conn, specs: list[FeedSpec]) -> list[int]:
    """Insert or update the listed feeds (matched by name); return their ids."""
    ids = []
    with conn.cursor() as cur:
        for spec in specs:
            cur.execute(
                """INSERT INTO feeds (name, url, agency_hint) VALUES (%s, %s, %s)
                   ON CONFLICT (name) DO UPDATE SET
                       agency_hint = EXCLUDED.agency_hint, url = EXCLUDED.url
                   RETURNING id""",
                (spec.name, spec.url, spec.agency_hint),
            )
            ids.append(cur.fetchone()[0])
    return ids


def due_feeds(conn, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, url) of the active feeds whose next poll time has come, most overdue first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, url FROM feeds WHERE active AND next_poll_at <= now()
               ORDER BY next_poll_at, id LIMIT %s""",
            (limit,),
        )
        return cur.fetchall()


def plan_host_batches(feeds: list[tuple[int, str]], max_batches: int) -> list[list[int]]:
    """Split feeds into at most ``max_batches`` batches, never splitting a host across two.

    A batch is polled one feed after another, so no host ever gets two requests at once.
    """
    by_host: dict[str, list[int]] = {}
    for feed_id, url in feeds:
        by_host.setdefault(urlsplit(url).hostname or "", []).append(feed_id)
    batches: list[list[int]] = [[] for _ in range(min(max_batches, len(by_host)))]
    # Largest hosts first, each into the currently smallest batch.
    for ids in sorted(by_host.values(), key=len, reverse=True):
        min(batches, key=len).extend(ids)
    return batches


def import_opml(path: str | Path) -> list[FeedSpec]:
    """The feeds of an OPML export (any feed reader's), as FeedSpecs."""
    tree = ElementTree.parse(path)
    return [
        FeedSpec(name=o.get("title") or o.get("text") or o.get("xmlUrl"), url=o.get("xmlUrl"))
        for o in tree.iter("outline") if o.get("xmlUrl")
    ]


def feed_health(conn) -> list[dict]:
    """One row per feed for `wiredesk feeds list`: status, failures, next poll, entries per day."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT f.name, f.active, f.last_status, f.last_success_at, f.consecutive_failures,
                      f.next_poll_at, f.deactivated_reason,
                      (SELECT count(*) FROM articles a WHERE a.feed_id = f.id
                         AND a.fetched_at > now() - interval '7 days') / 7.0 AS entries_per_day
               FROM feeds f ORDER BY f.active DESC, f.consecutive_failures DESC, f.name"""
        )
        columns = [c.name for c in cur.description]
        return [dict(zip(columns, row)) for row in cur.fetchall()]


def get_feed(conn, feed_id: int) -> Feed:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, name, url, agency_hint, etag, last_modified, entry_key_source
               FROM feeds WHERE id = %s""",
            (feed_id,),
        )
        return Feed(*cur.fetchone())
