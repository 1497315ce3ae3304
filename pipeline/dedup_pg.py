"""The story index in Postgres: read in bulk once per batch, the batch's own copies kept in a
``MemoryIndex`` overlay, everything written back in bulk at ``flush``.

Tables (migrations 0001, 0003, 0005 to 0007): ``article_bands`` (LSH buckets with the copy's time, so
the window is part of the index lookup; one partition per week of publication), ``story_paragraphs``
and ``paragraph_recurrence`` (which stories carry a paragraph, and how many). The caller holds the
assignment lock for the whole batch, so what was read stays true until the flush.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import count

from pipeline.dedup_index import Candidate, Item, MemoryIndex, most_hits
from pipeline.fingerprint import Fingerprint

# Stories created in a batch get ids above every stored one until the flush gives them real
# ids in creation order, so "lower id = older story" holds throughout, as in the memory index.
PROVISIONAL = 1 << 62


@lru_cache(maxsize=50_000)
def _stored_fingerprint(article_id: int, title: str, text: str) -> Fingerprint:
    # Recent copies are candidates again and again; their text never changes.
    return Fingerprint.of(title, text)


class PostgresIndex:
    """A ``StoryIndex`` over the news database, for one batch of unassigned copies."""

    def __init__(self, cur, items: list[Item], fingerprints: dict[int, Fingerprint],
                 window: timedelta, limit: int):
        self.cur = cur
        self.window = window
        self.overlay = MemoryIndex(new_story_id=count(PROVISIONAL).__next__)
        self.placed: list[tuple[Item, Fingerprint, int]] = []
        self._exact = self._read_exact(items)
        self._candidates = self._read_candidates(items, fingerprints, limit)
        batch_hashes = {p.hash for f in fingerprints.values() for p in f.paragraphs}
        seen_hashes = batch_hashes | {p.hash for cs in self._candidates.values() for c in cs
                                      for p in c.fingerprint.paragraphs}
        self._recurrence = self._read_recurrence(sorted(seen_hashes))
        stories = {c.story for cs in self._candidates.values() for c in cs} | set(self._exact.values())
        self._stored_pairs = self._read_story_paragraphs(sorted(batch_hashes), sorted(stories))

    def exact(self, item: Item, since: datetime, until: datetime) -> int | None:
        found = [s for s in (self._exact.get(item.key), self.overlay.exact(item, since, until)) if s is not None]
        return min(found, default=None)

    def candidates(self, item: Item, fingerprint: Fingerprint, since: datetime, until: datetime,
                   limit: int) -> list[Candidate]:
        both = self._candidates.get(item.key, []) + self.overlay.candidates(item, fingerprint, since, until, limit)
        return sorted(both, key=lambda c: (-c.hits, c.key))[:limit]

    def recurrence(self, hashes: list[int]) -> dict[int, int]:
        counts = {}
        for h in hashes:
            # Batch stories carrying h that the stored count does not include yet.
            added = len(self.overlay.paragraph_stories.get(h, set()) - self._stored_pairs.get(h, set()))
            if total := self._recurrence.get(h, 0) + added:
                counts[h] = total
        return counts

    def add(self, item: Item, fingerprint: Fingerprint, story: int | None) -> int:
        story = self.overlay.add(item, fingerprint, story)
        self.placed.append((item, fingerprint, story))
        return story

    def flush(self) -> tuple[dict[int, int], set[int]]:
        """Write the batch's stories, links, bands and paragraphs; return (article -> story, new story ids)."""
        provisional = sorted({s for _, _, s in self.placed if s >= PROVISIONAL})
        real = self._new_story_ids(len(provisional))
        story_of = dict(zip(provisional, real))
        firsts = {}
        for item, _, s in self.placed:
            firsts.setdefault(story_of.get(s, s), item)
        self.cur.execute(
            """INSERT INTO stories (id, title, first_seen, last_seen)
               SELECT * FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[])""",
            (real, [firsts[s].title for s in real], [firsts[s].published for s in real],
             [firsts[s].published for s in real]),
        )
        assignment = {item.key: story_of.get(s, s) for item, _, s in self.placed}
        self.cur.execute(
            """UPDATE articles a SET story_id = q.story
               FROM unnest(%s::bigint[], %s::bigint[]) AS q(id, story) WHERE a.id = q.id""",
            (list(assignment), list(assignment.values())),
        )
        # The weekly partitions the band rows go to (migration 0007).
        self.cur.execute("SELECT add_article_band_weeks(%s::timestamptz[])",
                         (sorted({item.published for item, _, _ in self.placed}),))
        # COPY: one row per band and copy (72) is the bulk of a batch's writes. In bucket order, the
        # lookup index takes them leaf after leaf instead of at random (a quarter faster).
        stamps = {item.key: item.published.isoformat() for item, _, _ in self.placed}
        rows = "".join(f"{key}\t{bucket}\t{stamps[key]}\n"
                       for bucket, key in sorted((b, item.key) for item, f, _ in self.placed for b in f.bands))
        self.cur.copy_expert("COPY article_bands (article_id, bucket, published_at) FROM STDIN", io.StringIO(rows))
        pairs = sorted({(h, assignment[item.key]) for item, f, _ in self.placed for h in f.paragraph_hashes})
        # A paragraph counts once per story: only pairs new to story_paragraphs raise its recurrence.
        self.cur.execute(
            """WITH added AS (
                   INSERT INTO story_paragraphs (hash, story_id)
                   SELECT * FROM unnest(%s::bigint[], %s::bigint[])
                   ON CONFLICT DO NOTHING RETURNING hash)
               INSERT INTO paragraph_recurrence (hash, stories)
               SELECT hash, count(*) FROM added GROUP BY hash
               ON CONFLICT (hash) DO UPDATE SET stories = paragraph_recurrence.stories + EXCLUDED.stories""",
            ([h for h, _ in pairs], [s for _, s in pairs]),
        )
        refresh_stories(self.cur, sorted(set(assignment.values())))
        return assignment, set(real)

    def _new_story_ids(self, n: int) -> list[int]:
        self.cur.execute("SELECT nextval(pg_get_serial_sequence('stories', 'id')) FROM generate_series(1, %s)", (n,))
        return sorted(row[0] for row in self.cur.fetchall())

    def _read_exact(self, items: list[Item]) -> dict[int, int]:
        self.cur.execute(
            """SELECT q.key, min(a.story_id)
               FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[]) AS q(key, digest, url, at)
               JOIN LATERAL (SELECT story_id, published_at FROM articles WHERE text_hash = q.digest
                             UNION ALL
                             SELECT story_id, published_at FROM articles WHERE canonical_url = q.url) a ON true
               WHERE a.story_id IS NOT NULL AND a.published_at BETWEEN q.at - %s AND q.at + %s
               GROUP BY q.key""",
            ([i.key for i in items], [i.text_hash for i in items], [i.url for i in items],
             [i.published for i in items], self.window, self.window),
        )
        return dict(self.cur.fetchall())

    def _read_candidates(self, items: list[Item], fingerprints: dict[int, Fingerprint],
                         limit: int) -> dict[int, list[Candidate]]:
        if not items:
            return {}
        # One index scan for the whole batch's buckets over the batch's time span, then each copy's
        # own window and hit counts here: far cheaper than a probe per (copy, bucket).
        self.cur.execute(
            """SELECT bucket, article_id, published_at FROM article_bands
               WHERE bucket = ANY(%s) AND published_at BETWEEN %s AND %s""",
            (sorted({b for f in fingerprints.values() for b in f.bands}),
             min(i.published for i in items) - self.window, max(i.published for i in items) + self.window),
        )
        holders = defaultdict(list)
        for bucket, article_id, at in self.cur.fetchall():
            holders[bucket].append((article_id, at))
        ranked = {}
        for item in items:
            since, until = item.published - self.window, item.published + self.window
            hits = Counter(a for b in fingerprints[item.key].bands for a, at in holders.get(b, ())
                           if since <= at <= until)
            if hits:
                ranked[item.key] = most_hits(hits, limit)
        stored = self._read_articles(sorted({a for found in ranked.values() for a, _ in found}))
        # A copy deleted by hand leaves its band rows behind (no foreign key, see migration 0006): skip it.
        return {key: [Candidate(a, *stored[a], n) for a, n in found if a in stored] for key, found in ranked.items()}

    def _read_articles(self, ids: list[int]) -> dict[int, tuple[int, datetime, Fingerprint]]:
        self.cur.execute(
            """SELECT id, story_id, published_at, title, CASE WHEN content <> '' THEN content ELSE summary END
               FROM articles WHERE id = ANY(%s)""",
            (ids,),
        )
        return {a: (story, at, _stored_fingerprint(a, title, text)) for a, story, at, title, text in self.cur.fetchall()}

    def _read_recurrence(self, hashes: list[int]) -> dict[int, int]:
        self.cur.execute("SELECT hash, stories FROM paragraph_recurrence WHERE hash = ANY(%s)", (hashes,))
        return dict(self.cur.fetchall())

    def _read_story_paragraphs(self, hashes: list[int], stories: list[int]) -> dict[int, set[int]]:
        self.cur.execute(
            "SELECT hash, story_id FROM story_paragraphs WHERE hash = ANY(%s) AND story_id = ANY(%s)",
            (hashes, stories),
        )
        pairs = defaultdict(set)
        for h, s in self.cur.fetchall():
            pairs[h].add(s)
        return pairs


def refresh_stories(cur, story_ids: list[int]) -> None:
    """Recompute copies, time span, outlets, agencies and representative of the given stories.

    The representative is the agency's own copy (from its feed, else carrying its dateline)
    when we have one, else the most complete text.
    """
    cur.execute(
        """WITH copies AS (
               SELECT a.story_id, a.id, a.title, a.published_at, a.agency, f.name AS outlet,
                      length(a.content) + length(a.summary) AS size,
                      coalesce(f.agency_hint = a.agency, false) AS from_agency_feed,
                      coalesce(a.agency_evidence = 'dateline', false) AS has_dateline
               FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.story_id = ANY(%(ids)s)),
           representative AS (
               SELECT DISTINCT ON (story_id) story_id, id, title FROM copies
               ORDER BY story_id, from_agency_feed DESC, has_dateline DESC, size DESC, published_at, id),
           main_agency AS (
               SELECT DISTINCT ON (story_id) story_id, agency FROM copies WHERE agency IS NOT NULL
               GROUP BY story_id, agency ORDER BY story_id, count(*) DESC, agency),
           totals AS (
               SELECT story_id, count(*) AS copies, min(published_at) AS first_seen, max(published_at) AS last_seen,
                      array_agg(DISTINCT outlet ORDER BY outlet) AS outlets,
                      coalesce(array_agg(DISTINCT agency ORDER BY agency) FILTER (WHERE agency IS NOT NULL), '{}')
                          AS agencies
               FROM copies GROUP BY story_id)
           UPDATE stories s SET copies = t.copies, first_seen = t.first_seen, last_seen = t.last_seen,
                                outlets = t.outlets, agencies = t.agencies, agency = m.agency,
                                representative_id = r.id, title = r.title
           FROM totals t JOIN representative r USING (story_id) LEFT JOIN main_agency m USING (story_id)
           WHERE s.id = t.story_id""",
        {"ids": story_ids},
    )
