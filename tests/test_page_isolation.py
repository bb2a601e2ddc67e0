"""The isolation walker of the web app's pages: every page route that names a row, two organizations, no leaks.

Each URL argument a page route takes must be known below (how to make a row of an organization for it); a route
with an unknown argument fails the test, so a new page cannot skip the check. An admin of one organization asking
for another organization's row gets a 404 (or a 405 for a method the route does not serve) and nothing changes;
an agent asking, within their own organization, for a conversation or number hidden from them gets the same.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Plan, Role, Team, TrustedDevice, UserSession
from automation.models import Bot
from automation.services import bots as bot_services
from campaigns.models import Campaign
from tests.accounts.custom_pages_support import markdown_page
from tests.automation.flows_support import simple_flow
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.conftest import signed_in
from tests.crm import ads_support as ad_support
from tests.crm import routing_support
from tests.crm import support as crm_support
from tests.factories import MembershipFactory
from tests.isolation import snapshot
from tests.messaging.embeds_support import embed
from tests.messaging.factories import (
    CannedResponseFactory,
    ContactFactory,
    ConversationFactory,
    WhatsAppFlowFactory,
    WhatsAppNumberFactory,
)
from tests.templates.factories import MessageTemplateFactory

# embed/: the inbox embeds, authorized by the signed token in their URL (no session, no organization of the caller):
# their scope, revocation and expiry are proved in tests/messaging/test_embeds.py.
MACHINE_PREFIXES = ("api/", "admin/", "webhooks/", "embed/")


@dataclass(frozen=True)
class RowMaker:
    make: Callable  # (organization) -> a row owned by it
    value: Callable = lambda row: row.pk  # the URL argument naming the row
    hidden_by_number: bool = False  # the row belongs to a WhatsApp number a member may not see


def _hidden_number(org):
    return WhatsAppNumberFactory(organization=org, assigned_user=MembershipFactory(organization=org).user)


ROWS = {
    # The platform pages (staff only): an organization's admin gets the not-found page for any organization or plan.
    "organization_id": RowMaker(lambda org: org),
    "code": RowMaker(
        lambda org: Plan.objects.create(code=f"plan-{org.pk}", name=f"Plan {org.pk}"), lambda row: row.code
    ),
    "user_id": RowMaker(lambda org: MembershipFactory(organization=org, role=Role.AGENT), lambda row: row.user_id),
    "invitation_id": RowMaker(
        lambda org: account_services.invitation_create(
            organization=org, email=f"invitee{org.pk}@example.com", role=Role.AGENT, invited_by=None
        )
    ),
    "team_id": RowMaker(lambda org: Team.objects.create(organization=org, name=f"Team {org.pk}")),
    "key_id": RowMaker(
        lambda org: account_services.api_key_create(organization=org, name="key", role=Role.AGENT, actor=None)[0]
    ),
    # A person's own session: another person's (of another organization) is a 404 to the signed-in admin.
    "session_id": RowMaker(
        lambda org: UserSession.objects.create(
            user=MembershipFactory(organization=org).user,
            kind=UserSession.Kind.API,
            expires_at=timezone.now() + timedelta(days=7),
        )
    ),
    # A person's own trusted browser: another person's (of another organization) is a 404 to the signed-in admin.
    "device_id": RowMaker(
        lambda org: TrustedDevice.objects.create(
            user=MembershipFactory(organization=org).user,
            token_hash=secrets.token_hex(32),
            expires_at=timezone.now() + timedelta(days=30),
        )
    ),
    "contact_id": RowMaker(lambda org: ContactFactory(organization=org)),
    "canned_id": RowMaker(lambda org: CannedResponseFactory(organization=org)),
    "whatsapp_flow_id": RowMaker(lambda org: WhatsAppFlowFactory(organization=org)),
    "page_id": RowMaker(markdown_page),
    "embed_id": RowMaker(embed),
    "conversation_id": RowMaker(
        lambda org: ConversationFactory(organization=org, number=_hidden_number(org)), hidden_by_number=True
    ),
    "number_id": RowMaker(_hidden_number, hidden_by_number=True),
    "template_id": RowMaker(lambda org: MessageTemplateFactory(organization=org)),
    "webhook_id": RowMaker(lambda org: WebhookEndpointFactory(organization=org)),
    "delivery_id": RowMaker(lambda org: WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org))),
    "flow_id": RowMaker(simple_flow),
    "bot_id": RowMaker(
        lambda org: bot_services.bot_create(organization=org, actor=None, name=f"Bot {Bot.objects.count()}")
    ),
    "kb_id": RowMaker(knowledge_base),
    "doc_id": RowMaker(lambda org: processed_document(knowledge_base(org), "page.txt", b"A passage.")),
    "pipeline_id": RowMaker(lambda org: crm_support.stage(org).pipeline),
    "deal_id": RowMaker(crm_support.deal),
    "business_id": RowMaker(crm_support.business),
    "ad_id": RowMaker(ad_support.ad),
    "rule_id": RowMaker(routing_support.number_rule),
    "campaign_id": RowMaker(
        lambda org: Campaign.objects.create(
            organization=org, number=_hidden_number(org), name="Spring", template_name="promo", language="en_US"
        ),
        hidden_by_number=True,
    ),
}


def page_routes() -> list[tuple[str, tuple[str, ...]]]:
    """(name, URL arguments) of every named page route that takes arguments."""
    routes = []

    def walk(patterns, prefix: str):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif (
                isinstance(entry, URLPattern)
                and entry.name
                and entry.pattern.regex.groupindex
                and not (prefix + str(entry.pattern)).startswith(MACHINE_PREFIXES)
            ):
                routes.append((entry.name, tuple(entry.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns, "")
    return routes


ROUTES = page_routes()


def test_every_page_argument_is_known():
    unknown = sorted({(name, kwarg) for name, kwargs in ROUTES for kwarg in kwargs if kwarg not in ROWS})
    assert unknown == [], "add a RowMaker for these URL arguments to ROWS"


def _refusals(client, name: str, kwargs: tuple[str, ...], rows: dict) -> list[str]:
    url = reverse(name, kwargs={kwarg: ROWS[kwarg].value(rows[kwarg]) for kwarg in kwargs})
    before = {kwarg: snapshot(rows[kwarg]) for kwarg in kwargs}
    problems = []
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if response.status_code not in (404, 405):
            problems.append(f"{method.upper()} {url}: {response.status_code}")
    if any(snapshot(rows[kwarg]) != before[kwarg] for kwarg in kwargs):
        problems.append(f"{url}: the row changed")
    return problems


@pytest.mark.parametrize(("name", "kwargs"), ROUTES, ids=[name for name, _ in ROUTES])
def test_another_organization_s_row_is_a_404_and_stays_as_it_was(name, kwargs, org, other_org):
    if any(kwarg not in ROWS for kwarg in kwargs):
        pytest.skip("unknown argument: test_every_page_argument_is_known fails")
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    rows = {kwarg: ROWS[kwarg].make(other_org) for kwarg in kwargs}

    assert _refusals(signed_in(admin), name, kwargs, rows) == []


HIDDEN = [
    (name, kwargs) for name, kwargs in ROUTES if any(ROWS.get(k, RowMaker(None)).hidden_by_number for k in kwargs)
]


@pytest.mark.parametrize(("name", "kwargs"), HIDDEN, ids=[name for name, _ in HIDDEN])
def test_a_row_of_a_number_hidden_from_an_agent_is_a_404_to_them(name, kwargs, org, agent_membership):
    rows = {kwarg: ROWS[kwarg].make(org) for kwarg in kwargs}
    refusals = _refusals(signed_in(agent_membership), name, kwargs, rows)

    # Admin-only pages refuse an agent with the permission-denied page (403) before any row is looked at.
    assert [problem for problem in refusals if not problem.endswith(": 403")] == []


@pytest.mark.parametrize(("name", "kwargs"), ROUTES, ids=[name for name, _ in ROUTES])
def test_an_id_too_long_for_any_row_is_a_404(name, kwargs, org):
    """A row id is at most 18 digits (whatsapp_hub.converters): a longer one never reaches the database, where
    SQLite could not store it (a 500)."""
    placeholder = 123456789
    url = reverse(name, kwargs=dict.fromkeys(kwargs, placeholder)).replace(str(placeholder), "9" * 20)
    client = signed_in(MembershipFactory(organization=org, role=Role.ADMIN))

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
