"""The plain records passed between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedSpec:
    """A feed as a user lists it in feeds.yaml."""

    name: str
    url: str
    agency_hint: str | None = None


@dataclass
class Feed:
    """A feed row with the poll state kept for it."""

    id: int
    name: str
    url: str
    agency_hint: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    entry_key_source: str = "guid"


@dataclass
class FetchResult:
    """What one HTTP poll of a feed produced: a body, a 304, or an error."""

    url: str
    started_at: datetime
    duration_ms: int
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error_class: str | None = None
    error_message: str | None = None
    moved_to: str | None = None  # the new URL after a permanent redirect
    retry_after: float | None = None  # seconds the server asked us to wait (429/503)

    @property
    def outcome(self) -> str:
        if self.error_class:
            return "error"
        return "not_modified" if self.status == 304 else "ok"


@dataclass
class Article:
    """One normalised feed entry, ready to store."""

    entry_key: str
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    author: str | None
    published_at: datetime
    published_guessed: bool
    text_hash: str
    agency: str | None
    agency_evidence: str | None

    @property
    def text(self) -> str:
        """The longest text we have for the entry: full content when the feed carries it."""
        return self.content or self.summary
