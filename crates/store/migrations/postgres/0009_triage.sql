-- Triage and assignment: the routing rules and SMS menu (one JSON document, replaced whole),
-- each conversation's routing state (priority, tags, menu), department members with their
-- capacity, each person's availability, and each department's assignment strategy.

CREATE TABLE routing_config (
    id         BIGINT PRIMARY KEY NOT NULL,  -- always 1
    document   TEXT   NOT NULL,              -- JSON: {"rules": [...], "menu": {...}}
    updated_at BIGINT NOT NULL
);

CREATE TABLE conversation_routing (
    conversation_id UUID   PRIMARY KEY NOT NULL REFERENCES conversations (id),
    priority        TEXT   NOT NULL DEFAULT 'normal',
    tags            TEXT   NOT NULL DEFAULT '',
    menu_state      TEXT   NOT NULL DEFAULT 'none',
    updated_at      BIGINT NOT NULL
);

CREATE TABLE department_members (
    department_id UUID   NOT NULL REFERENCES departments (id),
    user_id       UUID   NOT NULL REFERENCES users (id),
    capacity      BIGINT NOT NULL,
    PRIMARY KEY (department_id, user_id)
);

CREATE TABLE user_availability (
    user_id    UUID    PRIMARY KEY NOT NULL REFERENCES users (id),
    available  BOOLEAN NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE department_assignment (
    department_id UUID PRIMARY KEY NOT NULL REFERENCES departments (id),
    strategy      TEXT NOT NULL,
    last_user_id  UUID REFERENCES users (id)
);
