DROP TABLE audit_log;
DROP TABLE audit_chains;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE committees;
