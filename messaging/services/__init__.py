"""Every write path of messaging, one module per area (numbers, contacts, conversations, ingest, media)."""
