"""The story index dedup assigns against: what the engine asks of it, and the in-memory backend.

The Postgres backend (``pipeline.dedup_pg``) answers the same questions from tables; both
must give the same answers, so both backends fold the same copies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, count, repeat
from typing import Protocol

from pipeline.fingerprint import Fingerprint


@dataclass(frozen=True)
class Item:
    """One copy to place: ``key`` orders copies like article ids do (earlier stored, lower key)."""

    key: int
    title: str
    text: str
    url: str | None  # canonical URL
    text_hash: str
    published: datetime


@dataclass(frozen=True)
class Candidate:
    """An indexed copy the new one might repeat."""

    key: int
    story: int
    published: datetime
    fingerprint: Fingerprint
    hits: int  # LSH bands shared with the new copy


def most_hits(bands: list[int], holders: Mapping[int, list[int]], published: Mapping[int, datetime],
              since: datetime, until: datetime, limit: int) -> list[tuple[int, int]]:
    """(copy key, bands shared) of the ``limit`` copies published from ``since`` to ``until`` that hold the most
    of ``bands`` (``holders``: bucket -> copy keys), lowest key first on a tie: the candidate order of every backend."""
    # Counting every holder, then dropping the few outside the window, keeps the count in C.
    hits = Counter(chain.from_iterable(map(holders.get, bands, repeat(()))))
    ranked = sorted((-n, k) for k, n in hits.items() if since <= published[k] <= until)
    return [(k, -n) for n, k in ranked[:limit]]


class StoryIndex(Protocol):
    def exact(self, item: Item, since: datetime, until: datetime) -> int | None:
        """The earliest story holding a copy with the item's canonical URL or text hash, in the window."""

    def candidates(self, item: Item, fingerprint: Fingerprint, since: datetime, until: datetime,
                   limit: int) -> list[Candidate]:
        """Copies in the window sharing an LSH band, most bands first (then lowest key), at most ``limit``."""

    def recurrence(self, paragraph_hash: int) -> int:
        """How many stories carry the paragraph with this hash."""

    def add(self, item: Item, fingerprint: Fingerprint, story: int | None) -> int:
        """Index the copy in ``story``, or in a new story when None; return the story id."""


@dataclass
class MemoryIndex:
    """The whole index in dicts: for one-off files, and as the Postgres backend's view of its batch."""

    new_story_id: Callable[[], int] = field(default_factory=lambda: count(1).__next__)
    copies: dict[int, Candidate] = field(default_factory=dict)
    by_identity: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_band: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    published: dict[int, datetime] = field(default_factory=dict)
    paragraph_stories: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def exact(self, item: Item, since: datetime, until: datetime) -> int | None:
        keys = self.by_identity.get(item.text_hash, []) + (self.by_identity.get(item.url, []) if item.url else [])
        stories = [self.copies[k].story for k in keys if since <= self.copies[k].published <= until]
        return min(stories, default=None)

    def candidates(self, item: Item, fingerprint: Fingerprint, since: datetime, until: datetime,
                   limit: int) -> list[Candidate]:
        return [Candidate(k, self.copies[k].story, self.copies[k].published, self.copies[k].fingerprint, n)
                for k, n in most_hits(fingerprint.bands, self.by_band, self.published, since, until, limit)]

    def recurrence(self, paragraph_hash: int) -> int:
        return len(self.paragraph_stories.get(paragraph_hash, ()))

    def add(self, item: Item, fingerprint: Fingerprint, story: int | None) -> int:
        story = self.new_story_id() if story is None else story
        self.copies[item.key] = Candidate(item.key, story, item.published, fingerprint, 0)
        self.published[item.key] = item.published
        for link in (item.text_hash, item.url):
            if link:
                self.by_identity[link].append(item.key)
        for band in fingerprint.bands:
            self.by_band[band].append(item.key)
        for h in fingerprint.paragraph_hashes:
            self.paragraph_stories[h].add(story)
        return story
