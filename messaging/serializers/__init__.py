"""API shapes of messaging, one module per area."""
