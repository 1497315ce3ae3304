"""Polite, bounded HTTP polling of one feed.

feedparser's own fetcher has no timeouts, so we fetch with httpx: connect and
read timeouts, a total deadline, a cap on the (decompressed) body, at most five
redirects, and conditional GET with the feed's stored ETag / Last-Modified.
Errors never raise: they come back as a FetchResult with ``error_class`` set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from pipeline import __version__
from pipeline.records import Feed, FetchResult

USER_AGENT = f"Wiredesk/{__version__} (feed poller; +https://pypi.org/project/wiredesk/)"


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


class BodyTooLarge(Exception):
    """The (decompressed) body passed the size cap."""


class DeadlineExceeded(Exception):
    """The whole response took longer than the total timeout."""


def http_client(limits: FetchLimits = FetchLimits()) -> httpx.Client:
    """An httpx client configured for feed polling; share one across polls."""
    return httpx.Client(
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"},
    )


def poll_feed(feed: Feed, client: httpx.Client, limits: FetchLimits = FetchLimits()) -> FetchResult:
    """GET the feed once, conditionally; never raises for network or HTTP trouble."""
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    result = FetchResult(url=feed.url, started_at=started_at, duration_ms=0)
    try:
        with client.stream("GET", feed.url, headers=headers) as response:
            result.status = response.status_code
            result.headers = dict(response.headers)
            result.moved_to = _permanent_redirect_target(response)
            result.retry_after = _retry_after_seconds(response.headers.get("retry-after"))
            if response.status_code == 304:
                pass
            elif response.is_success:
                result.body = _read_capped(response, limits, clock)
            else:
                result.error_class = f"HTTP{response.status_code}"
                result.error_message = f"{response.status_code} {response.reason_phrase}"
    except (httpx.HTTPError, BodyTooLarge, DeadlineExceeded) as exc:
        result.error_class = type(exc).__name__
        result.error_message = str(exc) or type(exc).__name__
    result.duration_ms = int((time.monotonic() - clock) * 1000)
    return result


def _read_capped(response: httpx.Response, limits: FetchLimits, clock: float) -> bytes:
    # Counting decoded bytes caps the decompressed size too, so a gzip bomb stops early.
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise BodyTooLarge(f"body exceeds {limits.max_bytes} bytes")
        if time.monotonic() - clock > limits.total_timeout:
            raise DeadlineExceeded(f"response took over {limits.total_timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _permanent_redirect_target(response: httpx.Response) -> str | None:
    """The new address when every hop was permanent (301/308), else None."""
    if response.history and all(r.status_code in (301, 308) for r in response.history):
        return str(response.url)
    return None
