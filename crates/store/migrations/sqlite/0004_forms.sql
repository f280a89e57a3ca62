-- Secure forms: one request per link sent (only the SHA-256 of its token is kept), at most one
-- submission per request (answers sealed, AAD = row id + column), and the submission's
-- photos and signatures (bytes sealed).

CREATE TABLE form_requests (
    id              BLOB    PRIMARY KEY NOT NULL,
    token_hash      TEXT    NOT NULL,  -- SHA-256 hex of the link's token
    conversation_id BLOB    NOT NULL REFERENCES conversations (id),
    form_key        TEXT    NOT NULL,
    status          TEXT    NOT NULL,  -- sent | opened | submitted | expired | revoked
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    opened_at       BIGINT,
    submitted_at    BIGINT,
    dob_attempts    INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    sent_by         BLOB    REFERENCES users (id)
);
CREATE UNIQUE INDEX form_requests_token_hash_key ON form_requests (token_hash);
CREATE INDEX form_requests_conversation ON form_requests (conversation_id, created_at);

CREATE TABLE form_submissions (
    id         BLOB   PRIMARY KEY NOT NULL,
    request_id BLOB   NOT NULL REFERENCES form_requests (id),
    answers    BLOB   NOT NULL,  -- sealed JSON
    score      TEXT,             -- JSON (total, band, flags); no answers
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX form_submissions_request_key ON form_submissions (request_id);

CREATE TABLE form_files (
    id            BLOB PRIMARY KEY NOT NULL,
    submission_id BLOB NOT NULL REFERENCES form_submissions (id),
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL  -- sealed
);
CREATE INDEX form_files_submission ON form_files (submission_id);
