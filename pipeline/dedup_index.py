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

import numpy as np
import scipy.sparse

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


def most_hits_in_bulk(bands: list[list[int]], rows: np.ndarray, since: np.ndarray, until: np.ndarray,
                      limit: int) -> list[list[tuple[int, int]]]:
    """``most_hits`` for many copies at once: copy i's bands are ``bands[i]`` and its window ``since[i]`` to
    ``until[i]``; ``rows`` (fields ``id``, ``bucket``, ``at``, ``first_copy``; times as integers) say which copy
    holds which bucket, and that it is a candidate for copies ``first_copy`` onwards."""
    # Hits are a sparse matrix product, (copies x buckets) . (buckets x holders), which sums them in C:
    # a batch meets a million (copy, holder) pairs through its popular buckets.
    buckets, bucket_column = np.unique(rows["bucket"], return_inverse=True)
    keys, key_column = np.unique(rows["id"], return_inverse=True)
    published, first_copy = np.empty(len(keys), dtype=np.int64), np.empty(len(keys), dtype=np.int64)
    published[key_column], first_copy[key_column] = rows["at"], rows["first_copy"]
    holders = scipy.sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (bucket_column, key_column)),
                                      shape=(len(buckets), len(keys)))
    counts = [len(b) for b in bands]
    wanted = np.fromiter(chain.from_iterable(bands), dtype=np.int64, count=sum(counts))
    copy_of = np.repeat(np.arange(len(bands)), counts)
    column = np.searchsorted(buckets, wanted).clip(max=max(len(buckets) - 1, 0))
    held = buckets[column] == wanted if len(buckets) else np.zeros(len(wanted), dtype=bool)
    asked = scipy.sparse.csr_matrix((np.ones(held.sum(), dtype=np.int32), (copy_of[held], column[held])),
                                    shape=(len(bands), len(buckets)))
    hits = (asked @ holders).tocsr()
    copy = np.repeat(np.arange(len(bands)), np.diff(hits.indptr))
    key, n = keys[hits.indices], hits.data
    at = published[hits.indices]
    inside = (since[copy] <= at) & (at <= until[copy]) & (first_copy[hits.indices] <= copy)
    copy, key, n = copy[inside], key[inside], n[inside]
    order = np.lexsort((key, -n, copy))
    copy, key, n = copy[order], key[order], n[order]
    top = np.arange(len(copy)) - np.searchsorted(copy, copy) < limit
    found: list[list[tuple[int, int]]] = [[] for _ in bands]
    for c, k, h in zip(copy[top].tolist(), key[top].tolist(), n[top].tolist()):
        found[c].append((k, h))
    return found


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
    # False when the owner ranks the candidates itself (the Postgres backend ranks its batch at once):
    # ``candidates`` then finds none.
    index_bands: bool = True

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
        if self.index_bands:
            for band in fingerprint.bands:
                self.by_band[band].append(item.key)
        for h in fingerprint.paragraph_hashes:
            self.paragraph_stories[h].add(story)
        return story
