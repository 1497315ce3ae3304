"""Parsing real-world feed files into normalised articles."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import FIXTURES, REPO

from pipeline.parse import parse_feed

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def parse(name: str, url: str = "https://feeds.example.com/feed.xml", folder=FIXTURES, **kw):
    return parse_feed((folder / name).read_bytes(), url, FETCHED,
                      {"Content-Type": "application/rss+xml"}, **kw)


def test_a_large_rss_feed_parses_every_item():
    parsed = parse("rssparser__guardian.rss")
    assert len(parsed.articles) == 55
    first = parsed.articles[0]
    assert first.title.startswith("Trump State of the Union address")
    assert first.canonical_url.startswith("https://www.theguardian.com/us-news/2018/jan/31/")
    assert first.published_at == datetime(2018, 1, 31, 7, 26, 5, tzinfo=UTC)
    assert not first.published_guessed
    assert "<" not in first.summary
    assert len({a.entry_key for a in parsed.articles}) == 55


def test_a_truncated_feed_keeps_what_could_be_recovered_and_says_why():
    parsed = parse("feedrs__rss_2.0_invalid_1.xml")
    assert parsed.warning and "SAXParseException" in parsed.warning


def test_latin1_bytes_without_a_declaration_still_yield_readable_text():
    parsed = parse("miniflux__no_encoding_ISO-8859-1.xml")
    assert parsed.articles
    text = " ".join(a.title + " " + a.summary for a in parsed.articles)
    assert "\ufffd" not in text and "Ã" not in text


def test_relative_links_resolve_against_xml_base():
    parsed = parse("feedrs__atom_xml_base.xml")
    assert parsed.articles[0].canonical_url == "https://numi.st/post/2022/travel-uke"


def test_seed_copies_keep_attribution_and_lose_tracking():
    levant = parse("levant-observer.xml", folder=REPO / "seeds" / "feeds")
    story = levant.articles[0]
    assert (story.agency, story.agency_evidence) == ("AFP", "credit")
    assert story.canonical_url == "https://www.levantobserver.net/world/us-led-strikes-kill-up-to-150-is-fighters-in-syria"
    assert levant.articles[1].title == "Teachers march in Nairobi over unpaid arrears & threaten strike"


def test_entries_without_guids_are_keyed_by_link_and_feeds_repeating_guids_are_not_trusted():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>One</title><link>https://x.example/1</link><guid>same</guid></item>
      <item><title>Two</title><link>https://x.example/2</link><guid>same</guid></item>
      <item><title>Three</title></item></channel></rss>"""
    parsed = parse_feed(rss, "https://x.example/feed", FETCHED)
    keys = [a.entry_key for a in parsed.articles]
    assert keys[:2] == ["url:https://x.example/1", "url:https://x.example/2"]
    assert keys[2].startswith("hash:")
    assert all(a.published_guessed for a in parsed.articles)


def test_json_feed_items_become_articles():
    parsed = parse_feed((FIXTURES / "jsonfeed-1.1.json").read_bytes(),
                        "https://harbourgazette.example/world/feed.json", FETCHED,
                        {"Content-Type": "application/feed+json"})
    first, second = parsed.articles
    assert first.title == "Dock workers walk out at three ports over pay"
    assert first.canonical_url == "https://harbourgazette.example/world/2024/04/12/port-strike"
    assert first.published_at == datetime(2024, 4, 12, 7, 30, tzinfo=UTC)
    assert (first.agency, first.agency_evidence) == ("Reuters", "dateline")
    assert first.text.startswith("ROTTERDAM (Reuters) - Dock workers")
    assert second.canonical_url == "https://harbourgazette.example/world/2024/04/12/storm-warning"
    assert second.text == "Forecasters issued an amber warning for gale-force winds."


def test_broken_json_is_a_warning_not_a_crash():
    parsed = parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "https://x.example/f.json",
                        FETCHED, {"Content-Type": "application/feed+json"})
    assert parsed.articles == [] and parsed.warning.startswith("InvalidJSONFeed")


def test_billion_laughs_is_not_expanded():
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    doc = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{entities}]>'
           '<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
           '<link>https://x.example/1</link></item></channel></rss>')
    parsed = parse_feed(doc.encode(), "https://x.example/feed", FETCHED, {"Content-Type": "application/rss+xml"})
    assert parsed.warning and "amplification" in parsed.warning
    assert all(len(a.title) < 100 for a in parsed.articles)


def test_external_entities_are_neither_fetched_nor_expanded(tmp_path):
    from pipeline.seedserver import serve_directory

    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    server, base = serve_directory(tmp_path)
    requests = []
    original = server.RequestHandlerClass
    server.RequestHandlerClass = lambda *a, **kw: requests.append(1) or original(*a, **kw)
    try:
        doc = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY web SYSTEM "{base}/secret.txt">'
               '<!ENTITY file SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>t</title>'
               '<item><title>a &web; b &file;</title><link>https://x.example/1</link></item></channel></rss>')
        parsed = parse_feed(doc.encode(), "https://x.example/feed", FETCHED, {"Content-Type": "application/rss+xml"})
    finally:
        server.shutdown()
    assert requests == []
    assert "TOP-SECRET" not in parsed.articles[0].title and "root:" not in parsed.articles[0].title


def test_html_and_scripts_in_titles_are_removed():
    doc = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
           b'<title>&lt;b&gt;Breaking:&lt;/b&gt; quake &lt;script&gt;alert(1)&lt;/script&gt;hits &amp;amp; kills</title>'
           b'<link>https://x.example/1</link></item></channel></rss>')
    parsed = parse_feed(doc, "https://x.example/feed", FETCHED, {"Content-Type": "application/rss+xml"})
    assert parsed.articles[0].title == "Breaking: quake hits & kills"


def test_the_http_charset_decides_when_the_document_does_not_declare_one():
    doc = '<rss version="2.0"><channel><title>t</title><item><title>Égalité à Québec</title><link>https://x.example/1</link></item></channel></rss>'
    parsed = parse_feed(doc.encode("iso-8859-1"), "https://x.example/feed", FETCHED,
                        {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    assert parsed.articles[0].title == "Égalité à Québec"
