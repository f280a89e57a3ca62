-- Audit chain, retention and legal holds (issue 7 items 4-6). See the SQLite twin for the
-- reasoning; the same columns and rules.

ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
CREATE INDEX audit_events_actor_at ON audit_events (actor, at);

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       BIGINT  NOT NULL,
    hash      TEXT    NOT NULL,
    unchained BIGINT  NOT NULL
);
INSERT INTO audit_head (id, seq, hash, unchained)
    SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000', COUNT(*)
    FROM audit_events HAVING COUNT(*) > 0;

CREATE FUNCTION frontdesk_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION frontdesk_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_audit_append_only();

CREATE FUNCTION frontdesk_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.unchained <> OLD.unchained THEN
        RAISE EXCEPTION 'the audit head only moves forward';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION frontdesk_audit_head_forward();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_audit_append_only();

CREATE TABLE legal_holds (
    patient_id UUID   PRIMARY KEY REFERENCES patients (id),
    reason     TEXT   NOT NULL,
    set_by     TEXT   NOT NULL,
    set_at     BIGINT NOT NULL
);
CREATE INDEX messages_created ON messages (created_at, id);
CREATE INDEX form_submissions_created ON form_submissions (created_at, id);
