-- 0014: quality review: finished requests picked for review (and why), and each review's
-- answers (JSON: criterion -> 0-5), score (0-100), comment, reviewer and time.
CREATE TABLE qa_reviews (
    number      TEXT    PRIMARY KEY REFERENCES requests(number),
    agent_id    INTEGER REFERENCES agents(id),
    reasons     TEXT    NOT NULL,  -- space-separated: low_rating escalated complaint sample
    created_at  REAL    NOT NULL,
    reviewer_id INTEGER REFERENCES agents(id),
    reviewed_at REAL,
    score       REAL,
    answers     TEXT,
    comment     TEXT
);
CREATE INDEX qa_reviews_todo ON qa_reviews (reviewed_at, created_at);
CREATE INDEX qa_reviews_agent ON qa_reviews (agent_id, reviewed_at);
