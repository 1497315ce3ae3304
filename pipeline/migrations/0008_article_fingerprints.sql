-- Each copy's dedup fingerprint (pipeline.fingerprint: paragraphs, shingles, key facts, LSH buckets;
-- Fingerprint.to_bytes), computed once, when the copy is stored, instead of again by every dedup batch
-- that meets the copy as a candidate (decoding one is ~7x cheaper than computing it).
-- Copies stored before this migration get theirs the first time dedup computes it.
-- About 2.5 kB per copy, mostly 64-bit shingle hashes: they do not compress, so none is attempted, and
-- rows up to 8 kB stay in the table rather than in its TOAST table (one read per copy, not two).
CREATE TABLE article_fingerprints (
    article_id  bigint PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    fingerprint bytea NOT NULL
) WITH (toast_tuple_target = 8160);
ALTER TABLE article_fingerprints ALTER COLUMN fingerprint SET STORAGE EXTERNAL;
