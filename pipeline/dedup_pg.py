"""The story index in Postgres: read in bulk once per batch, every copy's candidates (stored copies and
the batch's own earlier ones) ranked at once, the batch's placed copies kept in a ``MemoryIndex``
overlay, everything written back in bulk (``write_bands``, ``flush``).

Tables (migrations 0001, 0003, 0005 to 0008): ``article_bands`` (LSH buckets with the copy's time, so
the window is part of the index lookup; one partition per week of publication), ``story_paragraphs``
and ``paragraph_recurrence`` (which stories carry a paragraph, and how many), ``article_fingerprints``
(each copy's fingerprint, stored once). The caller holds the assignment lock for the whole batch, so
what was read stays true until the flush.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import chain, count

import numpy as np
import psycopg2

from pipeline.dedup_index import Candidate, Item, MemoryIndex, most_hits_in_bulk
from pipeline.fingerprint import STORED_FORMAT, Fingerprint

# Stories created in a batch get ids above every stored one until the flush gives them real
# ids in creation order, so "lower id = older story" holds throughout, as in the memory index.
PROVISIONAL = 1 << 62
# What fingerprints_of needs of an article (aliased a) joined to article_fingerprints (aliased f): the
# stored fingerprint, and the text dedup compares (the full content when the feed carried it,
# records.Article.text) only when the fingerprint has to be computed, none being stored in this format
# (its first byte is the version): a batch reads thousands of copies that have one.
FINGERPRINT_COLUMNS = (f"a.id, a.title, CASE WHEN f.fingerprint IS NULL OR get_byte(f.fingerprint, 0) <> {STORED_FORMAT}"
                       " THEN CASE WHEN a.content <> '' THEN a.content ELSE a.summary END END, f.fingerprint")


def bigints(values: Iterable[int]) -> str:
    """A Postgres array literal, for a ``%s::bigint[]`` parameter: psycopg2 would send a list as
    ARRAY[v1, v2, ...], an expression per value for the server to parse (~40 ms for 30k values)."""
    return "{" + ",".join(map(str, values)) + "}"


def fingerprints_of(rows: Iterable[tuple[int, str, str, bytes | None]]) -> tuple[dict[int, Fingerprint],
                                                                                dict[int, Fingerprint]]:
    """Fingerprints of (article id, title, text, stored fingerprint) rows: (all of them by id, the ones
    computed because none was stored, or one in an older format, which ``save_fingerprints`` should keep)."""
    every, computed = {}, {}
    for key, title, text, stored in rows:
        fingerprint = Fingerprint.from_bytes(title, bytes(stored)) if stored is not None else None
        if fingerprint is None:
            fingerprint = computed[key] = Fingerprint.of(title, text)
        every[key] = fingerprint
    return every, computed


def save_fingerprints(cur, fingerprints: dict[int, Fingerprint]) -> None:
    """Store copies' fingerprints (article id -> fingerprint), replacing any in an older format,
    so no one computes them again."""
    if fingerprints:
        cur.execute(
            """INSERT INTO article_fingerprints (article_id, fingerprint)
               SELECT * FROM unnest(%s::bigint[], %s::bytea[])
               ON CONFLICT (article_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint""",
            (bigints(fingerprints), [psycopg2.Binary(f.to_bytes()) for f in fingerprints.values()]),
        )


class PostgresIndex:
    """A ``StoryIndex`` over the news database, for one batch of unassigned copies."""

    def __init__(self, cur, items: list[Item], fingerprints: dict[int, Fingerprint],
                 window: timedelta, limit: int, unstored: dict[int, Fingerprint]):
        """``unstored``: the batch's fingerprints that were computed rather than read; saved at ``flush``."""
        self.cur = cur
        self.batch = [(item, fingerprints[item.key]) for item in items]
        self.unstored = dict(unstored)
        self.window = window
        self.overlay = MemoryIndex(new_story_id=count(PROVISIONAL).__next__, index_bands=False)
        self.placed: list[tuple[Item, Fingerprint, int]] = []
        self._holders = _batch_holders(self.batch)  # the batch's band rows
        # The server looks the batch's buckets up while what the copies' comparisons need of their own
        # fingerprints is decoded here, then the exact matches while the candidates are ranked (Postgres and
        # Python on two cores).
        with ThreadPoolExecutor(max_workers=1) as reader:
            stored = reader.submit(self._read_stored_holders)
            exact = reader.submit(self._read_exact, items)
            for f in fingerprints.values():
                f.decode()
            self._ranked = self._rank_candidates(stored.result(), limit)
            self._exact = exact.result()
        # A copy deleted by hand leaves its band rows behind (no foreign key, see migration 0006): it is
        # ranked, but not read, and skipped.
        self._stored = self._read_articles(sorted({k for found in self._ranked.values() for k, _ in found
                                                   if k not in fingerprints}))
        batch_hashes = set().union(*(f.all_paragraph_hashes for f in fingerprints.values()))
        seen_hashes = batch_hashes.union(*(f.all_paragraph_hashes for _, _, f in self._stored.values()))
        self._recurrence = self._read_recurrence(sorted(seen_hashes))
        stories = {story for story, _, _ in self._stored.values()} | set(self._exact.values())
        self._stored_pairs = self._read_story_paragraphs(sorted(batch_hashes), sorted(stories))

    def exact(self, item: Item, since: datetime, until: datetime) -> int | None:
        found = [s for s in (self._exact.get(item.key), self.overlay.exact(item, since, until)) if s is not None]
        return min(found, default=None)

    def candidates(self, item: Item, fingerprint: Fingerprint, since: datetime, until: datetime,
                   limit: int) -> list[Candidate]:
        # Ranked for the whole batch up front (``_rank_candidates``): the copy's window and the limit are the batch's.
        found = []
        for key, hits in self._ranked.get(item.key, ()):
            if placed := self.overlay.copies.get(key):
                found.append(Candidate(key, placed.story, placed.published, placed.fingerprint, hits))
            elif key in self._stored:
                found.append(Candidate(key, *self._stored[key], hits))
        return found

    def recurrence(self, paragraph_hash: int) -> int:
        stored = self._recurrence.get(paragraph_hash, 0)
        if not (in_batch := self.overlay.paragraph_stories.get(paragraph_hash)):
            return stored  # most paragraphs: no copy of the batch placed so far carries them
        # Batch stories carrying the paragraph that the stored count does not include yet.
        return stored + len(in_batch - self._stored_pairs.get(paragraph_hash, set()))

    def add(self, item: Item, fingerprint: Fingerprint, story: int | None) -> int:
        story = self.overlay.add(item, fingerprint, story)
        self.placed.append((item, fingerprint, story))
        return story

    def write_bands(self) -> None:
        """Write the batch's LSH band rows. They do not depend on where the copies go, so the caller may
        run this in a thread while it places them: it uses a cursor of its own, on the same transaction."""
        with self.cur.connection.cursor() as cur:
            # The weekly partitions the band rows go to (migration 0007), named by their days (UTC): a handful of
            # values to send rather than every copy's time.
            days = {item.published.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                    for item, _ in self.batch}
            cur.execute("SELECT add_article_band_weeks(%s::timestamptz[])", (sorted(days),))
            # COPY: one row per band and copy (72) is the bulk of a batch's writes. In bucket order, the
            # lookup index takes them leaf after leaf instead of at random (a quarter faster).
            cur.copy_expert("COPY article_bands (article_id, bucket, published_at) FROM STDIN (FORMAT binary)",
                            io.BytesIO(_band_rows(self._holders)), size=1 << 20)

    def flush(self) -> tuple[dict[int, int], set[int]]:
        """Write the batch's stories, links and paragraphs (``write_bands`` writes its bands);
        return (article -> story, new story ids)."""
        provisional = sorted({s for _, _, s in self.placed if s >= PROVISIONAL})
        real = self._new_story_ids(len(provisional))
        story_of = dict(zip(provisional, real))
        firsts = {}
        for item, _, s in self.placed:
            firsts.setdefault(story_of.get(s, s), item)
        self.cur.execute(
            """INSERT INTO stories (id, title, first_seen, last_seen)
               SELECT * FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[])""",
            (bigints(real), [firsts[s].title for s in real], [firsts[s].published for s in real],
             [firsts[s].published for s in real]),
        )
        assignment = {item.key: story_of.get(s, s) for item, _, s in self.placed}
        self.cur.execute(
            """UPDATE articles a SET story_id = q.story
               FROM unnest(%s::bigint[], %s::bigint[]) AS q(id, story) WHERE a.id = q.id""",
            (bigints(assignment), bigints(assignment.values())),
        )
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
            (bigints(h for h, _ in pairs), bigints(s for _, s in pairs)),
        )
        save_fingerprints(self.cur, self.unstored)
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
            (bigints(i.key for i in items), [i.text_hash for i in items], [i.url for i in items],
             [i.published for i in items], self.window, self.window),
        )
        return dict(self.cur.fetchall())

    def _read_stored_holders(self) -> np.ndarray:
        """The stored band rows holding any of the batch's buckets, over the batch's time span (``_HOLDER``)."""
        if not self.batch:
            return np.zeros(0, dtype=_HOLDER)
        # One index scan for the whole batch's buckets, then each copy's own window and hit counts here:
        # far cheaper than a probe per (copy, bucket). The buckets go through a sub-select so that the
        # planner does not estimate the selectivity of each of them (~40 ms for 30k buckets) to choose the
        # index scan it would choose anyway. The rows (~50k) come as one bytea, straight into numpy (as
        # Python tuples they cost more than the scan), in one call that leaves the GIL free throughout.
        self.cur.execute(
            """SELECT string_agg(int8send(article_id) || int8send(bucket) || timestamptz_send(published_at), '')
               FROM article_bands
               WHERE bucket = ANY(ARRAY(SELECT unnest(%s::bigint[]))) AND published_at BETWEEN %s AND %s""",
            (bigints(np.unique(self._holders["bucket"]).tolist()),
             min(i.published for i, _ in self.batch) - self.window, max(i.published for i, _ in self.batch) + self.window),
        )
        rows = np.frombuffer(self.cur.fetchone()[0] or b"", dtype=[("id", ">i8"), ("bucket", ">i8"), ("at", ">i8")])
        holders = np.zeros(len(rows), dtype=_HOLDER)  # first_copy 0: a candidate for every copy of the batch
        holders["id"], holders["bucket"], holders["at"] = rows["id"], rows["bucket"], rows["at"]
        return holders

    def _rank_candidates(self, stored: np.ndarray, limit: int) -> dict[int, list[tuple[int, int]]]:
        """(copy key, bands shared) of each batch copy's candidates, ``most_hits`` order: the ``stored`` holders,
        and the batch's own copies placed before it (the batch is placed in order), in its window."""
        published = np.array([_micros(item.published) for item, _ in self.batch], dtype=np.int64)
        window = self.window // timedelta(microseconds=1)
        found = most_hits_in_bulk([f.bands for _, f in self.batch], np.concatenate([stored, self._holders]),
                                  published - window, published + window, limit)
        return {item.key: hits for (item, _), hits in zip(self.batch, found) if hits}

    def _read_articles(self, ids: list[int]) -> dict[int, tuple[int, datetime, Fingerprint]]:
        """Story, time and fingerprint of stored copies, by id."""
        self.cur.execute(
            f"""SELECT a.story_id, a.published_at, {FINGERPRINT_COLUMNS}
                FROM articles a LEFT JOIN article_fingerprints f ON f.article_id = a.id
                WHERE a.id = ANY(%s::bigint[])""",
            (bigints(ids),),
        )
        rows = self.cur.fetchall()
        fingerprints, computed = fingerprints_of(row[2:] for row in rows)
        self.unstored |= computed
        return {a: (story, at, fingerprints[a]) for story, at, a, *_ in rows}

    def _read_recurrence(self, hashes: list[int]) -> dict[int, int]:
        self.cur.execute("SELECT hash, stories FROM paragraph_recurrence WHERE hash = ANY(%s::bigint[])",
                         (bigints(hashes),))
        return dict(self.cur.fetchall())

    def _read_story_paragraphs(self, hashes: list[int], stories: list[int]) -> dict[int, set[int]]:
        self.cur.execute(
            "SELECT hash, story_id FROM story_paragraphs WHERE hash = ANY(%s::bigint[]) AND story_id = ANY(%s::bigint[])",
            (bigints(hashes), bigints(stories)),
        )
        pairs = defaultdict(set)
        for h, s in self.cur.fetchall():
            pairs[h].add(s)
        return pairs


# COPY's binary format (PostgreSQL manual, "COPY", "Binary Format"): a header, then per row its field
# count and each field's size and big-endian value (timestamptz: microseconds since 2000), then -1.
_COPY_HEADER, _COPY_TRAILER = b"PGCOPY\n\xff\r\n\x00" + bytes(8), b"\xff\xff"
_BAND_ROW = np.dtype([("fields", ">i2"), ("id_size", ">i4"), ("id", ">i8"), ("bucket_size", ">i4"), ("bucket", ">i8"),
                      ("at_size", ">i4"), ("at", ">i8")])
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    """A time as Postgres stores a timestamptz: microseconds since 2000."""
    return (moment - _POSTGRES_EPOCH) // timedelta(microseconds=1)


# What ``most_hits_in_bulk`` ranks: who holds which bucket since when, and from which copy of the batch on.
_HOLDER = np.dtype([("id", np.int64), ("bucket", np.int64), ("at", np.int64), ("first_copy", np.int64)])


def _batch_holders(copies: list[tuple[Item, Fingerprint]]) -> np.ndarray:
    """The copies' band rows in bucket order, each a candidate from the next copy of the batch on."""
    counts = [len(f.bands) for _, f in copies]
    rows = np.empty(sum(counts), dtype=_HOLDER)
    rows["bucket"] = np.fromiter(chain.from_iterable(f.bands for _, f in copies), np.int64, count=len(rows))
    rows["id"] = np.repeat(np.array([item.key for item, _ in copies], dtype=np.int64), counts)
    rows["at"] = np.repeat(np.array([_micros(item.published) for item, _ in copies], dtype=np.int64), counts)
    rows["first_copy"] = np.repeat(np.arange(1, len(copies) + 1), counts)
    return rows[np.lexsort((rows["id"], rows["bucket"]))]


def _band_rows(holders: np.ndarray) -> bytes:
    """``article_bands`` rows in COPY's binary format (built with numpy: formatting them as text took as long
    as the server took to store them)."""
    rows = np.empty(len(holders), dtype=_BAND_ROW)
    rows["fields"] = 3
    rows["id_size"] = rows["bucket_size"] = rows["at_size"] = 8
    rows["id"], rows["bucket"], rows["at"] = holders["id"], holders["bucket"], holders["at"]
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


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
               FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.story_id = ANY(%(ids)s::bigint[])),
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
        {"ids": bigints(story_ids)},
    )
