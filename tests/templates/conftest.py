"""Fixtures of the templates tests: the organization's Cloud number on the fake Graph API's default WABA, a sandbox
number, and calls that run their after-commit work (tasks are eager in tests: a sync runs before the answer)."""

import pytest

from messaging.models import Provider
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.messaging.factories import WhatsAppNumberFactory


@pytest.fixture
def cloud(org, fake_meta):
    """The organization's primary Cloud number: the fake's default phone number and WABA."""
    return WhatsAppNumberFactory(
        organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID, is_primary=True
    )


@pytest.fixture
def sandbox(org):
    return WhatsAppNumberFactory(
        organization=org,
        provider=Provider.SANDBOX,
        phone_number_id="sandbox-line",
        waba_id="",
        access_token="",
        app_secret="",
        verify_token="",
    )
