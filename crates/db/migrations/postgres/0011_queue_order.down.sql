DROP INDEX opinions_queue_closed;
DROP INDEX opinions_queue_open;
DROP INDEX opinions_queue_due;
