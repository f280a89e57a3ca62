-- Audit chain, retention and legal holds (issue 7 items 4-6).
--
-- Every audit entry written from now on carries its place in a hash chain: `seq` (1, 2, 3 ...
-- without gaps), the previous entry's hash and its own, an HMAC-SHA256 under a key derived
-- from the master key over the previous hash and a canonical encoding of every field (see
-- `store/src/common/audit.rs`). `audit_head` (one row, created with the first chained entry)
-- keeps the newest seq and hash, so deleting entries at the tail is detected too.
--
-- Entries that existed before this migration cannot be chained by SQL (the key is not in the
-- database): they keep `seq` NULL and are a genesis boundary. Their number is recorded in
-- `audit_head.unchained` so `frontdesk audit verify` notices one added or removed.

ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
CREATE INDEX audit_events_actor_at ON audit_events (actor, at);

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq       BIGINT  NOT NULL,
    hash      TEXT    NOT NULL,
    unchained BIGINT  NOT NULL
);
INSERT INTO audit_head (id, seq, hash, unchained)
    SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', COUNT(*)
    FROM audit_events HAVING COUNT(*) > 0;

-- Append-only: the application never changes or removes an entry (retention keeps the audit
-- log forever). An attacker with the database file can drop these, which is what the chain
-- is for.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head cannot be removed');
END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR NEW.unchained <> OLD.unchained
BEGIN
    SELECT RAISE(ABORT, 'the audit head only moves forward');
END;

-- A legal hold keeps a patient's conversations, messages and forms out of retention purges.
CREATE TABLE legal_holds (
    patient_id BLOB   PRIMARY KEY NOT NULL REFERENCES patients (id),
    reason     TEXT   NOT NULL,
    set_by     TEXT   NOT NULL,
    set_at     BIGINT NOT NULL
);
CREATE INDEX messages_created ON messages (created_at, id);
CREATE INDEX form_submissions_created ON form_submissions (created_at, id);
