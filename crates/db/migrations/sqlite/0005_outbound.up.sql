-- Room: outbox (crates/outbox). Webhook subscriptions and the delivery state of every
-- event of `outbox` to every recipient: one row per (event, channel, target), retried
-- with backoff until delivered or marked dead (dead rows are kept for inspection).
-- The subscription secret is stored as given: it signs each delivery, so it cannot be
-- hashed; it is shown once on creation and never again by the API or the pages.
CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    topics TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE outbound_deliveries (
    id INTEGER PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id),
    channel TEXT NOT NULL,
    subscription_id BIGINT REFERENCES webhook_subscriptions(id),
    target TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    dead_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX outbound_deliveries_once ON outbound_deliveries (outbox_id, channel, target);
CREATE INDEX outbound_deliveries_due ON outbound_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbound_deliveries_subscription ON outbound_deliveries (subscription_id);
