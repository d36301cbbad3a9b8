ALTER TABLE opinions DROP COLUMN held_deadline_at;
