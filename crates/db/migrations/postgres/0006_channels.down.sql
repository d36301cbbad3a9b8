DROP INDEX opinions_channel_ref;
DROP TABLE channels;
