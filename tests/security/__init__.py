"""The security suite: SSRF (egress), fail-closed webhooks, broker outages, crash dead letters, the settings schema
and erasure. Each module pins one edge where the hub meets something it does not control."""
