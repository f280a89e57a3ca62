-- Triage and assignment: the routing rules and SMS menu (one JSON document, replaced whole),
-- each conversation's routing state (priority, tags, menu), department members with their
-- capacity, each person's availability, and each department's assignment strategy.

CREATE TABLE routing_config (
    id         INTEGER PRIMARY KEY NOT NULL,  -- always 1
    document   TEXT    NOT NULL,              -- JSON: {"rules": [...], "menu": {...}}
    updated_at BIGINT  NOT NULL
);

CREATE TABLE conversation_routing (
    conversation_id BLOB   PRIMARY KEY NOT NULL REFERENCES conversations (id),
    priority        TEXT   NOT NULL DEFAULT 'normal',  -- normal | high
    tags            TEXT   NOT NULL DEFAULT '',        -- comma-separated
    menu_state      TEXT   NOT NULL DEFAULT 'none',    -- none | sent | done
    updated_at      BIGINT NOT NULL
);

CREATE TABLE department_members (
    department_id BLOB    NOT NULL REFERENCES departments (id),
    user_id       BLOB    NOT NULL REFERENCES users (id),
    capacity      INTEGER NOT NULL,  -- most open conversations assigned at once
    PRIMARY KEY (department_id, user_id)
);

CREATE TABLE user_availability (
    user_id    BLOB    PRIMARY KEY NOT NULL REFERENCES users (id),
    available  INTEGER NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE department_assignment (
    department_id BLOB PRIMARY KEY NOT NULL REFERENCES departments (id),
    strategy      TEXT NOT NULL,  -- round_robin | least_busy
    last_user_id  BLOB REFERENCES users (id)  -- the round-robin cursor
);
