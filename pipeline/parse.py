"""Feed documents (RSS 0.9x/1.0/2.0, RDF, Atom) to normalised Articles, via feedparser."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import feedparser

from pipeline.attribution import detect_agency
from pipeline.normalise import canonical_url, clean_text, clean_title, text_hash, to_utc
from pipeline.records import Article


@dataclass
class ParsedFeed:
    """The articles recovered from one document, and the parser's complaint if it had one."""

    articles: list[Article]
    warning: str | None = None


def parse_feed(
    body: bytes,
    feed_url: str,
    fetched_at: datetime,
    headers: dict[str, str] | None = None,
    agency_hint: str | None = None,
) -> ParsedFeed:
    """Parse a fetched document; a malformed ("bozo") feed keeps what could be recovered."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", feed_url)
    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=False)
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}"
    entries = parsed.get("entries", [])
    guid_counts = Counter(e.get("id") for e in entries if e.get("id"))
    # A feed that repeats GUIDs within one document cannot be trusted with them.
    trust_guids = all(count == 1 for count in guid_counts.values())
    articles = [
        _to_article(entry, feed_url, fetched_at, trust_guids, agency_hint) for entry in entries
    ]
    return ParsedFeed([a for a in articles if a is not None], warning)


def _to_article(entry, feed_url, fetched_at, trust_guids, agency_hint) -> Article | None:
    title = clean_title(entry.get("title"))
    summary = clean_text(entry.get("summary"))
    content = clean_text(max((c.get("value", "") for c in entry.get("content", [])), key=len, default=""))
    if not (title or summary or content):
        return None
    link = entry.get("link")
    url = canonical_url(link, base=feed_url)
    published_at, guessed = to_utc(
        entry.get("published_parsed") or entry.get("updated_parsed"), fetched_at
    )
    guid = entry.get("id") or None
    if guid and trust_guids:
        entry_key = f"guid:{guid}"
    elif url:
        entry_key = f"url:{url}"
    else:
        date = entry.get("published") or entry.get("updated") or ""
        entry_key = "hash:" + hashlib.sha256(f"{title}\n{date}".encode()).hexdigest()[:32]
    text = content or summary
    author = clean_title(entry.get("author")) or None
    agency, evidence = detect_agency(text, author=author, agency_hint=agency_hint)
    return Article(
        entry_key=entry_key,
        guid=guid,
        url=link,
        canonical_url=url,
        title=title or text[:120],
        summary=summary,
        content=content if content != summary else "",
        author=author,
        published_at=published_at,
        published_guessed=guessed,
        text_hash=text_hash(title, text),
        agency=agency,
        agency_evidence=evidence,
    )
