"""Wire-story dedup: fold every republished copy of a story into one ``stories`` row.

Two layers. Exact: the same canonical URL or the same normalised text within the
window. Near-duplicate: MinHash signatures of the body's word 3-shingles and of
its lede, split into LSH bands stored in ``article_bands`` (so the index holds
across runs and workers); band collisions give candidates, and a verification on
the real shingle sets decides. Story assignment runs under one advisory lock, so
parallel workers never create two stories for the same copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from datasketch import MinHash

SHINGLE_WORDS = 3
LEDE_WORDS = 60
BODY_BANDS, LEDE_BANDS, ROWS_PER_BAND = 32, 16, 2
DEFAULT_WINDOW = timedelta(days=7)
MAX_CANDIDATES = 30
ASSIGN_LOCK = 7_352_002  # advisory lock id shared by every worker that assigns stories
WORD = re.compile(r"\w+")


@dataclass
class TextFeatures:
    """The shingle sets dedup compares, for one article."""

    body: set[int]
    lede: set[int]

    @classmethod
    def of(cls, text: str) -> TextFeatures:
        words = WORD.findall(text.lower())
        return cls(body=_shingles(words), lede=_shingles(words[:LEDE_WORDS]))

    def bands(self) -> list[tuple[int, int]]:
        """(band number, bucket) pairs for the LSH index: body bands first, then lede bands."""
        return _bands(self.body, BODY_BANDS, 0) + _bands(self.lede, LEDE_BANDS, BODY_BANDS)


@dataclass
class AssignResult:
    """What one assignment pass did."""

    assigned: int = 0
    new_story_ids: list[int] = field(default_factory=list)

    @property
    def folded(self) -> int:
        """Copies that joined an existing story instead of starting one."""
        return self.assigned - len(self.new_story_ids)


def same_story(a: TextFeatures, b: TextFeatures) -> bool:
    """Whether two articles are copies of one story, judged on their shingle sets."""
    if jaccard(a.body, b.body) >= 0.5:
        return True
    # A teaser or a trimmed copy is mostly contained in the fuller text.
    if min(len(a.body), len(b.body)) >= 10 and containment(a.body, b.body) >= 0.7:
        return True
    # Same lede with a reworked remainder: an update or write-through.
    return jaccard(a.lede, b.lede) >= 0.6 and containment(a.body, b.body) >= 0.3


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def containment(a: set[int], b: set[int]) -> float:
    """Share of the smaller set found in the larger one."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _shingles(words: list[str]) -> set[int]:
    if 0 < len(words) < SHINGLE_WORDS:
        words = words + [""] * (SHINGLE_WORDS - len(words))
    return {
        int.from_bytes(hashlib.blake2b(" ".join(words[i:i + SHINGLE_WORDS]).encode(), digest_size=8).digest(), "big")
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def _bands(shingles: set[int], bands: int, first_band: int) -> list[tuple[int, int]]:
    if not shingles:
        return []
    minhash = MinHash(num_perm=bands * ROWS_PER_BAND, seed=1)
    minhash.update_batch([s.to_bytes(8, "big") for s in shingles])
    rows = np.asarray(minhash.hashvalues, dtype=np.uint64).reshape(bands, ROWS_PER_BAND)
    return [
        (first_band + i, int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "big", signed=True))
        for i, row in enumerate(rows)
    ]


def assign_stories(conn, window: timedelta = DEFAULT_WINDOW, batch_size: int = 1000) -> AssignResult:
    """Place every article that has no story yet: into the story it copies, else a new story.

    Safe to run from several workers at once and to rerun: it only touches unassigned rows.
    """
    result = AssignResult()
    while True:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (ASSIGN_LOCK,))
            cur.execute(
                """SELECT id, canonical_url, text_hash, published_at, title,
                          CASE WHEN content <> '' THEN content ELSE summary END
                   FROM articles WHERE story_id IS NULL ORDER BY published_at, id LIMIT %s""",
                (batch_size,),
            )
            batch = cur.fetchall()
            touched = set()
            for article_id, url, digest, published_at, title, text in batch:
                features = TextFeatures.of(text or title)
                story_id = _exact_match(cur, url, digest, published_at - window) or _near_match(
                    cur, features, published_at - window
                )
                if story_id is None:
                    cur.execute(
                        """INSERT INTO stories (title, first_seen, last_seen)
                           VALUES (%s, %s, %s) RETURNING id""",
                        (title, published_at, published_at),
                    )
                    story_id = cur.fetchone()[0]
                    result.new_story_ids.append(story_id)
                cur.execute("UPDATE articles SET story_id = %s WHERE id = %s", (story_id, article_id))
                bands = features.bands()
                cur.execute(
                    """INSERT INTO article_bands (article_id, band, bucket)
                       SELECT %s, band, bucket FROM unnest(%s::smallint[], %s::bigint[]) AS t(band, bucket)""",
                    (article_id, [b for b, _ in bands], [k for _, k in bands]),
                )
                touched.add(story_id)
                result.assigned += 1
            for story_id in touched:
                _refresh_story(cur, story_id)
        conn.commit()  # releases the lock between batches
        if len(batch) < batch_size:
            return result


def _exact_match(cur, url: str | None, digest: str, since) -> int | None:
    cur.execute(
        """SELECT story_id FROM articles
           WHERE story_id IS NOT NULL AND published_at >= %s
             AND (text_hash = %s OR canonical_url = %s)
           ORDER BY id LIMIT 1""",
        (since, digest, url),
    )
    row = cur.fetchone()
    return row[0] if row else None


def _near_match(cur, features: TextFeatures, since) -> int | None:
    bands = features.bands()
    if not bands:
        return None
    cur.execute(
        """SELECT a.story_id, a.title, CASE WHEN a.content <> '' THEN a.content ELSE a.summary END
           FROM (SELECT b.article_id, count(*) AS hits
                 FROM article_bands b
                 JOIN unnest(%s::smallint[], %s::bigint[]) AS q(band, bucket)
                   ON b.band = q.band AND b.bucket = q.bucket
                 GROUP BY b.article_id) c
           JOIN articles a ON a.id = c.article_id
           WHERE a.published_at >= %s
           ORDER BY c.hits DESC, a.id LIMIT %s""",
        ([b for b, _ in bands], [k for _, k in bands], since, MAX_CANDIDATES),
    )
    for story_id, title, text in cur.fetchall():
        if same_story(features, TextFeatures.of(text or title)):
            return story_id
    return None


def _refresh_story(cur, story_id: int) -> None:
    """Recompute a story's copies, time span, agency and representative from its articles.

    The representative is the agency's own copy when we have it, else the longest text.
    """
    cur.execute(
        """WITH copies AS (
               SELECT a.id, a.title, a.published_at, a.agency, a.agency_evidence,
                      length(a.content) + length(a.summary) AS size,
                      f.agency_hint IS NOT NULL AND f.agency_hint = a.agency AS from_agency
               FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.story_id = %(id)s),
           representative AS (
               SELECT id, title FROM copies
               ORDER BY from_agency DESC, agency_evidence = 'dateline' DESC, size DESC, published_at, id
               LIMIT 1),
           main_agency AS (
               SELECT agency FROM copies WHERE agency IS NOT NULL
               GROUP BY agency ORDER BY count(*) DESC, agency LIMIT 1)
           UPDATE stories SET
               copies = (SELECT count(*) FROM copies),
               first_seen = (SELECT min(published_at) FROM copies),
               last_seen = (SELECT max(published_at) FROM copies),
               agency = (SELECT agency FROM main_agency),
               representative_id = (SELECT id FROM representative),
               title = (SELECT title FROM representative)
           WHERE id = %(id)s""",
        {"id": story_id},
    )
