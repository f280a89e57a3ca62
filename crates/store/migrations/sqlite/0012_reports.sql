-- Reports: a day's facts are read by time range (messages, openings, closings, consent
-- revocations, form requests), and each finished practice-local day's rollup is kept as JSON
-- (counts, histograms and ids only: no patient data, so it is not sealed).

-- messages (created_at, id) comes from 0010 (messages_created) and serves the day reads too.
CREATE INDEX conversations_opened ON conversations (opened_at);
CREATE INDEX conversations_closed ON conversations (closed_at);
CREATE INDEX consent_events_created ON consent_events (created_at);
CREATE INDEX form_requests_created ON form_requests (created_at);
CREATE INDEX form_requests_submitted ON form_requests (submitted_at);

CREATE TABLE report_days (
    day         TEXT   PRIMARY KEY NOT NULL,  -- practice-local date, YYYY-MM-DD
    time_zone   TEXT   NOT NULL,              -- the IANA zone the day was cut in
    computed_at BIGINT NOT NULL,
    rollup      TEXT   NOT NULL               -- JSON of domain::reports::DayRollup
);
