"""Summaries read back from Postgres: what a run added, as an analyst would query it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


def tally(counts: Mapping[str, int]) -> str:
    """``{"HTTP500": 2, "HTTP404": 1}`` as ``HTTP500 2, HTTP404 1`` for one-line logs; ``none`` when empty."""
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


@dataclass
class RunSummary:
    feeds_polled: int
    not_modified: int
    errors: int
    entries_seen: int
    new_articles: int
    new_stories: int
    copies_folded: int
    event_types: dict[str, int]
    largest_stories: list[tuple[int, str, str | None, int]]  # (id, title, agency, copies)


def summarise_since(conn, since: datetime) -> RunSummary:
    """What the polls and dedup since ``since`` added to the database."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(DISTINCT feed_id), count(*) FILTER (WHERE outcome = 'not_modified'),
                      count(*) FILTER (WHERE outcome = 'error'),
                      COALESCE(sum(entries_seen), 0), COALESCE(sum(new_articles), 0)
               FROM fetches WHERE started_at >= %s""",
            (since,),
        )
        feeds_polled, not_modified, errors, entries_seen, new_articles = cur.fetchone()
        cur.execute("SELECT count(*) FROM stories WHERE created_at >= %s", (since,))
        new_stories = cur.fetchone()[0]
        cur.execute(
            """SELECT COALESCE(s.event_type, 'unclassified'), count(*) FROM stories s
               WHERE s.created_at >= %s GROUP BY 1 ORDER BY 2 DESC, 1""",
            (since,),
        )
        event_types = dict(cur.fetchall())
        cur.execute(
            """SELECT s.id, s.title, s.agency, count(*) FROM stories s
               JOIN articles a ON a.story_id = s.id JOIN fetches f ON f.id = a.fetch_id
               WHERE f.started_at >= %s GROUP BY s.id HAVING count(*) > 1
               ORDER BY count(*) DESC, s.id LIMIT 5""",
            (since,),
        )
        largest = cur.fetchall()
    return RunSummary(
        feeds_polled=feeds_polled, not_modified=not_modified, errors=errors,
        entries_seen=entries_seen, new_articles=new_articles, new_stories=new_stories,
        copies_folded=new_articles - new_stories, event_types=event_types,
        largest_stories=largest,
    )
