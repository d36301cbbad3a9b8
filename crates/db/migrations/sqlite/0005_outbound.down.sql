DROP TABLE outbound_deliveries;
DROP TABLE webhook_subscriptions;
