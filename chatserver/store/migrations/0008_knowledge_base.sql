-- 0008: the knowledge base (articles, what players did with suggestions, searches that found
-- nothing good), and two capabilities an account may have: editing the knowledge base, and
-- being a bot that takes chats first (see docs/protocol.md, "Bots").

CREATE TABLE kb_articles (
    id         TEXT    PRIMARY KEY,
    locale     TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    topic      TEXT,
    tags       TEXT    NOT NULL DEFAULT '[]',  -- JSON list
    published  INTEGER NOT NULL DEFAULT 1,
    updated_at REAL    NOT NULL,
    updated_by TEXT,
    helpful    INTEGER NOT NULL DEFAULT 0,
    unhelpful  INTEGER NOT NULL DEFAULT 0
);

-- one row per player who was shown suggestions: served by an article, or went on to an agent
CREATE TABLE kb_outcomes (
    id         INTEGER PRIMARY KEY,
    at         REAL    NOT NULL,
    topic      TEXT,
    locale     TEXT    NOT NULL,
    article_id TEXT,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('self_served', 'needed_agent'))
);
CREATE INDEX kb_outcomes_at ON kb_outcomes (at);

-- searches with no good answer, folded and cut short, so editors know what to write
CREATE TABLE kb_misses (
    id     INTEGER PRIMARY KEY,
    at     REAL    NOT NULL,
    locale TEXT    NOT NULL,
    query  TEXT    NOT NULL
);
CREATE INDEX kb_misses_at ON kb_misses (at);

ALTER TABLE agents ADD COLUMN kb_editor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
