-- 0005: attachments (files live outside the database, under random names), request
-- status history, and the outbox of webhook deliveries (it survives restarts).

CREATE TABLE attachments (
    id           TEXT    PRIMARY KEY,
    chat_id      TEXT    NOT NULL REFERENCES chats(id),
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    storage_key  TEXT    NOT NULL,
    thumb_key    TEXT,
    width        INTEGER,
    height       INTEGER,
    uploaded_by  TEXT    NOT NULL,
    created_at   REAL    NOT NULL
);
CREATE INDEX attachments_chat ON attachments (chat_id);

ALTER TABLE messages ADD COLUMN file_id TEXT REFERENCES attachments(id);

CREATE TABLE request_events (
    id          INTEGER PRIMARY KEY,
    number      TEXT NOT NULL REFERENCES requests(number),
    at          REAL NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX request_events_number ON request_events (number, at);

-- every existing request was opened when it was created
INSERT INTO request_events (number, at, actor, from_status, to_status)
    SELECT number, created_at, 'system', NULL, 'open' FROM requests;

CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY,
    event           TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      REAL    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    last_error      TEXT,
    delivered_at    REAL
);
CREATE INDEX webhook_due ON webhook_deliveries (status, next_attempt_at);
