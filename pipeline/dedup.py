"""Wire-story dedup: place every copy in the story it repeats, or start a new story.

One engine over two index backends (``pipeline.dedup_index``: in memory; ``pipeline.dedup_pg``:
Postgres). Per copy: the exact layer (canonical URL or normalised-text hash within the
window), then near-duplicate candidates from LSH bands over body shingles and key facts,
then the pair decision of ``pipeline.verify`` (encoder only for pairs the cheap path leaves
open), weighed per story: the best-scoring story wins, unless only the model vouches for it and
another of its copies rules the new one out. Copies are placed in published order, so a file and
a database fold alike.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline import embed
from pipeline.dedup_index import Candidate, Item, MemoryIndex, StoryIndex
from pipeline.dedup_pg import FINGERPRINT_COLUMNS, PostgresIndex, fingerprints_of
from pipeline.fingerprint import Fingerprint
from pipeline.normalise import canonical_url, text_hash
from pipeline.verify import Evidence, Settings, encoder_score, evidence, headline_and_lede, verdict

DEFAULT_WINDOW = Settings.window
ASSIGN_LOCK = 7_352_002  # advisory lock id shared by every worker that assigns stories


@dataclass
class Placement:
    """Where one copy went."""

    story: int
    new: bool


@dataclass
class DedupStats:
    """How the decisions were reached, for benchmarks and reports."""

    exact: int = 0
    near: int = 0
    new: int = 0
    pairs_verified: int = 0
    pairs_encoded: int = 0
    # Seconds per stage of assign_stories (fingerprint, read index: LSH buckets and Postgres reads,
    # verify: the pair decisions and any encoder time, write index): where a batch's time goes.
    seconds: Counter = field(default_factory=Counter)


@dataclass
class Deduper:
    """The assignment logic, whatever holds the index."""

    index: StoryIndex
    settings: Settings = field(default_factory=Settings)
    stats: DedupStats = field(default_factory=DedupStats)

    def place(self, item: Item, fingerprint: Fingerprint | None = None) -> Placement:
        """Index the copy in the story it repeats (or a new one) and say which."""
        fingerprint = fingerprint or Fingerprint.of(item.title, item.text)
        since, until = self.window_of(item)
        story = self.index.exact(item, since, until)
        if story is not None:
            self.stats.exact += 1
        else:
            story = self._near_match(item, fingerprint, since, until)
            if story is not None:
                self.stats.near += 1
        if story is None:
            self.stats.new += 1
        return Placement(self.index.add(item, fingerprint, story), story is None)

    def window_of(self, item: Item) -> tuple[datetime, datetime]:
        """The publication times a copy's story-mates may have."""
        return item.published - self.settings.window, item.published + self.settings.window

    def weigh(self, item: Item, fingerprint: Fingerprint, since: datetime,
              until: datetime) -> list[tuple[Candidate, Evidence]]:
        """The near-duplicate candidates for a copy, each with the cheap evidence of the pair."""
        candidates = self.index.candidates(item, fingerprint, since, until, self.settings.max_candidates)
        if not candidates:
            return []
        self.stats.pairs_verified += len(candidates)
        return [(c, evidence(fingerprint, c.fingerprint, self.index.recurrence)) for c in candidates]

    def _near_match(self, item: Item, fingerprint: Fingerprint, since: datetime, until: datetime) -> int | None:
        scored: list[tuple[float, int, bool]] = []  # (score, story, for_story) of the candidates judged the same
        refuted = set()  # stories one of whose copies is judged, for the whole story, another story
        open_pairs = []
        for c, e in self.weigh(item, fingerprint, since, until):
            v = verdict(e, self.settings)
            if not v.settled:
                open_pairs.append((e, c))
            elif v.score is not None:
                scored.append((v.score, c.story, v.for_story))
            elif v.for_story:
                refuted.add(c.story)
        # The model judges copy against copy: a next-day follow-up that recaps a story can match the one
        # copy it resembles most while the story's other copies tell it apart. Only a rule's match
        # overrides another copy's "different".
        scored = [(score, story, sure) for score, story, sure in scored if sure or story not in refuted]
        # The encoder only runs when no candidate was settled as a match by the cheap path.
        if not scored:
            for e, c in open_pairs:
                if c.story in refuted:
                    continue
                self.stats.pairs_encoded += 1
                cosine = embed.similarity(headline_and_lede(fingerprint), headline_and_lede(c.fingerprint))
                if (score := encoder_score(e, cosine, self.settings)) is not None:
                    scored.append((score, c.story, False))
        # Best score wins; on a tie, the earlier story (ids grow with creation in both backends).
        return max(scored, key=lambda s: (s[0], -s[1]))[1] if scored else None


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    # A batch allocates millions of small objects and no reference cycles: left on, the cycle
    # collector walks the whole heap (the encoder's objects too) several times per batch for
    # nothing, a fifth of the batch's time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _timed(stats: DedupStats, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    stats.seconds[stage] += time.perf_counter() - started


def items_from_records(records: Iterable[dict]) -> list[Item]:
    """Items from JSON records with id, title, summary, link, published (keyed by position)."""
    return [
        Item(key=i, title=r.get("title") or "", text=r.get("summary") or "", url=canonical_url(r.get("link")),
             text_hash=text_hash(r.get("title") or "", r.get("summary") or ""), published=parse_time(r["published"]))
        for i, r in enumerate(records, start=1)
    ]


def parse_time(value: str) -> datetime:
    """An ISO 8601 time as aware UTC (a bare time is taken as UTC)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dedup_records(records: list[dict], settings: Settings | None = None,
                  stats: DedupStats | None = None) -> dict[str, int]:
    """Story id per record id, with the in-memory index; records are placed in published order."""
    deduper = Deduper(MemoryIndex(), settings or Settings(), stats or DedupStats())
    items = items_from_records(records)
    order = sorted(items, key=lambda i: (i.published, i.key))
    stories = {item.key: deduper.place(item).story for item in order}
    return {str(r["id"]): stories[item.key] for r, item in zip(records, items)}


@dataclass
class AssignResult:
    """What one assignment pass over the database did."""

    assigned: int = 0
    new_story_ids: list[int] = field(default_factory=list)
    stats: DedupStats = field(default_factory=DedupStats)

    @property
    def folded(self) -> int:
        """Copies that joined an existing story instead of starting one."""
        return self.assigned - len(self.new_story_ids)


def assign_stories(conn, window: timedelta = DEFAULT_WINDOW, batch_size: int = 1000,
                   settings: Settings | None = None) -> AssignResult:
    """Place every stored copy that has no story yet, in published order, one batch per transaction.

    Safe to run from several workers at once and to rerun: batches run under one advisory
    lock and only touch unassigned rows.
    """
    settings = settings or Settings(window=window)
    result = AssignResult()
    while True:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (ASSIGN_LOCK,))
            cur.execute(
                f"""SELECT {FINGERPRINT_COLUMNS}, a.canonical_url, a.text_hash, a.published_at
                    FROM articles a LEFT JOIN article_fingerprints f ON f.article_id = a.id
                    WHERE a.story_id IS NULL ORDER BY a.published_at, a.id LIMIT %s""",
                (batch_size,),
            )
            rows = cur.fetchall()
            with _cycle_collection_paused():
                assignment, new_stories = _place_batch(cur, rows, settings, result.stats)
        conn.commit()  # releases the lock between batches
        result.assigned += len(assignment)
        result.new_story_ids += sorted(new_stories)
        if len(rows) < batch_size:
            return result


def _place_batch(cur, rows: list[tuple], settings: Settings, stats: DedupStats) -> tuple[dict[int, int], set[int]]:
    # A function of its own so that the batch's fingerprints and index are freed before the cycle
    # collector is switched back on: it would otherwise walk them all once more.
    # The text is only read when the copy has no stored fingerprint (FINGERPRINT_COLUMNS).
    items = [Item(key, title, text or "", url, digest, at) for key, title, text, _, url, digest, at in rows]
    with _timed(stats, "fingerprint"):
        fingerprints, computed = fingerprints_of(row[:4] for row in rows)
    with _timed(stats, "read index"):
        index = PostgresIndex(cur, items, fingerprints, settings.window, settings.max_candidates, computed)
    deduper = Deduper(index, settings, stats)
    # The server stores the band rows while the copies are placed here (Postgres and Python on two cores).
    with ThreadPoolExecutor(max_workers=1) as writer:
        bands_written = writer.submit(index.write_bands)
        with _timed(stats, "verify"):
            for item in items:
                deduper.place(item, fingerprints[item.key])
        with _timed(stats, "write index"):
            bands_written.result()  # if the placing was quicker
            return index.flush()
