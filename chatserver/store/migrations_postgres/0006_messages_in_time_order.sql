-- 0006: the hub alone enforces a message's idempotency key, as on SQLite (see that
-- migration): the key is still stored with every message, and a restarted hub rebuilds
-- its resend check from it; the store keeps one message per (chat, seq), which also
-- stops two writers from giving out the same seq. One index fewer to write per message.

ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_chat_id_author_client_id_key;
