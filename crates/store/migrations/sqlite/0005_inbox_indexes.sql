-- Inbox pages pick their 50 ids from a covering index before joining anything; the urgent
-- count reads the index alone; a conversation's newest message is one index probe.
DROP INDEX conversations_waiting;
CREATE INDEX conversations_waiting ON conversations (status, waiting_since, last_message_at, id);
CREATE INDEX conversations_urgent ON conversations (urgent, status);
DROP INDEX messages_conversation_created;
CREATE INDEX messages_conversation_created ON messages (conversation_id, created_at, id);
