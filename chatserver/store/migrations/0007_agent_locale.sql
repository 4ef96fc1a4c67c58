-- 0007: the language each agent chose for the console (NULL: the browser's).
ALTER TABLE agents ADD COLUMN locale TEXT;
