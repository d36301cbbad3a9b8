-- Room: opinions. What the daily digest of due items needs, what reply attachments need,
-- and the inbox look-up by user.
--
-- digest_sends: one row per person (user:ID, deputy:ID or unit:ID) and Beijing day
-- (YYYY-MM-DD). The row is claimed in the same transaction that queues the digest, so
-- several app instances (or a cron run beside `yidu serve`) send it at most once a day.
CREATE TABLE digest_sends (
    person TEXT NOT NULL,
    day TEXT NOT NULL,
    items BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (person, day)
);

-- opinion_files holds citizens' photos (kind 'photo') and the attachments of a handler's
-- reply (kind 'reply', event_id = the reply's timeline event). Citizens may download
-- reply attachments with their tracking number and query code, never the photos of others.
ALTER TABLE opinion_files ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo';
ALTER TABLE opinion_files ADD COLUMN file_name TEXT NOT NULL DEFAULT '';

-- Personal notices (the daily digest) are addressed to one user.
CREATE INDEX inbox_user ON inbox (user_id, read_at);
