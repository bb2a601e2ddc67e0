"""Fixtures shared by the inbox tests: a Cloud number, an open conversation on it (the fake Graph API agrees the
24-hour window is open), the calls of the status hook, the Cloud numbers of the Meta payload files and media
fetched from the fake. A module defining its own fixture of the same name
uses that one."""

import pytest

from messaging import hooks
from tests.messaging.inbox_support import cloud_number, open_conversation
from tests.messaging.ingest_support import cloud_numbers


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


@pytest.fixture
def numbers(org):
    """The organization's two Cloud numbers the Meta payload files are addressed to."""
    return cloud_numbers(org)


@pytest.fixture
def media_fetches_go_to_the_fake(fake_meta, settings, tmp_path):
    """Inbound media are fetched after commit: from the fake Graph API (never the internet), into a temporary
    storage."""
    settings.MEDIA_ROOT = tmp_path
