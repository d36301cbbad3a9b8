-- PostgreSQL only: nothing to undo on SQLite.
SELECT 1;
