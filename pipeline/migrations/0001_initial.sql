-- Feeds, their poll outcomes, article copies and the stories they fold into.

CREATE TABLE feeds (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    url                  text NOT NULL,
    agency_hint          text,
    active               boolean NOT NULL DEFAULT true,
    deactivated_reason   text,
    deactivated_at       timestamptz,
    -- How entries are identified: by GUID, or by link once the feed has shown
    -- it repeats GUIDs (then it stays on links, so keys never flip).
    entry_key_source     text NOT NULL DEFAULT 'guid' CHECK (entry_key_source IN ('guid', 'link')),
    etag                 text,
    last_modified        text,
    last_status          integer,
    last_polled_at       timestamptz,
    last_success_at      timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    next_poll_at         timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- One row per poll, whatever its outcome.
CREATE TABLE fetches (
    id            bigserial PRIMARY KEY,
    feed_id       bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    started_at    timestamptz NOT NULL,
    url           text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('ok', 'not_modified', 'error')),
    http_status   integer,
    bytes         integer NOT NULL DEFAULT 0,
    duration_ms   integer NOT NULL,
    entries_seen  integer NOT NULL DEFAULT 0,
    new_articles  integer NOT NULL DEFAULT 0,
    parse_warning text,
    error_class   text,
    error_message text
);
CREATE INDEX fetches_feed_started ON fetches (feed_id, started_at DESC);
CREATE INDEX fetches_started ON fetches (started_at);

-- One row per real-world story.
CREATE TABLE stories (
    id                bigserial PRIMARY KEY,
    title             text NOT NULL,
    agency            text,
    first_seen        timestamptz NOT NULL,
    last_seen         timestamptz NOT NULL,
    copies            integer NOT NULL DEFAULT 0,
    representative_id bigint,
    event_type        text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stories_last_seen ON stories (last_seen);

-- Every copy as fetched. story_id is NULL until dedup has placed it.
CREATE TABLE articles (
    id              bigserial PRIMARY KEY,
    feed_id         bigint NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    fetch_id        bigint REFERENCES fetches(id) ON DELETE SET NULL,
    entry_key       text NOT NULL,
    guid            text,
    url             text,
    canonical_url   text,
    title           text NOT NULL,
    summary         text NOT NULL,
    content         text NOT NULL,
    author          text,
    published_at    timestamptz NOT NULL,
    published_guessed boolean NOT NULL DEFAULT false,
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    text_hash       text NOT NULL,
    agency          text,
    agency_evidence text,
    story_id        bigint REFERENCES stories(id),
    UNIQUE (feed_id, entry_key)
);
CREATE INDEX articles_canonical_url ON articles (canonical_url);
CREATE INDEX articles_text_hash ON articles (text_hash);
CREATE INDEX articles_story ON articles (story_id);
CREATE INDEX articles_unassigned ON articles (id) WHERE story_id IS NULL;

ALTER TABLE stories
    ADD CONSTRAINT stories_representative_fk FOREIGN KEY (representative_id) REFERENCES articles(id);

-- The near-duplicate index: one row per (article, LSH band) of its MinHash signature.
CREATE TABLE article_bands (
    article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    band       smallint NOT NULL,
    bucket     bigint NOT NULL,
    PRIMARY KEY (article_id, band)
);
CREATE INDEX article_bands_lookup ON article_bands (band, bucket);
