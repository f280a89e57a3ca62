-- The front door: how each conversation began (reports count conversations by source), the
-- reason chosen on the chat-request form, and every version of the practice's SMS policy
-- (a consent event's evidence names the version, so old texts are kept).

ALTER TABLE conversations ADD COLUMN source TEXT NOT NULL DEFAULT 'patient_text';
ALTER TABLE conversations ADD COLUMN reason_key TEXT;
CREATE INDEX conversations_source ON conversations (source, opened_at);

CREATE TABLE sms_policy_versions (
    version    BIGINT PRIMARY KEY,
    content    TEXT   NOT NULL,  -- JSON: practice, purpose, frequency, privacy (no PHI)
    created_at BIGINT NOT NULL,
    created_by UUID   REFERENCES users (id)
);
