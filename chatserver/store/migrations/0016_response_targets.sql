-- 0016: the next-response target (core.sla): after the player writes on a request, when the
-- team's answer is due (NULL: nothing owed), and when that was missed.
ALTER TABLE requests ADD COLUMN reply_due REAL;
ALTER TABLE requests ADD COLUMN reply_breached_at REAL;
CREATE INDEX requests_reply_due ON requests (reply_due);

-- a file the player added to their request after its chats (kept on its last chat)
ALTER TABLE request_messages ADD COLUMN file_id TEXT;

-- a signed-in member's own requests ("My requests" in the widget)
CREATE INDEX chats_member ON chats (member_id, created_at);
