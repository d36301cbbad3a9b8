DROP INDEX inbox_user;
ALTER TABLE opinion_files DROP COLUMN file_name;
ALTER TABLE opinion_files DROP COLUMN kind;
DROP TABLE digest_sends;
