-- Frontdesk schema, SQLite flavour. The PostgreSQL migration holds the same logical schema.
-- Conventions (both backends): ids are UUIDs (16-byte BLOB here), timestamps are BIGINT UTC
-- epoch milliseconds, enums are TEXT (their `as_str` words), booleans are 0/1, sealed
-- columns are BLOBs in the vault's format (see src/vault.rs).

CREATE TABLE users (
    id            BLOB    PRIMARY KEY NOT NULL,
    email         TEXT    NOT NULL,  -- stored lowercased, so uniqueness is case-insensitive
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE api_tokens (
    id         BLOB   PRIMARY KEY NOT NULL,
    name       TEXT   NOT NULL,
    token_hash TEXT   NOT NULL,
    created_by BLOB   REFERENCES users (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);

CREATE TABLE departments (
    id         BLOB   PRIMARY KEY NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE practice_numbers (
    id                    BLOB   PRIMARY KEY NOT NULL,
    e164                  TEXT   NOT NULL,
    provider              TEXT   NOT NULL,
    messaging_service_sid TEXT,
    default_department_id BLOB   REFERENCES departments (id),
    rate_limit_per_sec    REAL   NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX practice_numbers_e164_key ON practice_numbers (e164);

CREATE TABLE contacts (
    id         BLOB    PRIMARY KEY NOT NULL,
    phone      TEXT    NOT NULL,
    opted_out  INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),
    created_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX contacts_phone_key ON contacts (phone);

CREATE TABLE patients (
    id         BLOB   PRIMARY KEY NOT NULL,
    -- first_name, last_name, birth_date, mrn, phone as one sealed JSON object
    details    BLOB   NOT NULL,
    status     TEXT   NOT NULL,
    -- Vault::blind_index("mrn", mrn): equality lookups without a plaintext MRN
    mrn_index  TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX patients_mrn_index ON patients (mrn_index);
CREATE INDEX patients_created_at ON patients (created_at, id);

CREATE TABLE contact_patients (
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    PRIMARY KEY (contact_id, patient_id)
);
CREATE INDEX contact_patients_patient ON contact_patients (patient_id);

CREATE TABLE threads (
    id              BLOB   PRIMARY KEY NOT NULL,
    number_id       BLOB   NOT NULL REFERENCES practice_numbers (id),
    contact_id      BLOB   NOT NULL REFERENCES contacts (id),
    created_at      BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX threads_number_contact_key ON threads (number_id, contact_id);
CREATE INDEX threads_contact ON threads (contact_id);

CREATE TABLE conversations (
    id              BLOB    PRIMARY KEY NOT NULL,
    thread_id       BLOB    NOT NULL REFERENCES threads (id),
    status          TEXT    NOT NULL,
    department_id   BLOB    REFERENCES departments (id),
    assignee_id     BLOB    REFERENCES users (id),
    patient_id      BLOB    REFERENCES patients (id),
    urgent          INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    snoozed_until   BIGINT,
    opened_at       BIGINT  NOT NULL,
    closed_at       BIGINT,
    last_message_at BIGINT  NOT NULL,
    waiting_since   BIGINT,
    unread_count    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX conversations_thread_opened ON conversations (thread_id, opened_at);
CREATE INDEX conversations_inbox ON conversations (last_message_at, id);
CREATE INDEX conversations_status_inbox ON conversations (status, last_message_at, id);

CREATE TABLE messages (
    id                  BLOB    PRIMARY KEY NOT NULL,
    conversation_id     BLOB    NOT NULL REFERENCES conversations (id),
    thread_id           BLOB    NOT NULL REFERENCES threads (id),
    direction           TEXT    NOT NULL,
    body                BLOB    NOT NULL,  -- sealed
    media               BLOB,              -- sealed JSON array; NULL when there is no media
    sender              TEXT    NOT NULL,
    sender_user_id      BLOB    REFERENCES users (id),
    provider            TEXT    NOT NULL,
    provider_message_id TEXT,
    status              TEXT    NOT NULL,
    error_code          TEXT,
    error_message       TEXT,
    encoding            TEXT    NOT NULL,
    segments            INTEGER NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    needs_review        INTEGER NOT NULL DEFAULT 0 CHECK (needs_review IN (0, 1))
);
CREATE UNIQUE INDEX messages_provider_id_key ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_thread_created ON messages (thread_id, created_at, id);
CREATE INDEX messages_conversation_created ON messages (conversation_id, created_at);

CREATE TABLE provider_receipts (
    provider            TEXT   NOT NULL,
    provider_message_id TEXT   NOT NULL,
    received_at         BIGINT NOT NULL,
    PRIMARY KEY (provider, provider_message_id)
);

CREATE TABLE consent_events (
    id         BLOB    PRIMARY KEY NOT NULL,
    contact_id BLOB    NOT NULL REFERENCES contacts (id),
    purpose    TEXT    NOT NULL,
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    source     TEXT    NOT NULL,
    evidence   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, created_at);

CREATE TABLE outbox_jobs (
    id                 BLOB    PRIMARY KEY NOT NULL,
    message_id         BLOB    NOT NULL REFERENCES messages (id),
    number_id          BLOB    NOT NULL REFERENCES practice_numbers (id),
    state              TEXT    NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT  NOT NULL,
    lease_owner        TEXT,
    lease_until        BIGINT,
    handoff_started_at BIGINT,
    last_error         TEXT,
    created_at         BIGINT  NOT NULL
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, next_attempt_at);
CREATE INDEX outbox_jobs_message ON outbox_jobs (message_id, created_at);

CREATE TABLE audit_events (
    id     BLOB   PRIMARY KEY NOT NULL,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT,
    ip     TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at, id);
