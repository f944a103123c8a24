"""ingest: accepts order reports and touchpoints over HTTP and Kafka."""
