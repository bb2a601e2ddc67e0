"""Read paths of messaging, one module per area."""
