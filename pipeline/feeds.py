"""The feed registry: feeds.yaml files in, rows of the ``feeds`` table out."""

from __future__ import annotations

import os
from pathlib import Path

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


def due_feed_ids(conn, limit: int | None = None) -> list[int]:
    """Active feeds whose next poll time has come, most overdue first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id FROM feeds WHERE active AND next_poll_at <= now()
               ORDER BY next_poll_at, id LIMIT %s""",
            (limit,),
        )
        return [row[0] for row in cur.fetchall()]


def get_feed(conn, feed_id: int) -> Feed:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, name, url, agency_hint, etag, last_modified FROM feeds WHERE id = %s",
            (feed_id,),
        )
        return Feed(*cur.fetchone())
