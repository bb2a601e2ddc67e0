"""The Django admin, for platform staff: every registered model's changelist (with a search and, where
the model is tenant-owned, the organization filter) and change page open, and the changelists run
a bounded number of queries whatever the number of rows (no N+1).

Each registered model needs a row maker in MAKERS: registering a model without one fails
`test_every_registered_model_has_a_row_maker`."""

import secrets
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import (
    ApiKey,
    AuditLog,
    CustomPage,
    EmailLog,
    Invitation,
    MagicLink,
    Membership,
    MessageUsage,
    Organization,
    Plan,
    PlatformAuditLog,
    Role,
    StorageUsage,
    SystemLog,
    Team,
    TeamMember,
    TrustedDevice,
    User,
    UserSession,
)
from automation.models import (
    Bot,
    BotConversation,
    BotKnowledgeBase,
    BotReply,
    BotScenario,
    CustomFunction,
    Flow,
    FlowRun,
    FlowRunStep,
    FlowVersion,
    NumberAutomation,
    WebhookDelivery,
    WebhookEndpoint,
)
from automation.models.ai import AISettings, AIUsage
from automation.models.knowledge import Chunk, Document, KnowledgeBase
from automation.services import bots as bot_services
from campaigns.models import Campaign, CampaignRecipient
from crm.models import (
    Ad,
    AdReferral,
    Business,
    ContactBusiness,
    Deal,
    DealHistory,
    LeadRoutingRule,
    Pipeline,
    SalesMember,
    Stage,
)
from messaging.models import (
    Call,
    CannedResponse,
    Contact,
    ContactTag,
    Conversation,
    ConversationNote,
    ConversationResolution,
    FlowResponse,
    InboxEmbed,
    Media,
    Message,
    Notification,
    NotificationPreference,
    Tag,
    WebhookEvent,
    WhatsAppFlow,
    WhatsAppNumber,
)
from templates.models import MessageTemplate, TemplateSync
from tests.accounts.custom_pages_support import markdown_page
from tests.accounts.mail_support import email_log
from tests.automation.flows_support import custom_function, flow_run_of, simple_flow
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.campaigns.support import sandbox_campaign
from tests.crm.ads_support import ad as crm_ad
from tests.crm.routing_support import number_rule as crm_routing_rule
from tests.crm.support import business as crm_business
from tests.crm.support import deal as crm_deal
from tests.crm.support import sales_member as crm_sales_member
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.messaging.embeds_support import embed
from tests.messaging.factories import (
    CallFactory,
    CannedResponseFactory,
    ContactFactory,
    ConversationFactory,
    FlowResponseFactory,
    MediaFactory,
    MessageFactory,
    WhatsAppFlowFactory,
    WhatsAppNumberFactory,
)
from tests.templates.factories import MessageTemplateFactory, TemplateSyncFactory

ROWS = 20


def _membership(org: Organization) -> Membership:
    return MembershipFactory(organization=org, role=Role.AGENT)


def _invitation(org: Organization) -> Invitation:
    return services.invitation_create(
        organization=org, email=f"inv-{secrets.token_hex(4)}@example.com", role=Role.AGENT, invited_by=None
    )


def _team(org: Organization) -> Team:
    member = _membership(org)
    return services.team_create(
        organization=org, name=f"Team {secrets.token_hex(3)}", member_ids=[member.user_id], actor=None
    )


def _team_member(org: Organization) -> TeamMember:
    return TeamMember.objects.for_org(org).get(team=_team(org))


def _api_key(org: Organization) -> ApiKey:
    creator = _membership(org).user
    key, _ = services.api_key_create(organization=org, name="zap", role=Role.ADMIN, actor=creator)
    return key


def _audit_log(org: Organization) -> AuditLog:
    actor = _membership(org).user
    services.audit_log_write(organization=org, actor=actor, action="test.event", target=actor, data={"n": 1})
    return AuditLog.objects.for_org(org).get(action="test.event")


def _outstanding_token(org: Organization) -> OutstandingToken:
    token = RefreshToken.for_user(_membership(org).user)
    return OutstandingToken.objects.get(jti=token["jti"])


def _blacklisted_token(org: Organization) -> BlacklistedToken:
    token = RefreshToken.for_user(_membership(org).user)
    blacklisted, _ = token.blacklist()
    return blacklisted


def _axes_fields() -> dict:
    return {
        "user_agent": "pytest",
        "ip_address": "127.0.0.1",
        "username": f"someone-{secrets.token_hex(3)}@example.com",
        "http_accept": "*/*",
        "path_info": "/api/v1/auth/login",
        "attempt_time": timezone.now() - timedelta(minutes=1),
    }


def _campaign_recipient(org):
    campaign = sandbox_campaign(org)
    return CampaignRecipient.objects.create(organization=org, campaign=campaign, contact_id=campaign.contact_ids[0])


def _bot(org, **fields):
    return bot_services.bot_create(organization=org, actor=None, name=f"bot-{secrets.token_hex(3)}", **fields)


def _bot_reply(org):
    inbound = MessageFactory(organization=org)
    return BotReply.objects.create(
        organization=org, bot=_bot(org), conversation=inbound.conversation, inbound=inbound, outcome="answered"
    )


# model -> a function making one row of it, given a fresh organization.
def _resolution(org):
    conversation = ConversationFactory(organization=org)
    return ConversationResolution.objects.create(
        organization=org, conversation=conversation, number=conversation.number, opened_at=conversation.created_at
    )


MAKERS: dict[type[models.Model], Callable[[Organization], models.Model]] = {
    Organization: lambda org: org,
    Plan: lambda org: Plan.objects.create(code=f"plan-{org.pk}", name=f"Plan {org.pk}", max_users=5),
    MessageUsage: lambda org: MessageUsage.objects.create(organization=org, month=date(2026, 1, 1), messages=3),
    StorageUsage: lambda org: StorageUsage.objects.create(organization=org, bytes=1024),
    PlatformAuditLog: lambda org: PlatformAuditLog.objects.create(
        action="organization.create", organization_ref=org.pk
    ),
    User: lambda org: _membership(org).user,
    Membership: _membership,
    Invitation: _invitation,
    Team: _team,
    CustomPage: markdown_page,
    InboxEmbed: embed,
    TeamMember: _team_member,
    ApiKey: _api_key,
    AuditLog: _audit_log,
    SystemLog: lambda org: services.system_log_add(organization=org, level="warning", message="Admin check"),
    EmailLog: email_log,
    MagicLink: lambda org: MagicLink.objects.create(
        user=_membership(org).user,
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + timedelta(minutes=15),
    ),
    TrustedDevice: lambda org: TrustedDevice.objects.create(
        user=_membership(org).user,
        token_hash=secrets.token_hex(32),
        label="Chrome 120 on Windows",
        expires_at=timezone.now() + timedelta(days=30),
    ),
    UserSession: lambda org: UserSession.objects.create(
        user=_membership(org).user,
        kind=UserSession.Kind.API,
        user_agent="curl/8.5.0",
        ip="203.0.113.9",
        expires_at=timezone.now() + timedelta(days=7),
    ),
    Group: lambda org: Group.objects.create(name=f"group-{secrets.token_hex(3)}"),
    OutstandingToken: _outstanding_token,
    BlacklistedToken: _blacklisted_token,
    AccessAttempt: lambda org: AccessAttempt.objects.create(
        **_axes_fields(), get_data="", post_data="", failures_since_start=1
    ),
    AccessLog: lambda org: AccessLog.objects.create(**_axes_fields()),
    AccessFailureLog: lambda org: AccessFailureLog.objects.create(**_axes_fields(), locked_out=False),
    WhatsAppNumber: lambda org: WhatsAppNumberFactory(organization=org),
    Tag: lambda org: Tag.objects.create(organization=org, name=f"tag-{secrets.token_hex(3)}"),
    Contact: lambda org: ContactFactory(organization=org),
    ContactTag: lambda org: ContactTag.objects.get(contact=ContactFactory(organization=org, tags=["vip"])),
    Conversation: lambda org: ConversationFactory(organization=org),
    Message: lambda org: MessageFactory(organization=org),
    ConversationResolution: _resolution,
    Call: lambda org: CallFactory(organization=org),
    ConversationNote: lambda org: ConversationNote.objects.create(
        organization=org, conversation=ConversationFactory(organization=org), text="VIP", mentions=[]
    ),
    Notification: lambda org: Notification.objects.create(
        organization=org,
        recipient=MembershipFactory(organization=org).user,
        kind="mention",
        title="%(actor)s mentioned you in a note on %(contact)s",
        data={"params": {"actor": "Ann", "contact": "Bob"}},
    ),
    NotificationPreference: lambda org: NotificationPreference.objects.create(
        organization=org, user=MembershipFactory(organization=org).user, time_zone="Asia/Riyadh"
    ),
    Media: lambda org: Media.objects.create(
        organization=org, message=MessageFactory(organization=org, type="image"), mime_type="image/jpeg"
    ),
    WhatsAppFlow: lambda org: WhatsAppFlowFactory(organization=org),
    FlowResponse: lambda org: FlowResponseFactory(organization=org),
    CannedResponse: lambda org: CannedResponseFactory(organization=org, attachment=MediaFactory(organization=org)),
    WebhookEvent: lambda org: WebhookEvent.objects.create(
        organization=org, source="meta", body={"object": "whatsapp_business_account"}, dedupe_key=secrets.token_hex(8)
    ),
    MessageTemplate: lambda org: MessageTemplateFactory(organization=org),
    TemplateSync: lambda org: TemplateSyncFactory(organization=org),
    Campaign: sandbox_campaign,
    Business: crm_business,
    ContactBusiness: lambda org: ContactBusiness.objects.create(
        organization=org, contact=ContactFactory(organization=org), business=crm_business(org)
    ),
    Pipeline: lambda org: Pipeline.objects.create(organization=org, name="Partners"),
    Stage: lambda org: Stage.objects.create(
        organization=org, pipeline=Pipeline.objects.create(organization=org, name="Bare"), name="Only"
    ),
    Deal: crm_deal,
    DealHistory: lambda org: crm_deal(org).history.get(),
    SalesMember: crm_sales_member,
    Ad: crm_ad,
    AdReferral: lambda org: AdReferral.objects.get(ad=crm_ad(org)),
    LeadRoutingRule: crm_routing_rule,
    CampaignRecipient: _campaign_recipient,
    WebhookEndpoint: lambda org: WebhookEndpointFactory(organization=org),
    WebhookDelivery: lambda org: WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=org)),
    Flow: simple_flow,
    FlowVersion: lambda org: simple_flow(org).versions.get(),
    FlowRun: flow_run_of,
    FlowRunStep: lambda org: FlowRunStep.objects.create(
        organization=org, run=flow_run_of(org), step_no=1, node_id="start", node_type="trigger"
    ),
    CustomFunction: custom_function,
    AISettings: lambda org: AISettings.objects.create(organization=org, api_key="sk-admin-test"),
    AIUsage: lambda org: AIUsage.objects.create(organization=org, day=timezone.localdate(), model="gpt-4o-mini"),
    KnowledgeBase: knowledge_base,
    Document: lambda org: processed_document(knowledge_base(org), "faq.txt", b"We open at nine."),
    Chunk: lambda org: processed_document(knowledge_base(org), "faq.txt", b"We open at nine.").chunks.get(),
    Bot: lambda org: _bot(org),
    BotKnowledgeBase: lambda org: BotKnowledgeBase.objects.get(
        bot=_bot(org, knowledge_base_ids=[knowledge_base(org).pk])
    ),
    BotScenario: lambda org: bot_services.scenario_create(
        bot=_bot(org), actor=None, trigger="keyword", values=["hours"], reply={"type": "text", "text": "9-5"}
    ),
    BotConversation: lambda org: BotConversation.objects.create(
        organization=org, conversation=ConversationFactory(organization=org), bot=_bot(org), paused=True
    ),
    BotReply: _bot_reply,
    NumberAutomation: lambda org: bot_services.number_automation_set(
        number=WhatsAppNumberFactory(organization=org), actor=None, values={"bot_id": _bot(org).pk}
    ),
}

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def _urls(model) -> tuple[str, str]:
    info = (model._meta.app_label, model._meta.model_name)
    return f"admin:{info[0]}_{info[1]}_changelist", f"admin:{info[0]}_{info[1]}_change"


def _organization_filter(model_admin) -> str | None:
    """The changelist's organization filter lookup (`organization`, `memberships__organization`), if any."""
    lookups = [f for f in model_admin.list_filter if isinstance(f, str) and f.split("__")[-1] == "organization"]
    return lookups[0] if lookups else None


def test_every_registered_model_has_a_row_maker():
    missing = [model._meta.label for model in REGISTERED if model not in MAKERS]
    assert missing == [], f"Add row makers to tests/accounts/test_django_admin.py for: {missing}"


def test_every_tenant_model_in_the_admin_filters_by_organization():
    tenant_models = [m for m in REGISTERED if any(f.name == "organization" for f in m._meta.concrete_fields)]
    assert tenant_models
    missing = [m._meta.label for m in tenant_models if "organization" not in admin.site._registry[m].list_filter]
    assert missing == []


def test_users_filter_by_organization():
    assert _organization_filter(admin.site._registry[User]) == "memberships__organization"


def test_every_accounts_admin_has_search_fields():
    missing = [
        m._meta.label
        for m in REGISTERED
        if m._meta.app_label == "accounts" and not admin.site._registry[m].search_fields
    ]
    assert missing == []


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_staff_opens_the_changelist_and_the_change_page(model, staff_browser):
    org = OrganizationFactory(name="Admin Test Org")
    row = MAKERS[model](org)
    changelist, change = _urls(model)
    model_admin = admin.site._registry[model]

    r = staff_browser.get(reverse(changelist))
    assert r.status_code == 200, r.content[:500]
    assert row.pk in [obj.pk for obj in r.context["cl"].result_list]

    r = staff_browser.get(reverse(changelist), {"q": "example"})
    assert r.status_code == 200, r.content[:500]

    lookup = _organization_filter(model_admin)
    if lookup:
        MAKERS[model](OrganizationFactory(name="Elsewhere"))
        r = staff_browser.get(reverse(changelist), {f"{lookup}__id__exact": org.pk, "q": ""})
        assert r.status_code == 200, r.content[:500]
        shown = [obj.pk for obj in r.context["cl"].result_list]
        assert shown == [row.pk]

    r = staff_browser.get(reverse(change, args=[row.pk]))
    assert r.status_code == 200, r.content[:500]


def test_the_user_admin_add_page_opens(staff_browser):
    assert staff_browser.get(reverse("admin:accounts_user_add")).status_code == 200


def test_searching_members_by_email_finds_them(staff_browser, org):
    wanted = MembershipFactory(organization=org, user=UserFactory(email="needle@haystack.example"))
    MembershipFactory(organization=org)

    r = staff_browser.get(reverse("admin:accounts_membership_changelist"), {"q": "needle@"})

    assert [obj.pk for obj in r.context["cl"].result_list] == [wanted.pk]


def _changelist_queries(client, url: str) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_the_changelist_runs_a_bounded_number_of_queries(model, staff_browser, django_assert_max_num_queries):
    changelist, _ = _urls(model)
    url = reverse(changelist)
    MAKERS[model](OrganizationFactory())
    with_one_row = _changelist_queries(staff_browser, url)
    for _ in range(ROWS - 1):
        MAKERS[model](OrganizationFactory())

    # Twenty rows (each in its own organization, with its own user) cost what one row costs.
    with django_assert_max_num_queries(with_one_row):
        r = staff_browser.get(url)

    assert r.status_code == 200
    assert len(r.context["cl"].result_list) >= ROWS
    assert with_one_row <= 15
