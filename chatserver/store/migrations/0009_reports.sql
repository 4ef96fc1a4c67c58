-- 0009: rollups for reports over time. The hub adds each ended chat, each rating (a later one
-- replaces it) and each refusal once, moving a watermark in the same transaction:
-- report_hours per hour (UTC start, with its local day and hour in the server's time zone)
-- and department, topic and language; report_agents per local day and agent.

CREATE TABLE report_hours (
    hour        INTEGER NOT NULL,
    day         TEXT    NOT NULL,  -- YYYY-MM-DD in the server's time zone
    hod         INTEGER NOT NULL,  -- local hour of the day, 0-23
    department  TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    locale      TEXT    NOT NULL,
    chats       INTEGER NOT NULL DEFAULT 0,  -- ended chats, left messages included
    offline     INTEGER NOT NULL DEFAULT 0,  -- messages left while nobody could chat
    answered    INTEGER NOT NULL DEFAULT 0,  -- chats an agent took
    abandoned   INTEGER NOT NULL DEFAULT 0,  -- players who left the queue
    wait_sum    REAL    NOT NULL DEFAULT 0,  -- queue waits of answered chats (seconds)
    w0 INTEGER NOT NULL DEFAULT 0, w1 INTEGER NOT NULL DEFAULT 0, w2 INTEGER NOT NULL DEFAULT 0,
    w3 INTEGER NOT NULL DEFAULT 0, w4 INTEGER NOT NULL DEFAULT 0, w5 INTEGER NOT NULL DEFAULT 0,
    w6 INTEGER NOT NULL DEFAULT 0, w7 INTEGER NOT NULL DEFAULT 0,  -- waits per bucket
    frt_sum     REAL    NOT NULL DEFAULT 0,  -- first responses (seconds) ...
    frt_n       INTEGER NOT NULL DEFAULT 0,  -- ... of this many chats
    handle_sum  REAL    NOT NULL DEFAULT 0,  -- assigned until ended (seconds)
    resolved    INTEGER NOT NULL DEFAULT 0,  -- ended by the agent as resolved
    rated       INTEGER NOT NULL DEFAULT 0,  -- players' ratings (1-5) ...
    rating_sum  INTEGER NOT NULL DEFAULT 0,
    satisfied   INTEGER NOT NULL DEFAULT 0,  -- ... of 4 or 5
    said_resolved INTEGER NOT NULL DEFAULT 0,  -- players who said the issue was resolved
    nps_n       INTEGER NOT NULL DEFAULT 0,  -- "would you recommend us" answers (0-10) ...
    promoters   INTEGER NOT NULL DEFAULT 0,  -- ... of 9 or 10
    detractors  INTEGER NOT NULL DEFAULT 0,  -- ... of 0 to 6
    res_sum     REAL    NOT NULL DEFAULT 0,  -- request created until first resolved (seconds) ...
    res_n       INTEGER NOT NULL DEFAULT 0,  -- ... of this many requests
    PRIMARY KEY (hour, department, topic, locale)
);
CREATE INDEX report_hours_day ON report_hours (day);

CREATE TABLE report_agents (
    day         TEXT    NOT NULL,
    agent_id    INTEGER NOT NULL,
    chats       INTEGER NOT NULL DEFAULT 0,
    offline     INTEGER NOT NULL DEFAULT 0,
    answered    INTEGER NOT NULL DEFAULT 0,
    abandoned   INTEGER NOT NULL DEFAULT 0,
    wait_sum    REAL    NOT NULL DEFAULT 0,
    w0 INTEGER NOT NULL DEFAULT 0, w1 INTEGER NOT NULL DEFAULT 0, w2 INTEGER NOT NULL DEFAULT 0,
    w3 INTEGER NOT NULL DEFAULT 0, w4 INTEGER NOT NULL DEFAULT 0, w5 INTEGER NOT NULL DEFAULT 0,
    w6 INTEGER NOT NULL DEFAULT 0, w7 INTEGER NOT NULL DEFAULT 0,
    frt_sum     REAL    NOT NULL DEFAULT 0,
    frt_n       INTEGER NOT NULL DEFAULT 0,
    handle_sum  REAL    NOT NULL DEFAULT 0,
    resolved    INTEGER NOT NULL DEFAULT 0,
    rated       INTEGER NOT NULL DEFAULT 0,
    rating_sum  INTEGER NOT NULL DEFAULT 0,
    satisfied   INTEGER NOT NULL DEFAULT 0,
    said_resolved INTEGER NOT NULL DEFAULT 0,
    nps_n       INTEGER NOT NULL DEFAULT 0,
    promoters   INTEGER NOT NULL DEFAULT 0,
    detractors  INTEGER NOT NULL DEFAULT 0,
    res_sum     REAL    NOT NULL DEFAULT 0,
    res_n       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agent_id)
);
CREATE INDEX report_agents_agent ON report_agents (agent_id, day);

CREATE TABLE report_refusals (
    day     TEXT    NOT NULL,
    topic   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, topic, reason)
);

-- how far each rollup has read: (at, key) of the last row it added
CREATE TABLE report_marks (
    name TEXT PRIMARY KEY,
    at   REAL NOT NULL,
    key  TEXT NOT NULL
);

-- what a request's answers added to the rollups, so a later answer replaces them there too
ALTER TABLE requests ADD COLUMN rolled_rating INTEGER;
ALTER TABLE requests ADD COLUMN rolled_resolved INTEGER;
ALTER TABLE requests ADD COLUMN rolled_nps INTEGER;
-- the player's answer to "how likely are you to recommend us?" (0-10), next to the rating
ALTER TABLE requests ADD COLUMN nps INTEGER CHECK (nps BETWEEN 0 AND 10);

CREATE INDEX chats_ended_id ON chats (ended_at, id);
CREATE INDEX requests_rated ON requests (rated_at, number);
