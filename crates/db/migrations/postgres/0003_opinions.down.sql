DROP TABLE duty_records;
DROP TABLE outbox;
DROP TABLE inbox;
DROP TABLE idempotency_keys;
DROP TABLE opinion_files;
DROP TABLE opinion_events;
DROP TABLE opinions;
DROP TABLE categories;
