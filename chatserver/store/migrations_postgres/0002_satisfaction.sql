-- 0002: the player's answer at the end of a chat: resolved or not, a 1-5 rating, a comment.
ALTER TABLE requests ADD COLUMN resolved INTEGER CHECK (resolved IN (0, 1));
ALTER TABLE requests ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE requests ADD COLUMN rating_comment TEXT;
ALTER TABLE requests ADD COLUMN rated_at DOUBLE PRECISION;
