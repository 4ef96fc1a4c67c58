-- 0015: a request spans chats. Every chat of a request names it: the chat it began with (as
-- requests.chat_id still does) and each live chat the player opened on it later.
ALTER TABLE chats ADD COLUMN request_number TEXT;
UPDATE chats SET request_number = (SELECT r.number FROM requests r WHERE r.chat_id = chats.id);
CREATE INDEX chats_request ON chats (request_number, created_at);

-- Links in the player's notifications that open their request without its number and
-- contact: a random secret, kept only as its hash, until it expires.
CREATE TABLE request_links (
    token_hash BYTEA            PRIMARY KEY,
    number     TEXT             NOT NULL REFERENCES requests(number),
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX request_links_expiry ON request_links (expires_at);
