-- Event-type labels: every classification kept with the model version that made it;
-- stories carry the current one.

CREATE TABLE classifications (
    story_id      bigint NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    model_version text NOT NULL,
    label         text NOT NULL,
    confidence    real NOT NULL,
    scores        jsonb NOT NULL,
    classified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (story_id, model_version)
);

ALTER TABLE stories
    ADD COLUMN event_confidence real,
    ADD COLUMN classified_by text;

CREATE INDEX stories_unclassified ON stories (id) WHERE event_type IS NULL;
CREATE INDEX stories_classified_by ON stories (classified_by);
