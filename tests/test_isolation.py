"""Every API route, walked with two organizations, and within one for a member who may not see some of its numbers
(see tests/isolation.py)."""

import csv
import io
import secrets
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import AuditLog, Invitation, Role, Team, hash_secret
from automation.models.ai import AIUsage
from automation.services import bots as bot_services
from automation.services.ai import ai_settings_save
from messaging.models import Message, Provider
from messaging.services import numbers as number_services
from messaging.services import waha_sessions
from tests.accounts.custom_pages_support import markdown_page
from tests.accounts.mail_support import email_log
from tests.automation.flows_support import custom_function, flow_run_of, simple_flow
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.campaigns.support import sandbox_campaign
from tests.conftest import client_for
from tests.crm.ads_support import ad
from tests.crm.routing_support import number_rule
from tests.crm.support import business, deal, sales_member, stage
from tests.factories import MembershipFactory
from tests.isolation import Resource, api_routes, check_hidden_number, check_resource
from tests.messaging.embeds_support import embed
from tests.messaging.factories import (
    CallFactory,
    CannedResponseFactory,
    ContactFactory,
    ConversationFactory,
    FlowResponseFactory,
    MediaFactory,
    MessageFactory,
    WhatsAppNumberFactory,
)
from tests.templates.factories import MessageTemplateFactory, TemplateSyncFactory


def _invitation(org):
    return Invitation.objects.create(
        organization=org,
        email=f"invitee-{secrets.token_hex(4)}@example.com",
        role=Role.AGENT,
        token_hash=hash_secret(secrets.token_hex(16)),
        expires_at=timezone.now() + timedelta(days=7),
    )


def _api_key(org):
    key, _ = account_services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=None)
    return key


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _primary_cloud_number(org):
    """settings/whatsapp shows the primary Cloud number; each call gives it a new phone_number_id."""
    return number_services.whatsapp_settings_save(
        organization=org,
        actor=None,
        whatsapp_token="EAAG-walker-token",
        phone_number_id=str(10**12 + secrets.randbelow(10**12)),
        waba_id="1",
        verify_token="walker",
    )


def _scanning_waha_number(org):
    """A WAHA number whose session waits for its QR scan, on the walker's fake WAHA."""
    number = number_services.number_create(
        organization=org, actor=None, display_name="Web", provider="waha", waha_api_key="test-waha-key"
    )
    waha_sessions.waha_session_start(number=number, actor=None)
    return number


def _message_on_a_day_of_its_own(org):
    """A message on one of the 6 days before today that has no message yet: the dashboard's per-day rows then tell
    the rows apart (never today, where other routes' messages land)."""
    today = timezone.localdate()
    taken = {timezone.localdate(at) for at in Message.objects.values_list("created_at", flat=True)}
    day = next(day for day in (today - timedelta(days=n) for n in range(1, 7)) if day not in taken)
    return MessageFactory(organization=org, created_at=timezone.make_aware(datetime.combine(day, time(12))))


def _message_in_open_window(org):
    """A message of a sandbox conversation whose customer wrote an hour ago: a text to them may be sent."""
    return MessageFactory(
        organization=org,
        conversation__number__provider=Provider.SANDBOX,
        conversation__last_inbound_at=timezone.now() - timedelta(hours=1),
    )


def _bot(org):
    return bot_services.bot_create(organization=org, actor=None, name=f"bot-{secrets.token_hex(3)}")


def _scenario(org):
    reply = {"type": "text", "text": "walker probe"}
    return bot_services.scenario_create(bot=_bot(org), actor=None, trigger="keyword", values=["hi"], reply=reply)


def _days_with_messages(days) -> list[str]:
    return [day["date"] for day in days if day["received"]]


def _message_day(message) -> str:
    return timezone.localdate(message.created_at).isoformat()


def _sandbox_flow_with_a_response(org):
    """A WhatsApp Flow of a sandbox number (its preview needs no Meta) with one response."""
    number = WhatsAppNumberFactory(organization=org, provider="sandbox", waba_id="", access_token="")
    return FlowResponseFactory(organization=org, flow__number=number, flow__waba_id="sandbox").flow


def _reply_by_a_named_agent(org):
    """Today's reply by a new agent of `org` (the reports list agents, teams and numbers by name)."""
    agent = MembershipFactory(organization=org, role=Role.AGENT, user__name=f"agent-{secrets.token_hex(3)}")
    team = Team.objects.create(organization=org, name=f"team-{secrets.token_hex(3)}")
    conversation = ConversationFactory(organization=org, team=team)
    return MessageFactory(
        organization=org, conversation=conversation, direction="outbound", status="sent", sent_by=agent.user
    )


def _report_resource(name_of, *, csv_export: bool = False) -> Resource:
    return Resource(
        make=_reply_by_a_named_agent,
        read=_csv_rows if csv_export else (lambda response: response.json()),
        list_ids=lambda rows: [row["name"] for row in rows],
        identity=name_of,
    )


REPORT_NAMES = {
    "agents": lambda message: message.sent_by.name,
    "teams": lambda message: message.conversation.team.name,
    "numbers": lambda message: message.conversation.number.display_name,
}


# Tenant-owned resources, keyed by router basename or by route name.
RESOURCES = {
    "contact": Resource(make=lambda org: ContactFactory(organization=org)),
    "contact-export": Resource(
        make=lambda org: ContactFactory(organization=org),
        read=_csv_rows,
        list_ids=lambda rows: [row["number"] for row in rows],
        identity=lambda contact: contact.wa_id,
    ),
    # CRM: customers are the contacts under the seed's name; businesses, pipelines, stages, deals, the sales team.
    "customer": Resource(make=lambda org: ContactFactory(organization=org)),
    "customer-export": Resource(
        make=lambda org: ContactFactory(organization=org),
        read=_csv_rows,
        list_ids=lambda rows: [row["number"] for row in rows],
        identity=lambda contact: contact.wa_id,
    ),
    "business": Resource(make=business),
    "pipeline": Resource(make=lambda org: stage(org).pipeline, list_ids=lambda body: [row["id"] for row in body]),
    "stage": Resource(make=stage),
    "deal": Resource(make=deal, bodies={"PATCH": {"title": "Taken"}, "PUT": {"title": "Taken"}}),
    "sales-team": Resource(make=sales_member),
    # Click-to-WhatsApp ads: the list names the ads with something in the range (by default the last 30 days).
    "ad": Resource(make=ad),
    # Lead-routing rules (admins only, reads included): each of a number of its own.
    "lead-routing": Resource(make=number_rule, bodies={"PATCH": {"max_open_per_member": 9}, "PUT": {"enabled": False}}),
    "team": Resource(make=lambda org: Team.objects.create(organization=org, name=f"team-{secrets.token_hex(3)}")),
    "api-key": Resource(make=_api_key),
    "member": Resource(
        make=lambda org: MembershipFactory(organization=org, role=Role.AGENT),
        lookup=lambda m: {"user_id": m.user_id},
        bodies={"PUT": {"role": "marketing"}},
    ),
    "access-list": Resource(make=_invitation, lookup=lambda inv: {"email": inv.email}),
    "admin-team": Resource(
        make=lambda org: MembershipFactory(organization=org, role=Role.AGENT),
        list_ids=lambda body: [row["user_id"] for row in body["results"]],
        identity=lambda m: m.user_id,
    ),
    "audit-log": Resource(
        make=lambda org: AuditLog.objects.create(organization=org, action="test.event"),
    ),
    "email-log": Resource(make=email_log),
    "system-log": Resource(
        make=lambda org: account_services.system_log_add(organization=org, level="error", message="walker probe"),
    ),
    "conversation": Resource(make=lambda org: ConversationFactory(organization=org)),
    "call": Resource(make=lambda org: CallFactory(organization=org)),
    "conversation-start": Resource(
        make=lambda org: ConversationFactory(organization=org),
        naming=lambda conversation: {
            "contact_id": conversation.contact_id,
            "number_id": conversation.number_id,
            "template": {"name": "walker_probe", "language": "en_US"},
        },
    ),
    "message": Resource(
        make=_message_in_open_window,
        naming=lambda message: {
            "to": message.conversation.contact.phone,
            "number_id": message.conversation.number_id,
            "type": "text",
            "text": "walker probe",
        },
    ),
    "message-search": Resource(
        make=lambda org: MessageFactory(organization=org, text="walker probe"), query={"q": "probe"}
    ),
    "media": Resource(
        make=lambda org: MediaFactory(organization=org, message=MessageFactory(organization=org, type="image"))
    ),
    # Storage use is a sum: each organization's probe file has a size of its own bit (above the other files' few
    # bytes), so the total shows which probes it counted.
    "media-usage": Resource(
        make=lambda org: MediaFactory(organization=org, size=1 << (32 + org.pk % 24)),
        list_ids=lambda body: [1 << bit for bit in range(32, 56) if body["bytes"] >> bit & 1],
        identity=lambda media: media.size,
    ),
    "number": Resource(make=lambda org: WhatsAppNumberFactory(organization=org)),
    "number-session": Resource(make=_scanning_waha_number),
    "number-qr": Resource(make=_scanning_waha_number),
    "settings-whatsapp": Resource(
        make=_primary_cloud_number,
        list_ids=lambda body: [body["phone_number_id"]],
        identity=lambda number: number.phone_number_id,
    ),
    "dashboard-stats": Resource(
        make=_message_on_a_day_of_its_own,
        list_ids=lambda body: _days_with_messages(body["analytics"]),
        identity=_message_day,
    ),
    "analytics": Resource(make=_message_on_a_day_of_its_own, list_ids=_days_with_messages, identity=_message_day),
    "analytics-export": Resource(
        make=_message_on_a_day_of_its_own,
        read=_csv_rows,
        list_ids=lambda rows: [row["date"] for row in rows if row["received"] != "0"],
        identity=_message_day,
    ),
    **{f"reports-{kind}": _report_resource(name_of) for kind, name_of in REPORT_NAMES.items()},
    **{f"reports-{kind}-export": _report_resource(name_of, csv_export=True) for kind, name_of in REPORT_NAMES.items()},
    "canned-response": Resource(make=lambda org: CannedResponseFactory(organization=org)),
    # WhatsApp Flows (Meta's forms): a flow's routes answer another tenant's flow 404; its responses are its own.
    "whatsapp-flow": Resource(
        make=_sandbox_flow_with_a_response,
        bodies={"PATCH": {"name": "Taken"}},
    ),
    "custom-page": Resource(make=markdown_page),
    "inbox-embed": Resource(make=embed),
    # Campaigns and their broadcasts/ aliases (marketing and admins; a campaign belongs to its number). The routes
    # naming rows in their body (send, audience-preview) are refused for other organizations' numbers and contacts
    # in tests/campaigns/test_api.py: an agent (the hidden-number walk) may not call them at all.
    "campaign": Resource(make=sandbox_campaign),
    "broadcast": Resource(make=sandbox_campaign),
    "sandbox-inbound": Resource(
        make=lambda org: WhatsAppNumberFactory(organization=org, provider="sandbox"),
        naming=lambda number: {"number_id": number.pk, "from": "+16505551234", "text": "walker probe"},
    ),
    # Templates (list, detail, delete, send-test, send): the detail routes answer another tenant's template 404.
    "template": Resource(
        make=lambda org: MessageTemplateFactory(organization=org),
        bodies={"POST": {"to": "+16505551234", "conversation_id": 1, "parameters": {"1": "walker"}}},
    ),
    # POST templates/sync names a Cloud number (its account is synced, from the walker's fake Graph API).
    "template-sync": Resource(
        make=lambda org: WhatsAppNumberFactory(organization=org), naming=lambda number: {"number_id": number.pk}
    ),
    "template-syncs": Resource(make=lambda org: TemplateSyncFactory(organization=org)),
    # Outbound webhooks (admins): endpoints, their rotate-secret, test ping and delivery log; a delivery's redeliver.
    "webhook": Resource(make=lambda org: WebhookEndpointFactory(organization=org)),
    "webhook-delivery": Resource(
        make=lambda org: WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org)),
        lookup=lambda delivery: {"pk": delivery.endpoint_id, "delivery_id": delivery.pk},
    ),
    # Flows (admins): the graph, its test run on a sandbox number, its runs; workflows are flows too; functions.
    "flow": Resource(make=simple_flow),
    "flow-run": Resource(make=flow_run_of),
    "workflow": Resource(make=lambda org: simple_flow(org, kind="workflow")),
    "function": Resource(make=custom_function),
    # Bots (admins) and their scenarios; a conversation's bot (conversations/{id}/bot...) is the conversation's.
    "bot": Resource(make=_bot),
    "bot-scenario": Resource(make=_scenario, lookup=lambda s: {"bot_id": s.bot_id, "pk": s.pk}),
    "bot-scenario-list": Resource(make=_scenario, lookup=lambda s: {"bot_id": s.bot_id}),
    "bot-scenario-reorder": Resource(make=_scenario, lookup=lambda s: {"bot_id": s.bot_id}),
    # AI settings: one row per organization (each make gives it a model name and a key of its own).
    "settings-ai": Resource(
        make=lambda org: ai_settings_save(organization=org, actor=None, chat_model=f"model-{secrets.token_hex(4)}"),
        list_ids=lambda body: [body["chat_model"]],
        identity=lambda row: row.chat_model,
    ),
    "settings-ai-usage": Resource(
        make=lambda org: AIUsage.objects.create(
            organization=org, day=timezone.localdate(), model=f"model-{secrets.token_hex(4)}", requests=1
        ),
        list_ids=lambda body: [row["model"] for row in body["rows"]],
        identity=lambda row: row.model,
    ),
    # Knowledge bases, their upload, documents, one document (GET, DELETE) and search.
    "knowledge-base": Resource(make=lambda org: knowledge_base(org, f"kb-{secrets.token_hex(3)}")),
    "knowledge-base-document": Resource(
        make=lambda org: processed_document(knowledge_base(org), "walker.txt", b"The walker's own passage."),
        lookup=lambda document: {"pk": document.knowledge_base_id, "doc_id": document.pk},
    ),
    "settings-openai": Resource(
        make=lambda org: ai_settings_save(organization=org, actor=None, api_key=f"sk-{secrets.token_hex(8)}"),
        list_ids=lambda body: [body["masked_key"]],
        identity=lambda row: "..." + row.api_key[-4:],
    ),
    # Settings > Integrations (admins): the list names each number's card by key; "test now" of a number's card.
    "settings-integrations": Resource(
        make=lambda org: WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX),
        list_ids=lambda body: [card["key"] for card in body["integrations"]],
        identity=lambda number: f"whatsapp_number-{number.pk}",
    ),
    "settings-integration-test": Resource(
        make=lambda org: WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX),
        lookup=lambda number: {"key": f"whatsapp_number-{number.pk}"},
    ),
}
# The caller's own organization, whatever its id: answers about the caller's tenant only.
SINGLETONS = {"organization"}
# Platform staff only: tenant credentials get 403 on every method.
PLATFORM_PREFIX = "super-admin-"
# Routes that hold no tenant data of their own (sign-in family, the schema and its docs).
NO_TENANT_DATA = {
    "auth-register",
    "auth-login",
    "auth-refresh",
    "auth-logout",
    "auth-me",
    "auth-password-reset-request",
    "auth-password-reset",
    "auth-google",  # signs a person in: tests/accounts/test_google_sign_in.py
    "auth-magic-link",  # e-mails a person a link: tests/accounts/test_magic_links.py
    "auth-magic-link-verify",
    "auth-register-with-invite",
    "auth-me-availability",  # the caller's own membership: tests/crm/test_routing_api.py
    "auth-ws-ticket",  # the ticket acts in the caller's organization: tests/messaging/test_consumer_auth.py
    "auth-switch-organization",  # names an organization: tests/accounts/test_organizations.py
    # The person's own sessions, not a tenant's (another person's session is a 404): tests/accounts/test_sessions.py
    "auth-sessions",
    "auth-session",
    "auth-sessions-revoke-others",
    # The person's own two-step sign-in and trusted browsers (another person's browser is a 404), and the second step
    # of a sign-in: tests/accounts/test_two_factor.py
    "auth-2fa",
    "auth-2fa-enrol",
    "auth-2fa-enrol-confirm",
    "auth-2fa-disable",
    "auth-2fa-recovery-codes",
    "auth-2fa-verify",
    "auth-2fa-trusted-devices",
    "auth-2fa-trusted-device",
    # The person's own notifications and preferences in the caller's organization (an API key is nobody: 403; another
    # person's or organization's notification is a 404): tests/messaging/test_notifications.py
    "notification-list",
    "notification-detail",
    "notification-read",
    "notification-read-all",
    "notification-unread-count",
    "notification-preferences-api",
    "organizations",  # creates one for the signed-in person: tests/accounts/test_organizations.py
    "super-admin-login",
    "schema",
    "docs",
    "health",  # liveness and readiness for load balancers, no credential: tests/ops/test_health.py
    "health-ready",
}


def _resource_for(name: str) -> Resource | None:
    if name in RESOURCES:
        return RESOURCES[name]
    matches = [base for base in RESOURCES if name.startswith(base + "-")]
    return RESOURCES[max(matches, key=len)] if matches else None


def _classify(name: str) -> str | None:
    if name in NO_TENANT_DATA:
        return "none"
    if name in SINGLETONS:
        return "singleton"
    if name.startswith(PLATFORM_PREFIX):
        return "platform"
    if _resource_for(name):
        return "resource"
    return None


def test_every_api_route_is_covered_by_the_walker(db):
    unclassified = [route.name for route in api_routes() if _classify(route.name) is None]
    assert unclassified == [], f"Classify these routes in tests/test_isolation.py: {unclassified}"


def _api_key_client(org, *, role: str = Role.ADMIN) -> APIClient:
    _, raw = account_services.api_key_create(organization=org, name="walker", role=role, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.mark.parametrize("credential", ["jwt", "api_key"])
def test_no_route_leaks_or_touches_another_organization(credential, org, other_org, admin_client, fake_waha, fake_meta):
    client = admin_client if credential == "jwt" else _api_key_client(org)
    problems = []
    for route in api_routes():
        kind = _classify(route.name)
        if kind == "resource":
            resource = _resource_for(route.name)
            own, foreign = resource.make(org), resource.make(other_org)
            problems += check_resource(client, route, resource, own, foreign)
        elif kind == "singleton":
            body = client.get(reverse(route.name)).json()
            if body.get("id") != org.pk:
                problems.append(f"{route.name}: answered about organization {body.get('id')}")
        elif kind == "platform":
            url = reverse(route.name, kwargs={k: other_org.pk for k in route.kwargs})
            for method in route.methods:
                status = getattr(client, method.lower())(url, {}, format="json").status_code
                if status != 403:
                    problems.append(f"{method} {route.name}: tenant credential got {status}, not 403")
    other_org.refresh_from_db()
    assert other_org.status == "active"
    assert problems == []


@pytest.mark.parametrize("credential", ["jwt", "api_key"])
def test_no_route_shows_or_touches_a_number_hidden_from_the_caller(credential, org, other_org, fake_waha, fake_meta):
    """An agent assigned nothing (or an agent API key), in an organization where some numbers are assigned to
    another agent: every route naming a row of such a number answers as for another organization's row."""
    if credential == "jwt":
        client = client_for(MembershipFactory(organization=org, role=Role.AGENT))
    else:
        client = _api_key_client(org, role=Role.AGENT)
    colleague = MembershipFactory(organization=org, role=Role.AGENT)

    def hide(number):
        number_services.number_assign(number=number, actor=None, user_id=colleague.user_id, team_id=None)

    problems, walked = [], set()
    for route in api_routes():
        if _classify(route.name) == "resource":
            found = check_hidden_number(client, route, _resource_for(route.name), org, other_org, hide)
            if found is not None:
                problems += found
                walked.add(route.name)
    assert problems == []
    assert walked >= {
        "number-list",
        "number-detail",
        "number-assign",
        "conversation-list",
        "conversation-detail",
        "conversation-messages",
        "call-list",
        "call-detail",
        "conversation-read",
        "conversation-start",
        "message-list",
        "message-search",
        "media-list",
        "media-detail",
        "media-content",
        "media-copy",
        "dashboard-stats",
        "analytics",
        "analytics-export",
        "reports-agents",
        "reports-numbers-export",
        "sandbox-inbound",
        "settings-whatsapp",
        "template-sync",
        "conversation-bot",
        "conversation-bot-pause",
        "conversation-bot-resume",
    }
