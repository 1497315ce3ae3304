"""Normalisation and attribution: the fields every later stage relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.attribution import detect_agency
from pipeline.normalise import canonical_url, clean_text, clean_title, parse_date, text_hash, to_utc

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("link", "base", "expected"), [
    ("https://WWW.Example.com/a/story?utm_source=rss&utm_medium=feed&id=7#comments", None, "https://www.example.com/a/story?id=7"),
    ("https://example.com/s?fbclid=IwAR0&gclid=x", None, "https://example.com/s"),
    ("/world/story-1", "https://news.example.org/feeds/world.xml", "https://news.example.org/world/story-1"),
    ("https://example.com/world/story/amp/", None, "https://example.com/world/story"),
    ("https://amp.example.com/world/story.amp.html", None, "https://example.com/world/story.html"),
    ("mailto:desk@example.com", None, None),
    (None, None, None),
])
def test_canonical_url(link, base, expected):
    assert canonical_url(link, base) == expected


def test_html_is_reduced_to_paragraphs_of_text():
    html = "<p>Hello &amp; <b>good</b> day</p><script>alert('x')</script><style>p{}</style><p>Second\n  para</p>"
    assert clean_text(html) == "Hello & good day\n\nSecond para"


def test_mojibake_is_repaired():
    assert clean_title("Caf\u00c3\u00a9 owners\u00e2\u20ac\u2122 protest") == "Café owners\u2019 protest"


def test_titles_lose_their_markup():
    assert clean_title("Teachers march <em>again</em> &amp; <script>x()</script>threaten strike") == \
        "Teachers march again & threaten strike"


def test_dates_become_utc_and_missing_or_future_ones_fall_back_to_fetch_time():
    assert to_utc(parse_date("Tue, 30 Apr 2024 10:00:00 +0200"), FETCHED) == (datetime(2024, 4, 30, 8, tzinfo=UTC), False)
    assert to_utc(parse_date("2024-04-30 08:00"), FETCHED) == (datetime(2024, 4, 30, 8, tzinfo=UTC), False)
    assert to_utc(None, FETCHED) == (FETCHED, True)
    assert to_utc(parse_date("2031-01-01"), FETCHED) == (FETCHED, True)


@pytest.mark.parametrize(("text", "expected"), [
    ("Sat, Dec 16 2023 02:02:33 PM", datetime(2023, 12, 16, 14, 2, 33)),
    ("Fri, 17 May 2019 06:00:00 BST", datetime(2019, 5, 17, 5, 0, tzinfo=UTC)),
    ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
    ("Seg, 24 Set 2018 10:00:00 -0300", datetime(2018, 9, 24, 13, 0, tzinfo=UTC)),
    ("2018-12-04T12:45:00+04:00", datetime(2018, 12, 4, 8, 45, tzinfo=UTC)),
    ("not a date", None),
])
def test_feed_dates_in_their_many_dialects(text, expected):
    assert parse_date(text) == expected


def test_text_hash_ignores_case_punctuation_and_spacing():
    assert text_hash("Title", "Some  text, here.") == text_hash("title", "some text here")
    assert text_hash("Title", "Some text") != text_hash("Title", "Other text")


@pytest.mark.parametrize(("text", "author", "expected"), [
    ("BEIRUT (AFP) - The US-led coalition...", None, ("AFP", "dateline")),
    ("NAIROBI, May 3 (Reuters) - Kenya's central bank...", None, ("Reuters", "dateline")),
    ("WASHINGTON (AP) \u2014 The Senate voted...", None, ("AP", "dateline")),
    ("Guwahati, Jun 17 (PTI) A 14-year-old boy...", None, ("PTI", "dateline")),
    ("Madrid, Jul 14 (EFE).- El Gobierno...", None, ("EFE", "dateline")),
    ("TAIPEI, Sept. 3 (CNA) - Taiwan's defence ministry...", None, ("CNA", "dateline")),
    ("The coalition said...\n\nSource: AFP", None, ("AFP", "credit")),
    ("Markets fell sharply.\n\n- Reuters", None, ("Reuters", "credit")),
    ("Officials said on Tuesday.", "By Jane Roe, Associated Press", ("AP", "author")),
    ("\"We will fight on,\" the commander told AFP on Monday.", None, (None, None)),
    ("A rapper was jailed (ap) yesterday.", None, (None, None)),
])
def test_wire_agency_detection(text, author, expected):
    assert detect_agency(text, author=author) == expected


def test_the_feed_hint_is_the_weakest_evidence():
    assert detect_agency("No attribution here.", agency_hint="AFP") == ("AFP", "feed")
    assert detect_agency("MOSCOW (Reuters) - ...", agency_hint="AFP") == ("Reuters", "dateline")
