-- 0009: rollups for reports over time. Each hour (UTC, epoch seconds of its start) has a row
-- per department, topic, agent (0: none) and language that had any chat; the hub adds each
-- ended chat, each rating and each refusal once, moving a watermark in the same transaction.

CREATE TABLE report_hours (
    hour        BIGINT NOT NULL,
    department  TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    agent_id    BIGINT NOT NULL,
    locale      TEXT    NOT NULL,
    chats       INTEGER NOT NULL DEFAULT 0,  -- ended chats, left messages included
    offline     INTEGER NOT NULL DEFAULT 0,  -- messages left while nobody could chat
    answered    INTEGER NOT NULL DEFAULT 0,  -- chats an agent took
    abandoned   INTEGER NOT NULL DEFAULT 0,  -- players who left the queue
    wait_sum    DOUBLE PRECISION NOT NULL DEFAULT 0,  -- queue waits of answered chats (seconds)
    w0 INTEGER NOT NULL DEFAULT 0, w1 INTEGER NOT NULL DEFAULT 0, w2 INTEGER NOT NULL DEFAULT 0,
    w3 INTEGER NOT NULL DEFAULT 0, w4 INTEGER NOT NULL DEFAULT 0, w5 INTEGER NOT NULL DEFAULT 0,
    w6 INTEGER NOT NULL DEFAULT 0, w7 INTEGER NOT NULL DEFAULT 0,  -- waits per bucket
    frt_sum     DOUBLE PRECISION NOT NULL DEFAULT 0,  -- first responses (seconds) ...
    frt_n       INTEGER NOT NULL DEFAULT 0,  -- ... of this many chats
    handle_sum  DOUBLE PRECISION NOT NULL DEFAULT 0,  -- assigned until ended (seconds)
    resolved    INTEGER NOT NULL DEFAULT 0,  -- ended by the agent as resolved
    rated       INTEGER NOT NULL DEFAULT 0,  -- players' ratings (1-5) ...
    rating_sum  INTEGER NOT NULL DEFAULT 0,
    satisfied   INTEGER NOT NULL DEFAULT 0,  -- ... of 4 or 5
    said_resolved INTEGER NOT NULL DEFAULT 0,  -- players who said the issue was resolved
    nps_n       INTEGER NOT NULL DEFAULT 0,  -- "would you recommend us" answers (0-10) ...
    promoters   INTEGER NOT NULL DEFAULT 0,  -- ... of 9 or 10
    detractors  INTEGER NOT NULL DEFAULT 0,  -- ... of 0 to 6
    PRIMARY KEY (hour, department, topic, agent_id, locale)
);

CREATE TABLE report_refusals (
    hour    BIGINT NOT NULL,
    topic   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, topic, reason)
);

-- how far each rollup has read: (at, key) of the last row it added
CREATE TABLE report_marks (
    name TEXT PRIMARY KEY,
    at   DOUBLE PRECISION NOT NULL,
    key  TEXT NOT NULL
);

-- what a request's rating added to the rollups, so a later answer replaces it there too
ALTER TABLE requests ADD COLUMN rolled_rating INTEGER;
ALTER TABLE requests ADD COLUMN rolled_resolved INTEGER;
ALTER TABLE requests ADD COLUMN rolled_nps INTEGER;
-- the player's answer to "how likely are you to recommend us?" (0-10), next to the rating
ALTER TABLE requests ADD COLUMN nps INTEGER CHECK (nps BETWEEN 0 AND 10);

CREATE INDEX chats_ended_id ON chats (ended_at, id);
CREATE INDEX requests_rated ON requests (rated_at, number) WHERE rated_at IS NOT NULL;
