-- 0006: messages stored in the order they arrive.
--
-- The table was clustered by (chat_id, seq) with a second unique index on the
-- idempotency key (chat_id, author, client_id). With many chats at once, every stored
-- message then wrote a page in the middle of each of those two B-trees (and split them
-- there): 3.5 WAL frames a message, each copied again by the checkpoint. Now rows go
-- to the end of the table (a commit's messages share its last page), and one index,
-- (chat_id, seq), finds a chat's messages in order: 1.5-2.4 frames a message.
--
-- The idempotency key is still stored with every message (a restarted hub rebuilds its
-- resend check from it), but the hub alone enforces it; the store keeps one message
-- per (chat, seq), which also stops two writers from giving out the same seq.
-- bench/README.md, "Where the time goes", item 30.

CREATE TABLE messages_by_time (
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
    file_id     TEXT    REFERENCES attachments(id),
    UNIQUE (chat_id, seq)
);

INSERT INTO messages_by_time
    (chat_id, seq, client_id, author, sender, agent_id, author_name, text, event, ts, file_id)
SELECT chat_id, seq, client_id, author, sender, agent_id, author_name, text, event, ts, file_id
FROM messages ORDER BY ts, chat_id, seq;

DROP TABLE messages;
ALTER TABLE messages_by_time RENAME TO messages;
