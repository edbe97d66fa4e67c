"""The HTTP ingestion API: REST batches, the Segment-compatible tracking API and platform webhooks."""
