-- 0013: what the player and the team write on a request after its chat (follow-ups from the
-- request page, replies from the console), in order.
CREATE TABLE request_messages (
    id          TEXT    PRIMARY KEY,
    number      TEXT    NOT NULL REFERENCES requests(number),
    at          DOUBLE PRECISION    NOT NULL,
    author      TEXT    NOT NULL,  -- 'player' or 'agent:<id>'
    author_name TEXT,
    text        TEXT    NOT NULL
);
CREATE INDEX request_messages_number ON request_messages (number, at);
