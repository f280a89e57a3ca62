-- Department routing settings (office hours, time zone, holidays, response-time target,
-- after-hours text, on-call people and phone, lead) as one JSON document per department,
-- validated by frontdesk_domain::office_hours::DepartmentSettings. Not patient data.
CREATE TABLE department_settings (
    department_id   BLOB    PRIMARY KEY NOT NULL REFERENCES departments (id),
    settings        TEXT    NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Automatic actions that must happen at most once per key: one after-hours reply per
-- conversation per practice-local day, one on-call SMS per conversation per hour, one
-- escalation per overdue wait. The key says which (e.g. "after_hours:<conversation>:2026-06-01").
CREATE TABLE automation_marks (
    key             TEXT    PRIMARY KEY NOT NULL,
    at              BIGINT  NOT NULL
);

-- A patient's text that may revoke consent ("can you stop", "wrong number"): flagged for
-- staff on the conversation page and in the inbox until someone decides (or the patient
-- opts out by keyword).
CREATE TABLE consent_reviews (
    conversation_id BLOB    PRIMARY KEY NOT NULL REFERENCES conversations (id),
    message_id      BLOB    NOT NULL REFERENCES messages (id),
    created_at      BIGINT  NOT NULL
);
