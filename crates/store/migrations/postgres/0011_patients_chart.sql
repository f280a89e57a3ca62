-- Patient directory: a blind index for matching by name + birth date (imports), preferred
-- language and time zone. Save to the chart: one durable job per export of a conversation
-- to the practice's FHIR endpoint.

ALTER TABLE patients ADD COLUMN match_index TEXT;
ALTER TABLE patients ADD COLUMN language TEXT;
ALTER TABLE patients ADD COLUMN time_zone TEXT;
CREATE INDEX patients_match_index ON patients (match_index);

CREATE TABLE chart_jobs (
    id              UUID    PRIMARY KEY,
    conversation_id UUID    NOT NULL REFERENCES conversations (id),
    status          TEXT    NOT NULL,  -- pending | sent | failed
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    requested_by    UUID    REFERENCES users (id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX chart_jobs_due ON chart_jobs (status, next_attempt_at);
CREATE INDEX chart_jobs_conversation ON chart_jobs (conversation_id, created_at);
