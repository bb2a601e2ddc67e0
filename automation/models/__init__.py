"""The automation app's tables, one module per area (knowledge bases, bots, flows, outbound webhooks)."""
