-- 0001: agents, tokens, player sessions, chats, messages, requests.
-- Times are epoch seconds (REAL) except messages.ts (epoch milliseconds).

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT    NOT NULL,
    password_hash TEXT,
    role          TEXT    NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    max_chats     INTEGER NOT NULL DEFAULT 3 CHECK (max_chats > 0),
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL    NOT NULL
);

CREATE TABLE agent_departments (
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    department TEXT    NOT NULL,
    PRIMARY KEY (agent_id, department)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL UNIQUE,
    label      TEXT    NOT NULL DEFAULT '',
    created_at REAL    NOT NULL,
    revoked_at REAL
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    locale     TEXT
);

CREATE TABLE chats (
    id                TEXT    PRIMARY KEY,
    session_id        TEXT    NOT NULL REFERENCES sessions(id),
    state             TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    player_name       TEXT,
    player_username   TEXT,
    player_email      TEXT,
    topic             TEXT    NOT NULL,
    locale            TEXT,
    agent_id          INTEGER REFERENCES agents(id),
    requeued          INTEGER NOT NULL DEFAULT 0,
    created_at        REAL    NOT NULL,
    queued_at         REAL    NOT NULL,
    assigned_at       REAL,
    first_response_at REAL,
    ended_at          REAL,
    ended_by          TEXT
);
CREATE INDEX chats_live ON chats (state) WHERE state != 'ended';
CREATE INDEX chats_session ON chats (session_id, created_at);

CREATE TABLE messages (
    chat_id     TEXT    NOT NULL REFERENCES chats(id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    client_id   TEXT    NOT NULL,
    author      TEXT    NOT NULL,  -- idempotency scope: 'player', 'system' or 'agent:<id>'
    sender      TEXT    NOT NULL CHECK (sender IN ('player', 'agent', 'system')),
    agent_id    INTEGER REFERENCES agents(id),
    author_name TEXT,
    text        TEXT    NOT NULL,
    event       TEXT,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (chat_id, seq),
    UNIQUE (chat_id, author, client_id)
) WITHOUT ROWID;

CREATE TABLE requests (
    number     TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL UNIQUE REFERENCES chats(id),
    status     TEXT NOT NULL DEFAULT 'open',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
