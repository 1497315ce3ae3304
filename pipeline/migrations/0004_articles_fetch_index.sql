-- Pruning old `fetches` rows sets articles.fetch_id to NULL: without this index every
-- deleted fetch scans `articles` (measured: 75 s vs 0.3 s for 2,000 fetches over 200k articles).
CREATE INDEX articles_fetch ON articles (fetch_id);
