-- 0003: console sign-in sessions, canned responses, internal notes, resolutions,
-- and the indexes request search needs.

CREATE TABLE console_sessions (
    token_hash BLOB    PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at REAL    NOT NULL,
    expires_at REAL    NOT NULL,
    ip         TEXT,
    user_agent TEXT
) WITHOUT ROWID;
CREATE INDEX console_sessions_agent ON console_sessions (agent_id);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

-- Notes are for agents only. They are not part of the player's message sequence (so the
-- player's seqs stay gapless); after_seq places each note in the conversation.
CREATE TABLE notes (
    chat_id     TEXT    NOT NULL REFERENCES chats(id),
    agent_id    INTEGER NOT NULL REFERENCES agents(id),
    client_id   TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    after_seq   INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (chat_id, agent_id, client_id)
) WITHOUT ROWID;

ALTER TABLE requests ADD COLUMN resolution TEXT;
ALTER TABLE requests ADD COLUMN resolution_note TEXT;

CREATE INDEX chats_username ON chats (player_username COLLATE NOCASE);
CREATE INDEX chats_email ON chats (player_email COLLATE NOCASE);
CREATE INDEX chats_ended ON chats (ended_at);
CREATE INDEX requests_created ON requests (created_at);
