-- Limits every instance must share when several run on one database: each practice number's
-- send rate (a GCRA schedule: the next free send slot) and sign-in failure counters.

CREATE TABLE send_slots (
    number_id  UUID PRIMARY KEY REFERENCES practice_numbers (id),
    next_at_us BIGINT NOT NULL  -- epoch microseconds of the next free slot
);

CREATE TABLE throttle_hits (
    key          TEXT   PRIMARY KEY,
    window_start BIGINT NOT NULL,  -- epoch ms
    hits         BIGINT NOT NULL
);
