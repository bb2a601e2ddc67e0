"""Fixtures shared by the inbox tests: a Cloud number, an open conversation on it (the fake Graph API agrees the
24-hour window is open) and the calls of the status hook. A module defining its own fixture of the same name
uses that one."""

import pytest

from messaging import hooks
from tests.messaging.inbox_support import cloud_number, open_conversation


@pytest.fixture
def number(org):
    return cloud_number(org)


@pytest.fixture
def conversation(org, number, fake_meta):
    conversation = open_conversation(org, number=number)
    fake_meta.open_window(conversation.contact.wa_id, phone_number_id=number.phone_number_id)
    return conversation


@pytest.fixture
def changes():
    """Every message_status_changed call: its `changes`."""
    calls: list[list] = []

    def record(organization_id, changes):
        calls.append(changes)

    hooks.message_status_changed.connect(record)
    yield calls
    hooks.message_status_changed.disconnect(record)
