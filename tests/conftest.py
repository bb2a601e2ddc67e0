import logging

import pytest
from celery.signals import task_prerun
from django.core.cache import cache
from django.utils import timezone

from messaging.selectors import ingest as ingest_selectors
from whatsapp_hub.celery import app as celery_app

pytest_plugins = ["tests.fakes.pytest_plugin"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path_factory):
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")  # uploads never land in the repository
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture
def embedded_default(settings):
    """The settings of `make run` (DEBUG on, no DATABASE_URL), which pytest-django and CI's variables replace."""
    settings.DEBUG = True
    settings.DATABASE_URL = None
    return settings


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    ingest_selectors._kept_secrets.clear()  # webhook secrets kept by this process
    yield
    cache.clear()
    ingest_selectors._kept_secrets.clear()


@pytest.fixture
def task_runs():
    """Every Celery task run during the test (eagerly, in tests), in order: (task name, args, kwargs)."""
    runs: list[tuple[str, tuple, dict]] = []

    def record(sender=None, args=None, kwargs=None, **_):
        runs.append((sender.name, tuple(args or ()), dict(kwargs or {})))

    task_prerun.connect(record, weak=False)
    yield runs
    task_prerun.disconnect(record)


@pytest.fixture
def frozen(time_machine):
    """Time stands still at now; `frozen.shift(timedelta)` moves it (sweepers' graces, retention)."""
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _after_commit_failures_fail_the_test(request):
    """After-commit work never raises (whatsapp_hub.aftercommit logs it): in a test such a failure is a bug that
    would pass unseen, unless the test is marked `after_commit_failures` (it makes the broker fail on purpose)."""
    handler = _Records()
    logger = logging.getLogger("whatsapp_hub.aftercommit")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    if handler.records and not request.node.get_closest_marker("after_commit_failures"):
        failure = handler.records[0]
        pytest.fail(f"after-commit work failed: {failure.getMessage()}\n{failure.exc_text or ''}")


# --- people and organizations ---------------------------------------------------------------------
# Two organizations: an admin, an agent and a marketer in `org`; an outsider (admin) in `other_org`.

from django.test import Client  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import Role, UserSession  # noqa: E402
from accounts.selectors import SESSION_ORGANIZATION_KEY  # noqa: E402
from accounts.services import _issue_tokens  # noqa: E402
from accounts.sessions import BROWSER_SESSION_KEY  # noqa: E402
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory  # noqa: E402


def signed_in(membership) -> Client:
    """A browser (Django's test client) signed in with a session acting in this membership's organization."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    # As a sign-in records it (accounts.sessions.browser_session_open), so pages see a recorded browser session.
    session[BROWSER_SESSION_KEY] = UserSession.objects.create(
        user=membership.user, kind=UserSession.Kind.BROWSER, expires_at=session.get_expiry_date()
    ).pk
    session.save()
    return client


def client_for(membership=None, *, user=None) -> APIClient:
    """An API client authenticated with a real access token for this membership (or a staff user)."""
    user = membership.user if membership else user
    access, _ = _issue_tokens(user=user, membership=membership)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex")


@pytest.fixture
def admin_membership(org):
    return MembershipFactory(organization=org, role=Role.ADMIN)


@pytest.fixture
def agent_membership(org):
    return MembershipFactory(organization=org, role=Role.AGENT)


@pytest.fixture
def marketing_membership(org):
    return MembershipFactory(organization=org, role=Role.MARKETING)


@pytest.fixture
def outsider_membership(other_org):
    return MembershipFactory(organization=other_org, role=Role.ADMIN)


@pytest.fixture
def admin_client(admin_membership):
    return client_for(admin_membership)


@pytest.fixture
def agent_client(agent_membership):
    return client_for(agent_membership)


@pytest.fixture
def marketing_client(marketing_membership):
    return client_for(marketing_membership)


@pytest.fixture
def outsider_client(outsider_membership):
    return client_for(outsider_membership)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_browser(client, db):
    """A browser signed in to the Django admin as a platform superuser (root@platform.example)."""
    superuser = UserFactory(is_staff=True, is_superuser=True, email="root@platform.example")
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def _celery_joins_allowed():
    """Celery's "result.get() would block" flag, as in a process that runs no worker. It is one global of the process
    (celery._state), which every eager `apply_async` sets and restores around the task: two threads running eager
    tasks at once (a live server's and the test's, or the campaign sender's pool) restore each other's value and can
    leave it set, and a later test calling `.delay().get()` then fails with "Never call result.get() within a task"."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
