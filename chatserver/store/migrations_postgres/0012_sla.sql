-- 0012: a request's resolution target (core.sla): its budget of business seconds, what was
-- spent before the clock last paused, since when it runs (NULL: paused), when it is due if
-- it keeps running, and when it was breached.
ALTER TABLE requests ADD COLUMN sla_budget DOUBLE PRECISION;
ALTER TABLE requests ADD COLUMN sla_spent DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN sla_since DOUBLE PRECISION;
ALTER TABLE requests ADD COLUMN sla_due DOUBLE PRECISION;
ALTER TABLE requests ADD COLUMN sla_breached_at DOUBLE PRECISION;
CREATE INDEX requests_sla_due ON requests (sla_due);
