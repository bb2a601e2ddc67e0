"""Browser tests: Playwright (pytest-playwright's fixtures) driving Debian's Chromium (`/usr/bin/chromium`, or
$CHROMIUM) against the app served by daphne in a process of its own, on the test database.

Every test here is marked `e2e` (`pytest -m e2e` runs them alone) and runs with `transactional_db`: rows the test
creates are committed, so the server sees them. Fixtures:

- `page` (pytest-playwright): a fresh browser context per test, 1366x768, en-US, UTC, whose `base_url` is the live
  server (`page.goto("/admin/login/")`); `@pytest.mark.browser_context_args(...)` changes its options, and
  `new_context(**options)` makes more contexts (a second person). `arabic_page`: a page in a context of its own
  whose locale is Arabic (`Accept-Language: ar`).
- `daphne_server`: the live server (`.url`, `.port`); its log is added to the report of a test that fails.
- `login_session(page, user)`: the page's context signed in as `user` (a session made directly, no form).
- `read_outbox()`: the e-mails the server sent during this test (`email.message.EmailMessage`, oldest first).
- `screenshot(page, name)`: a PNG, into docs/screenshots/ with SAVE_SCREENSHOTS=1 (`make screenshots`).
- `demo_org`: `make run`'s demo organization (tests/browser/harness.py, `DemoOrg`).
- `fake_meta`, `fake_waha`: the fakes the server is pointed at (the only entries of its egress allow-list, with
  `webhook_receiver`, where outbound webhooks may be posted), shared by the tests of this package and reset after
  each.

Code that publishes to the channel layer cannot run in the test's thread while Playwright runs: call it through
`harness.run_outside_browser_loop`.
"""

import os
import time
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from types import NoneType

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Playwright, sync_playwright

from accounts.models import User
from tests.browser.harness import DaphneServer, DemoOrg, demo_org_create, outbox_messages, run_outside_browser_loop
from tests.fakes.meta import FakeMetaServer
from tests.fakes.pytest_plugin import allow_egress
from tests.fakes.server import FakeServer, WebhookReceiver
from tests.fakes.waha import FakeWahaServer
from whatsapp_hub.env import env, env_bool

BROWSER_TESTS = Path(__file__).resolve().parent
SCREENSHOTS = BROWSER_TESTS.parents[1] / "docs" / "screenshots"
CHROMIUM = env("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_PACKAGES = "chromium fonts-noto-color-emoji fonts-noto-core"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=en-US",  # the default locale of every context, whatever the machine's
    # Every host name but the live server's address fails at once: a page that loads something from the internet
    # (a CDN) fails the same way on every machine, and no test ever reaches out.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1366, "height": 768}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.e2e)


_SERVER_LOG = pytest.StashKey[tuple[DaphneServer, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[pytest.TestReport]:
    report = yield
    if report.failed and _SERVER_LOG in item.stash:
        server, start = item.stash[_SERVER_LOG]
        report.sections.append((f"daphne server log ({report.when})", server.log_since(start)))
    return report


# --- the browser ------------------------------------------------------------------------------------------------
# pytest-playwright's own `playwright` fixture lives as long as the session: these replace it and the fixtures built
# on it by ones that end with this package. Between Playwright's calls its event loop counts as running in this
# thread, where Django's ORM then works only with DJANGO_ALLOW_ASYNC_UNSAFE set and async_to_sync not at all; the
# tests after this package run without either.


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            yield playwright


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright) -> BrowserType:
    return playwright.chromium


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium (never `playwright install`), headless unless --headed."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def browser(browser_type: BrowserType, browser_type_launch_args: dict) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install --no-install-recommends {CHROMIUM_PACKAGES}")
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(daphne_server: DaphneServer) -> dict:
    return {"base_url": daphne_server.url, "viewport": VIEWPORT, "timezone_id": "UTC"}


@pytest.fixture
def arabic_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a browser context of its own whose locale is Arabic (`Accept-Language: ar`, `navigator.language`)."""
    return new_context(locale="ar").new_page()


# --- the live server ----------------------------------------------------------------------------------------------


class _ServerFakes:
    """The fake Graph API and WAHA the live server is pointed at, and a receiver of outbound webhooks it may post to,
    shared by the tests of this package."""

    def __init__(self) -> None:
        self.meta = FakeMetaServer().start()
        self.waha = FakeWahaServer().start()
        self.receiver = WebhookReceiver().start()
        self.all = (self.meta, self.waha, self.receiver)
        self._settings = {fake: self._settings_of(fake) for fake in self.all}

    @staticmethod
    def _settings_of(fake: FakeServer) -> dict:
        """The fake's settings as it started: its public attributes of immutable value (URLs, secrets, switches)."""
        immutable = str | int | float | tuple | NoneType
        return {
            name: value
            for name, value in vars(fake).items()
            if not name.startswith("_") and isinstance(value, immutable)
        }

    def reset(self) -> None:
        """Forget what the last test did: requests, state, and the settings it changed."""
        for fake, settings_as_started in self._settings.items():
            fake.reset()
            for name, value in settings_as_started.items():
                setattr(fake, name, value)

    def stop(self) -> None:
        for fake in self.all:
            fake.stop()


@pytest.fixture(scope="package")
def _fakes() -> Iterator[_ServerFakes]:
    fakes = _ServerFakes()
    yield fakes
    fakes.stop()


@pytest.fixture(scope="package")
def _outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="package")
def daphne_server(
    django_db_setup, tmp_path_factory: pytest.TempPathFactory, _fakes: _ServerFakes, _outbox: Path
) -> Iterator[DaphneServer]:
    """`whatsapp_hub.asgi:application` served by daphne (HTTP and websockets) on 127.0.0.1, on the test database,
    with tests/browser/server_settings.py: e-mails into `read_outbox`, Celery tasks inline, the fakes as Meta and
    WAHA. The channel layer is Redis when REDIS_URL is set (the test process reaches it too), else in its memory."""
    meta, waha = _fakes.meta, _fakes.waha
    server = DaphneServer(tmp_path_factory.mktemp("daphne") / "server.log")
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment.update(
        DJANGO_SETTINGS_MODULE="tests.browser.server_settings",
        BROWSER_TEST_DATABASE=str(connection.settings_dict["NAME"]),
        BROWSER_TEST_EMAIL_DIR=str(_outbox),
        MEDIA_ROOT=str(tmp_path_factory.getbasetemp() / "media"),  # the test process's (tests/conftest.py)
        PUBLIC_BASE_URL=server.url,  # links in e-mails lead to this server
        WHATSAPP_GRAPH_URL=meta.base_url,
        WHATSAPP_APP_ID=meta.app_id,
        WAHA_URL=waha.base_url,
        EGRESS_ALLOWED_HOSTS=",".join(f"{fake.host}:{fake.port}" for fake in _fakes.all),
        PYTHONUNBUFFERED="1",
    )
    server.start(env=environment)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _browser_test(
    request: pytest.FixtureRequest, transactional_db, daphne_server: DaphneServer, _fakes: _ServerFakes
) -> Iterator[None]:
    request.node.stash[_SERVER_LOG] = (daphne_server, daphne_server.log_size())
    yield
    _fakes.reset()
    _until_the_server_is_quiet()


def _until_the_server_is_quiet(*, timeout: float = 15, quiet_for: float = 0.25) -> None:
    """Wait (after the test's pages closed) until the server's connections to the test database have been idle for
    `quiet_for` seconds: the flush that follows truncates every table, and a request or a socket's disconnect still
    writing in the server would deadlock with it ("couldn't be flushed")."""
    if connection.vendor != "postgresql":
        return
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            busy = cursor.fetchone()[0]
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_for:
            return
        time.sleep(0.02)


@pytest.fixture
def fake_meta(settings, _fakes: _ServerFakes) -> FakeMetaServer:
    """The fake Graph API the live server (and this process) sends to; reset after the test."""
    settings.WHATSAPP_GRAPH_URL = _fakes.meta.base_url
    settings.WHATSAPP_APP_ID = _fakes.meta.app_id
    return _fakes.meta


@pytest.fixture
def fake_waha(settings, _fakes: _ServerFakes) -> FakeWahaServer:
    """The fake WAHA the live server (and this process) talks to; reset after the test."""
    settings.WAHA_URL = _fakes.waha.base_url
    allow_egress(settings, _fakes.waha)
    return _fakes.waha


@pytest.fixture
def webhook_receiver(settings, _fakes: _ServerFakes) -> WebhookReceiver:
    """A receiver of outbound webhooks the live server (and this process) may post to; reset after the test."""
    allow_egress(settings, _fakes.receiver)
    return _fakes.receiver


# --- helpers ----------------------------------------------------------------------------------------------------


@pytest.fixture
def read_outbox(_outbox: Path) -> Callable[[], list]:
    """read_outbox(): the e-mails the live server sent since this test began, oldest first."""
    for path in _outbox.iterdir():
        path.unlink()
    return lambda: outbox_messages(_outbox)


@pytest.fixture
def login_session(daphne_server: DaphneServer) -> Callable[[Page, User], str]:
    """login_session(page, user): sign `user` in for the page's browser context as django.contrib.auth.login would
    (a session saved in the database, its cookie in the context), without a sign-in form. Returns the session key."""

    def login(page: Page, user: User) -> str:
        session = import_module(django_settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookie = {"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": daphne_server.url}
        page.context.add_cookies([{**cookie, "httpOnly": True, "sameSite": "Lax"}])
        return session.session_key

    return login


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[..., Path]:
    """screenshot(page, name, *, full_page=False): the page as docs/screenshots/<name>.png when SAVE_SCREENSHOTS=1
    (`make screenshots`), else as <name>.png in the test's tmp_path. Animations stopped, caret hidden. Returns the
    path."""
    directory = SCREENSHOTS if env_bool("SAVE_SCREENSHOTS", False) else tmp_path

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        path = directory / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
        return path

    return take


@pytest.fixture
def demo_org() -> DemoOrg:
    """`make run`'s demo organization (seed_demo) with one conversation that went on; see harness.DemoOrg."""
    return run_outside_browser_loop(demo_org_create)
