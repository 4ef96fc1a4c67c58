-- 0011: requests after the chat (docs/integration.md, "Request lifecycle"): who owns a
-- request and at what priority; when it began waiting for the player's confirmation; the
-- secret of the link that answers it; the player's phone for SMS; kinds of history entries;
-- and the durable outbox of notifications (e-mail, SMS), retried like webhooks.

ALTER TABLE requests ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN owner_agent_id INTEGER REFERENCES agents(id);
ALTER TABLE requests ADD COLUMN awaiting_since REAL;
ALTER TABLE requests ADD COLUMN answer_token_hash BLOB;
CREATE INDEX requests_status ON requests (status, updated_at);

ALTER TABLE chats ADD COLUMN player_phone TEXT;

-- 'status' (a status change), 'notification' (the player was told), 'owner'
ALTER TABLE request_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status';

CREATE TABLE notifications (
    id              TEXT    PRIMARY KEY,
    number          TEXT    NOT NULL REFERENCES requests(number),
    kind            TEXT    NOT NULL,  -- created, status, awaiting_confirmation, reply
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      REAL    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    last_error      TEXT,
    sent_at         REAL
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_number ON notifications (number);
