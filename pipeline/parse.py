"""Feed documents to normalised Articles: RSS 0.9x/1.0/2.0, RDF and Atom via feedparser,
JSON Feed 1.0/1.1 (which feedparser does not read) via the json module."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import feedparser

from pipeline.attribution import detect_agency
from pipeline.normalise import canonical_url, clean_text, clean_title, parse_date, text_hash, to_utc
from pipeline.records import Article


@dataclass
class ParsedFeed:
    """The articles recovered from one document, the parser's complaint if it had one, and
    how entries were identified (``guid``, or ``link`` when the feed repeats GUIDs)."""

    articles: list[Article]
    warning: str | None = None
    entry_key_source: str = "guid"


@dataclass
class RawEntry:
    """An entry's fields as the document gives them, before normalisation."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    content: str | None
    published: datetime | None
    published_text: str
    author: str | None


def parse_feed(
    body: bytes,
    feed_url: str,
    fetched_at: datetime,
    headers: dict[str, str] | None = None,
    agency_hint: str | None = None,
    entry_key_source: str = "guid",
) -> ParsedFeed:
    """Parse a fetched document; a malformed ("bozo") feed keeps what could be recovered."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if _is_json_feed(body, response_headers.get("content-type", "")):
        entries, warning = _json_feed_entries(body)
    else:
        entries, warning = _feedparser_entries(body, response_headers)
    guids = Counter(e.guid for e in entries if e.guid)
    if any(count > 1 for count in guids.values()):
        entry_key_source = "link"  # and it stays so for this feed: keys must never flip
    articles = [_to_article(e, feed_url, fetched_at, entry_key_source, agency_hint) for e in entries]
    return ParsedFeed([a for a in articles if a is not None], warning, entry_key_source)


def _feedparser_entries(body: bytes, headers: dict[str, str]) -> tuple[list[RawEntry], str | None]:
    # The response headers carry the charset. No base URL is given on purpose: feedparser
    # would resolve non-URL Atom ids against it, making entry keys depend on the feed's URL;
    # links are resolved against the feed URL later, in canonical_url().
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}"
    return [_raw_entry(e) for e in parsed.get("entries", [])], warning


def _raw_entry(e: feedparser.FeedParserDict) -> RawEntry:
    # Read "updated" only when present: feedparser's updated->published alias is deprecated.
    date_text = e.get("published") or (e["updated"] if "updated" in e.keys() else "")
    parsed_date = e.get("published_parsed") or (e["updated_parsed"] if "updated_parsed" in e.keys() else None)
    # feedparser mis-reads AM/PM clocks, zone names and localised day names; dateutil does not.
    published = parse_date(date_text) or (datetime(*parsed_date[:6]) if parsed_date else None)
    # An enclosure must not stand in for the article: prefer the rel="alternate" link.
    alternate = [link.get("href") for link in e.get("links", []) if link.get("rel") == "alternate"]
    return RawEntry(
        guid=e.get("id") or None,
        link=alternate[0] if alternate else e.get("link"),
        title=e.get("title"),
        summary=e.get("summary"),
        content=max((c.get("value", "") for c in e.get("content", [])), key=len, default=""),
        published=published,
        published_text=date_text,
        author=e.get("author"),
    )


def _is_json_feed(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip()[:1] == b"{"


def _json_feed_entries(body: bytes) -> tuple[list[RawEntry], str | None]:
    try:
        document = json.loads(body)
        items = document["items"]
    except (ValueError, KeyError, TypeError) as exc:
        return [], f"InvalidJSONFeed: {type(exc).__name__}: {exc}"
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        date_text = item.get("date_published") or item.get("date_modified") or ""
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        entries.append(RawEntry(
            guid=str(item["id"]) if item.get("id") is not None else None,
            link=item.get("url") or item.get("external_url"),
            title=item.get("title"),
            summary=item.get("summary"),
            content=item.get("content_html") or item.get("content_text"),
            published=parse_date(date_text),
            published_text=date_text,
            author=", ".join(a.get("name", "") for a in authors if isinstance(a, dict)) or None,
        ))
    return entries, None


def _to_article(entry: RawEntry, feed_url: str, fetched_at: datetime, entry_key_source: str,
                agency_hint: str | None) -> Article | None:
    title = clean_title(entry.title)
    summary = clean_text(entry.summary)
    content = clean_text(entry.content)
    if not (title or summary or content):
        return None
    url = canonical_url(entry.link, base=feed_url)
    published_at, guessed = to_utc(entry.published, fetched_at)
    if entry.guid and entry_key_source == "guid":
        entry_key = f"guid:{entry.guid}"
    elif url:
        entry_key = f"url:{url}"
    else:
        entry_key = "hash:" + hashlib.sha256(f"{title}\n{entry.published_text}".encode()).hexdigest()[:32]
    text = content or summary
    author = clean_title(entry.author) or None
    agency, evidence = detect_agency(text, author=author, agency_hint=agency_hint)
    return Article(
        entry_key=entry_key,
        guid=entry.guid,
        url=entry.link,
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
