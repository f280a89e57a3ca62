-- Referrals and prospective patients: one row per referral (source, reason and close note
-- sealed together in `details`), its status history, and when the outreach worker should
-- look at it next (the first text, then one follow-up).

CREATE TABLE referrals (
    id               BLOB    PRIMARY KEY NOT NULL,
    patient_id       BLOB    NOT NULL REFERENCES patients (id),
    status           TEXT    NOT NULL,  -- new | contacted | replied | scheduled | closed
    details          BLOB    NOT NULL,  -- sealed JSON of domain::referrals::ReferralDetails
    received_at      BIGINT  NOT NULL,
    conversation_id  BLOB    REFERENCES conversations (id),
    first_contact_at BIGINT,
    next_action_at   BIGINT,
    followups        BIGINT  NOT NULL DEFAULT 0,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX referrals_due ON referrals (next_action_at);
CREATE INDEX referrals_conversation ON referrals (conversation_id);
CREATE INDEX referrals_received ON referrals (received_at);

CREATE TABLE referral_events (  -- each status is reached at most once (forward only)
    referral_id BLOB    NOT NULL REFERENCES referrals (id),
    status      TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    actor       BLOB    REFERENCES users (id),
    PRIMARY KEY (referral_id, status)
);
CREATE INDEX referral_events_at ON referral_events (at);
