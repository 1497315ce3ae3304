-- The band index, partitioned by week of publication (UTC, weeks start on Monday). A batch only
-- reads the weeks around its copies and writes to the newest, so the index it touches stays the
-- size of a few weeks of news however many stories are stored (at 1M stories the whole lookup
-- index is ~3 GB; once it outgrows memory, random-key inserts and probes into it miss the cache).
-- Old weeks are dropped by news_maintenance. Measured neutral up to 1M stories on a 24 GB machine.
-- Moving the stored rows takes ~27 s per 100k stored copies (7.2M rows; measured), in this one
-- transaction: dedup waits for it.
ALTER TABLE article_bands RENAME TO article_bands_unpartitioned;
ALTER INDEX article_bands_lookup RENAME TO article_bands_unpartitioned_lookup;

CREATE TABLE article_bands (
    article_id   bigint NOT NULL,
    bucket       bigint NOT NULL,
    published_at timestamptz NOT NULL
) PARTITION BY RANGE (published_at);
CREATE INDEX article_bands_lookup ON article_bands (bucket, published_at) INCLUDE (article_id);

-- Creates the partitions (article_bands_wYYYYMMDD, the Monday) that rows published at these
-- times need; dedup calls it before writing a batch's bands.
CREATE FUNCTION add_article_band_weeks(times timestamptz[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    monday timestamp;
    partition text;
BEGIN
    FOR monday IN SELECT DISTINCT date_trunc('week', t AT TIME ZONE 'UTC') FROM unnest(times) AS t LOOP
        partition := 'article_bands_w' || to_char(monday, 'YYYYMMDD');
        IF to_regclass(partition) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF article_bands FOR VALUES FROM (%L) TO (%L)',
                           partition, monday AT TIME ZONE 'UTC', (monday + interval '7 days') AT TIME ZONE 'UTC');
        END IF;
    END LOOP;
END $$;

SELECT add_article_band_weeks(ARRAY(
    SELECT DISTINCT date_trunc('week', published_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM article_bands_unpartitioned));
INSERT INTO article_bands SELECT article_id, bucket, published_at FROM article_bands_unpartitioned;
DROP TABLE article_bands_unpartitioned;
