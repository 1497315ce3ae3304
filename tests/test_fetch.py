"""Polling a feed: every answer from the web becomes a clear outcome, never an exception."""

from __future__ import annotations

import pytest
from feedhost import start_feed_host

from pipeline.fetch import FetchLimits, http_client, poll_feed
from pipeline.records import Feed

LIMITS = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=1.5, max_bytes=2 * 1024 * 1024)


@pytest.fixture(scope="module")
def host():
    server, base = start_feed_host()
    yield base
    server.shutdown()


def poll(url: str, **state):
    with http_client(LIMITS) as client:
        return poll_feed(Feed(id=1, name="t", url=url, **state), client, LIMITS)


def test_a_good_feed_comes_back_with_its_body_and_validators(host):
    result = poll(f"{host}/guardian.rss")
    assert (result.outcome, result.status) == ("ok", 200)
    assert result.body.startswith(b"<?xml")
    assert result.headers["etag"] == '"v1"'


def test_a_conditional_get_gets_304_and_no_body(host):
    result = poll(f"{host}/guardian.rss", etag='"v1"')
    assert (result.outcome, result.status, result.body) == ("not_modified", 304, b"")


def test_a_permanent_redirect_reports_the_new_address(host):
    result = poll(f"{host}/moved")
    assert result.outcome == "ok"
    assert result.moved_to == f"{host}/guardian.rss"


@pytest.mark.parametrize(("path", "error_class"), [
    ("server-error", "HTTP500"),
    ("gone", "HTTP410"),
    ("redirect-loop", "TooManyRedirects"),
    ("huge", "BodyTooLarge"),
    ("gzip-bomb", "BodyTooLarge"),
    ("slow-drip", "DeadlineExceeded"),
])
def test_bad_answers_become_recorded_errors(host, path, error_class):
    result = poll(f"{host}/{path}")
    assert result.outcome == "error"
    assert result.error_class == error_class
    assert result.error_message


def test_an_unreachable_host_is_an_error_too():
    result = poll("http://127.0.0.1:9/feed.xml")
    assert (result.outcome, result.error_class) == ("error", "ConnectError")
