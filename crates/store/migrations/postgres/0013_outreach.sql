-- Outreach: messages scheduled to go out later ("send later" from the composer or the API,
-- and automated sends). The body is sealed like a message body (AAD: id +
-- scheduled_messages.body). The scheduler claims a due row (status pending -> sent) in the
-- same transaction that queues its message, so it goes out once with several instances.
-- kind: 'staff' (a person's message, sent as written) or 'automated' (quiet hours and the
-- daily/weekly caps apply, counted over this table's sent automated rows per contact).

CREATE TABLE scheduled_messages (
    id              UUID    PRIMARY KEY NOT NULL,
    conversation_id UUID    NOT NULL REFERENCES conversations (id),
    contact_id      UUID    NOT NULL REFERENCES contacts (id),
    body            BYTEA    NOT NULL,  -- sealed
    kind            TEXT   NOT NULL,  -- staff | automated
    sender          TEXT   NOT NULL,  -- staff | api | automation
    created_by      UUID    REFERENCES users (id),
    send_at         BIGINT NOT NULL,  -- when it is (next) due; deferrals move it
    requested_at    BIGINT NOT NULL,  -- the time asked for
    status          TEXT   NOT NULL,  -- pending | sent | failed | cancelled
    reason          TEXT,             -- why it failed or was deferred (no patient data)
    message_id      UUID    REFERENCES messages (id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX scheduled_messages_due ON scheduled_messages (status, send_at);
CREATE INDEX scheduled_messages_conversation ON scheduled_messages (conversation_id, send_at);
CREATE INDEX scheduled_messages_contact ON scheduled_messages (contact_id, kind, status, updated_at);

-- Broadcasts: one message template (the practice's own wording with {patient.first_name}-style
-- variables, not sealed, like saved templates) sent to a list of patients. Each recipient is
-- either queued (a scheduled_messages row of kind automated, so quiet hours and the caps apply
-- and the scheduler sends it in batches) or skipped with the reason (no consent on record,
-- opted out, no phone).
CREATE TABLE broadcasts (
    id         UUID    PRIMARY KEY NOT NULL,
    body       TEXT   NOT NULL,
    created_by UUID    REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX broadcasts_created ON broadcasts (created_at);

CREATE TABLE broadcast_recipients (
    broadcast_id UUID    NOT NULL REFERENCES broadcasts (id),
    position     BIGINT NOT NULL,
    patient_id   UUID    NOT NULL REFERENCES patients (id),
    status       TEXT   NOT NULL,  -- queued | skipped
    reason       TEXT,             -- why it was skipped (no patient data)
    scheduled_id UUID    REFERENCES scheduled_messages (id),
    PRIMARY KEY (broadcast_id, position)
);
