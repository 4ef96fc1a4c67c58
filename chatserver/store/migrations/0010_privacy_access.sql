-- 0010: personal data and access (docs/privacy.md). API tokens get scopes and may be limited to
-- departments; an append-only, hash-chained audit trail; two-factor sign-in (TOTP and recovery
-- codes; a console session waits at its second step until the code is given); the privacy
-- capability; and erasure marks on chats.

-- space-separated; tokens made before this keep what they could do (read and change requests,
-- read files)
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'requests:read requests:write files:read';
ALTER TABLE api_tokens ADD COLUMN departments TEXT NOT NULL DEFAULT '';  -- space-separated; '' = all

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        REAL    NOT NULL,
    actor     TEXT    NOT NULL,  -- 'agent:<id>', 'token:<id>', 'cli', 'system', 'player'
    action    TEXT    NOT NULL,
    target    TEXT,
    detail    TEXT,              -- JSON object
    ip        TEXT,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

-- the chain's head (its last seq and hash) and where the kept part starts after a purge
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    first_seq  INTEGER NOT NULL,
    first_prev TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash, first_seq, first_prev) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 1,
     '0000000000000000000000000000000000000000000000000000000000000000');

ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;  -- the last code's time step
ALTER TABLE agents ADD COLUMN privacy INTEGER NOT NULL DEFAULT 0;  -- may answer data requests

CREATE TABLE recovery_codes (
    agent_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   REAL,
    PRIMARY KEY (agent_id, code_hash)
);

-- 'full', 'totp' (the password was right; the code is next) or 'enrol' (two-factor sign-in is
-- required and must be set up first)
ALTER TABLE console_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';

ALTER TABLE chats ADD COLUMN erased_at REAL;

-- links that give a player the archive of their data: the link's secret is kept hashed, and
-- what it names is gone once it expires (or the subject is erased)
CREATE TABLE privacy_exports (
    token_hash BLOB    PRIMARY KEY,
    member_id  TEXT,
    username   TEXT,
    email      TEXT,
    created_at REAL    NOT NULL,
    expires_at REAL    NOT NULL,
    created_by TEXT    NOT NULL
);

-- the retention purge reads closed requests in the order they last changed
CREATE INDEX requests_updated ON requests (updated_at, chat_id);
