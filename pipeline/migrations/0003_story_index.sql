-- Dedup index v2: key-fact LSH bands next to the body bands, the copy's time on every band
-- (the dedup window becomes part of the index lookup), paragraph recurrence (boilerplate
-- and stock background paragraphs weigh little), and each story's outlets and agencies.

-- Bands 32..47 held MinHash bands of the lede; band numbers from 32 up now hold key-fact
-- bands, so the old lede rows would only collide by chance with them. Body bands stay valid.
DELETE FROM article_bands WHERE band >= 32;

ALTER TABLE article_bands ADD COLUMN published_at timestamptz;
UPDATE article_bands b SET published_at = a.published_at FROM articles a WHERE a.id = b.article_id;
ALTER TABLE article_bands ALTER COLUMN published_at SET NOT NULL;
DROP INDEX article_bands_lookup;
CREATE INDEX article_bands_lookup ON article_bands (band, bucket, published_at) INCLUDE (article_id);

-- Which stories carry a paragraph (by hash of its words); one row per story and paragraph.
CREATE TABLE story_paragraphs (
    hash     bigint NOT NULL,
    story_id bigint NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    PRIMARY KEY (hash, story_id)
);
-- How many stories carry each paragraph: kept by dedup as story_paragraphs grows, read per copy.
CREATE TABLE paragraph_recurrence (
    hash    bigint PRIMARY KEY,
    stories integer NOT NULL
);

ALTER TABLE stories
    ADD COLUMN outlets  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN agencies text[] NOT NULL DEFAULT '{}';
