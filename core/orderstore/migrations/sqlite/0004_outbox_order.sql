-- An order's webhook deliveries (GET /v1/orders/{id}/webhook-deliveries)
-- are read by order, delivered or not.
CREATE INDEX IF NOT EXISTS outbox_order ON outbox(order_id, id);
