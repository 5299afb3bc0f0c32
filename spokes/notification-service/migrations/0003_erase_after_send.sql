-- Account emails carry a one-time link: their bodies are erased once the notification is final (sent,
-- failed or interrupted), so the spoke never keeps the secret after the provider call.
ALTER TABLE notifications ADD COLUMN erase_after_send boolean NOT NULL DEFAULT false;
