"""Helpers of the templates tests."""

from django.test import TestCase

TEMPLATES = "/api/v1/templates/"


def committed(call, *args, **kwargs):
    """Run a client call and its after-commit callbacks (tasks, pushes, the sandbox's review)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


def create(client, body: dict, **kwargs):
    return committed(client.post, TEMPLATES, body, format=kwargs.pop("format", "json"), **kwargs)


def seasonal_promotion(**fields) -> dict:
    """Meta's create example (reference §4.2), as POST templates/ takes it."""
    body = {
        "name": "seasonal_promotion",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Our {{1}} is on!",
                "example": {"header_text": ["Summer Sale"]},
            },
            {
                "type": "BODY",
                "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
                "example": {"body_text": [["the end of August", "25OFF", "25%"]]},
            },
            {"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Unsubscribe from Promos"},
                    {"type": "QUICK_REPLY", "text": "Unsubscribe from All"},
                ],
            },
        ],
    }
    return {**body, **fields}
