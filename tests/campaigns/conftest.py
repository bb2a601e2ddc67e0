import pytest

from tests.campaigns.support import approved_template, campaign_number


@pytest.fixture
def number(org):
    return campaign_number(org)


@pytest.fixture
def template(org, fake_meta, number):
    return approved_template(org, fake_meta)
