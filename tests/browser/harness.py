"""The pieces of the browser tests that are not fixtures: the live server process, the outbox it writes, the demo
organization, and a way around the event loop Playwright leaves running in the test's thread."""

import email
import email.policy
import http.client
import io
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

from django.core.management import call_command
from django.db import connections

from accounts.models import Membership, Organization, Role
from messaging.models import Contact, Conversation, WhatsAppNumber
from messaging.services.conversations import message_send
from messaging.services.sandbox import sandbox_inbound_simulate
from whatsapp_hub.management.commands.seed_demo import DEMO_PEOPLE, SANDBOX_PHONE_NUMBER_ID


class DaphneServer:
    """The app's ASGI application (`whatsapp_hub.asgi:application`: HTTP and websockets) served by daphne in a
    process of its own, on 127.0.0.1.

    The listening socket is opened here and handed to daphne (`--fd`), so the address is known before the process
    starts (its settings can name it) and no other process can take the port meanwhile.
    """

    def __init__(self, log_path: Path) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process: subprocess.Popen | None = None

    def start(self, *, env: dict[str, str], timeout: float = 30) -> None:
        """Start daphne with this environment and return once it answers HTTP (at most `timeout` seconds)."""
        fd = self._socket.fileno()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "--fd", str(fd), "whatsapp_hub.asgi:application"],
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        # Daphne holds the socket now: once it exits, connections are refused instead of waiting in the backlog.
        self._socket.close()
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self._process.returncode}:\n{self.log_since(0)}")
            # Connections wait in the backlog until daphne accepts them: an answer means it serves.
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                connection.request("HEAD", "/")
                connection.getresponse()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"daphne did not answer within {timeout} s:\n{self.log_since(0)}") from None
                time.sleep(0.05)
            finally:
                connection.close()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged (access log, errors, tracebacks) from byte `offset` of its log on."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


_MESSAGE_END = b"\n" + b"-" * 79 + b"\n"  # what Django's file-based e-mail backend writes after each message


def outbox_messages(directory: Path) -> list[EmailMessage]:
    """The e-mails Django's file-based backend wrote into `directory` (one file per connection), oldest first."""
    messages = []
    for path in sorted(directory.iterdir(), key=lambda path: (path.stat().st_mtime_ns, path.name)):
        for raw in path.read_bytes().split(_MESSAGE_END):
            if raw:
                messages.append(email.message_from_bytes(raw, policy=email.policy.default))
    return messages


T = TypeVar("T")


def run_outside_browser_loop(function: Callable[..., T], /, *args, **kwargs) -> T:
    """Call `function` in a thread of its own and return what it returns (or raise what it raises).

    Between its calls, Playwright's sync API leaves its event loop marked as running in the test's thread:
    Django's ORM works there only because the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, and `async_to_sync`
    refuses to run at all, so code that publishes to the channel layer (services, ingest) fails there. Committed
    rows are what the live server sees anyway: the thread's database connection is closed when it is done.
    """

    def call() -> T:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(call).result()


DEMO_PASSWORDS = {role: password for _, _, role, password in DEMO_PEOPLE}


@dataclass(frozen=True)
class DemoOrg:
    """`make run`'s demo organization (seed_demo): its people, its sandbox number, three customers who wrote once,
    and one conversation that went on."""

    organization: Organization
    admin: Membership
    admin_password: str
    agent: Membership
    agent_password: str
    number: WhatsAppNumber
    contact: Contact  # Layla, who writes in Arabic
    conversation: Conversation  # Layla's: her question, the agent's reply (read), her thanks


def demo_org_create() -> DemoOrg:
    """Seed the demo through its management command, then continue Layla's conversation through the services: the
    agent answers on the sandbox number (sent, delivered and read play back), and she thanks him."""
    call_command("seed_demo", "--force", stdout=io.StringIO())
    organization = Organization.objects.get(slug="demo-store")
    memberships = Membership.objects.for_org(organization).select_related("user")
    admin, agent = memberships.get(role=Role.ADMIN), memberships.get(role=Role.AGENT)
    number = WhatsAppNumber.objects.for_org(organization).get(phone_number_id=SANDBOX_PHONE_NUMBER_ID)
    conversation = (
        Conversation.objects.for_org(organization).select_related("contact").get(contact__wa_id="966501234567")
    )
    message_send(conversation=conversation, sent_by=agent.user, content={"type": "text", "text": "نعم، يُشحن اليوم 📦"})
    sandbox_inbound_simulate(
        organization=organization,
        number_id=number.pk,
        phone=conversation.contact.phone,
        part={"type": "text", "text": {"body": "شكراً جزيلاً 🙏"}},
    )
    conversation.refresh_from_db()
    return DemoOrg(
        organization=organization,
        admin=admin,
        admin_password=DEMO_PASSWORDS[Role.ADMIN],
        agent=agent,
        agent_password=DEMO_PASSWORDS[Role.AGENT],
        number=number,
        contact=conversation.contact,
        conversation=conversation,
    )
