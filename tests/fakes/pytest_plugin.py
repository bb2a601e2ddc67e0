"""Fixtures that start the fake external servers (Meta Graph API, WAHA) on 127.0.0.1."""
