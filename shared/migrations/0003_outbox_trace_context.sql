-- The W3C trace context (traceparent, tracestate) of what caused the row, sent as Kafka
-- headers by the relay so one trace runs through every service. NULL: no trace.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS headers jsonb;
