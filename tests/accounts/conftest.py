import pytest

from tests.factories import UserFactory


@pytest.fixture
def staff_browser(client, db):
    """A browser signed in to the Django admin as a platform superuser (root@platform.example)."""
    superuser = UserFactory(is_staff=True, is_superuser=True, email="root@platform.example")
    client.force_login(superuser)
    return client
