-- 0004: departments and priorities on chats, verified identity, the built-in member
-- directory, and the record of refused players (under age).

ALTER TABLE chats ADD COLUMN department TEXT NOT NULL DEFAULT 'general';
ALTER TABLE chats ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN member_id TEXT;
ALTER TABLE chats ADD COLUMN verified_by TEXT CHECK (verified_by IN ('token', 'directory'));

CREATE TABLE members (
    member_id TEXT PRIMARY KEY,
    username  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email     TEXT NOT NULL COLLATE NOCASE,
    name      TEXT,
    birthdate TEXT
);

CREATE TABLE refusals (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    reason     TEXT NOT NULL,
    member_id  TEXT,
    username   TEXT,
    email      TEXT,
    topic      TEXT,
    session_id TEXT
);
