"""Normalisation of feed fields: HTML to text, mojibake, canonical URLs, UTC dates."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import ftfy
from dateutil import parser as dateutil_parser
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that only track the reader, never select the content.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|"
    r"_hsenc|_hsmi|mkt_tok|ocid|cmpid|ito|icid|ref|ref_src|smid|s_cid|ns_mchannel|ns_source|"
    r"ns_campaign|ns_linkname|ns_fee|at_medium|at_campaign|taid|CMP|ftag|xtor|rss)$",
    re.IGNORECASE,
)
AMP_PATH = re.compile(r"(/amp/?$|/amp(?=/)|\.amp(?=\.html?$|$))")
BLOCK_TAGS = "p, div, br, li, h1, h2, h3, h4, h5, h6, blockquote, tr, section, article"
HTML_TAG = re.compile(r"<[a-zA-Z/!]")
WHITESPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
BLANK_LINES = re.compile(r"\s*\n\s*(\n\s*)+")


def clean_text(html_or_text: str | None) -> str:
    """Plain text from an HTML fragment: scripts and styles dropped, entities decoded,
    mojibake repaired, whitespace collapsed; paragraphs kept as blank-line breaks."""
    if not html_or_text:
        return ""
    if HTML_TAG.search(html_or_text):
        # In HTML a line break is just a space; paragraphs come from the block tags.
        html_or_text = re.sub(r"\s+", " ", html_or_text)
    tree = HTMLParser(html_or_text)
    tree.strip_tags(["script", "style", "noscript", "iframe", "object", "template"])
    for node in tree.css(BLOCK_TAGS):
        node.insert_before("\n\n")
    root = tree.body or tree.root
    text = root.text(deep=True, separator="") if root else ""
    text = ftfy.fix_text(text, uncurl_quotes=False)  # keep the publisher's typography
    text = WHITESPACE.sub(" ", text)
    text = BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def clean_title(html_or_text: str | None) -> str:
    """A one-line plain-text title."""
    return " ".join(clean_text(html_or_text).split())


def canonical_url(link: str | None, base: str | None = None) -> str | None:
    """The URL that identifies an article: absolute, lower-case scheme and host, no
    fragment, no tracking parameters, sorted query, AMP variant folded."""
    if not link:
        return None
    absolute = urljoin(base or "", link.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    cleaned = url_query_cleaner(absolute, _tracking_names(parts.query), remove=True, keep_fragments=False)
    cleaned = canonicalize_url(cleaned)
    parts = urlsplit(cleaned)
    host = parts.netloc.lower()
    if host.startswith("amp."):
        host = host[4:]
    path = AMP_PATH.sub("", parts.path) or "/"
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


def _tracking_names(query: str) -> list[str]:
    names = [pair.split("=", 1)[0] for pair in query.split("&") if pair]
    return [name for name in names if TRACKING_PARAMS.match(name)]


class _FeedDateNames(dateutil_parser.parserinfo):
    """English plus the month names feeds write in Italian, French, Spanish, Portuguese, German."""

    MONTHS = [
        ("Jan", "January", "gen", "gennaio", "janv", "janvier", "ene", "enero", "janeiro", "jän", "januar"),
        ("Feb", "February", "febbraio", "févr", "fevr", "février", "fevrier", "febrero", "fev", "fevereiro", "februar"),
        ("Mar", "March", "marzo", "mars", "março", "marco", "märz", "marz"),
        ("Apr", "April", "aprile", "avr", "avril", "abr", "abril"),
        ("May", "May", "mag", "maggio", "mai", "mayo", "maio"),
        ("Jun", "June", "giu", "giugno", "juin", "junio", "junho", "juni"),
        ("Jul", "July", "lug", "luglio", "juil", "juillet", "julio", "julho", "juli"),
        ("Aug", "August", "ago", "agosto", "août", "aout"),
        ("Sep", "Sept", "September", "set", "settembre", "septembre", "septiembre", "setembro"),
        ("Oct", "October", "ott", "ottobre", "octobre", "octubre", "out", "outubro", "okt", "oktober"),
        ("Nov", "November", "novembre", "noviembre", "novembro"),
        ("Dec", "December", "dic", "dicembre", "déc", "décembre", "decembre", "diciembre", "dez", "dezembro", "dezember"),
    ]


# Zone abbreviations seen in feeds (dateutil knows only UTC/GMT by name).
ZONE_OFFSETS = {
    "BST": 3600, "IST": 19800, "CET": 3600, "CEST": 7200, "EET": 7200, "EEST": 10800,
    "WET": 0, "WEST": 3600, "MSK": 10800, "JST": 32400, "KST": 32400, "HKT": 28800,
    "SGT": 28800, "AEST": 36000, "AEDT": 39600, "EST": -18000, "EDT": -14400,
    "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
}
_DATE_NAMES = _FeedDateNames()
LEADING_WORD = re.compile(r"^\s*[^\W\d_]+\.?,?\s+")


def parse_date(text: str | None) -> datetime | None:
    """A feed's date string as a datetime (naive when it names no zone), or None.

    Handles RFC 822 and ISO 8601, AM/PM clocks, zone abbreviations and localised
    month and weekday names (a weekday dateutil does not know is skipped).
    """
    if not text or not text.strip():
        return None
    for candidate in (text, LEADING_WORD.sub("", text, count=1)):
        try:
            return dateutil_parser.parse(candidate, parserinfo=_DATE_NAMES, tzinfos=ZONE_OFFSETS)
        except (ValueError, OverflowError):
            continue
    return None


def to_utc(moment: datetime | None, fetched_at: datetime) -> tuple[datetime, bool]:
    """The entry's UTC time and whether it was guessed: a missing date, or one in the
    future (beyond a few minutes of clock skew), falls back to the fetch time.
    A date without a zone is taken as UTC."""
    if moment is None:
        return fetched_at, True
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if (moment - fetched_at).total_seconds() > 600:
        return fetched_at, True
    return moment, False


def text_hash(title: str, text: str) -> str:
    """A hash of the article's words, blind to case, punctuation and spacing."""
    words = re.findall(r"\w+", f"{title} {text}".lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
