-- 0012: a request's resolution target (core.sla): its budget of business seconds, what was
-- spent before the clock last paused, since when it runs (NULL: paused), when it is due if
-- it keeps running, and when it was breached.
ALTER TABLE requests ADD COLUMN sla_budget REAL;
ALTER TABLE requests ADD COLUMN sla_spent REAL NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN sla_since REAL;
ALTER TABLE requests ADD COLUMN sla_due REAL;
ALTER TABLE requests ADD COLUMN sla_breached_at REAL;
CREATE INDEX requests_sla_due ON requests (sla_due);
