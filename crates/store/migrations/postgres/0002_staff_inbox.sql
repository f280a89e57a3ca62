-- The staff inbox: sign-in security, sessions, notes, templates, settings, and the keyed
-- token index for search (HMACs of normalised words; the database holds no plaintext words).

ALTER TABLE users ADD COLUMN totp_secret BYTEA;  -- sealed base32 secret; NULL until enrolment starts
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;

CREATE TABLE user_departments (
    user_id       UUID NOT NULL REFERENCES users (id),
    department_id UUID NOT NULL REFERENCES departments (id),
    PRIMARY KEY (user_id, department_id)
);

CREATE TABLE recovery_codes (
    user_id   UUID   NOT NULL REFERENCES users (id),
    code_hash TEXT   NOT NULL,  -- SHA-256 hex of the normalised code
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,  -- SHA-256 hex of the cookie secret
    user_id      UUID    NOT NULL REFERENCES users (id),
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,              -- the absolute limit
    mfa_verified BOOLEAN NOT NULL,
    ip           TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE notes (
    id              UUID   PRIMARY KEY,
    conversation_id UUID   NOT NULL REFERENCES conversations (id),
    thread_id       UUID   NOT NULL REFERENCES threads (id),
    author_id       UUID   REFERENCES users (id),
    body            BYTEA  NOT NULL,  -- sealed
    created_at      BIGINT NOT NULL
);
CREATE INDEX notes_thread ON notes (thread_id, created_at);

CREATE TABLE templates (
    id         UUID   PRIMARY KEY,
    name       TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX templates_name_key ON templates (name);

CREATE TABLE settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,  -- JSON
    updated_at BIGINT NOT NULL
);

CREATE TABLE message_terms (
    term       TEXT NOT NULL,  -- Vault::blind_index("term", word)
    message_id UUID NOT NULL REFERENCES messages (id),
    PRIMARY KEY (term, message_id)
);

CREATE TABLE patient_terms (
    term       TEXT NOT NULL,
    patient_id UUID NOT NULL REFERENCES patients (id),
    PRIMARY KEY (term, patient_id)
);

-- Inbox views filter on these and sort by how long the patient has waited.
CREATE INDEX conversations_waiting ON conversations (status, waiting_since, last_message_at);
CREATE INDEX conversations_assignee ON conversations (assignee_id, status);
CREATE INDEX conversations_department ON conversations (department_id, status);
CREATE INDEX conversations_patient ON conversations (patient_id);
