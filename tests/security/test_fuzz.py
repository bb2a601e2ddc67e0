"""Schemathesis over the OpenAPI schema, against a live server, for every operation.

Every operation of the schema is one test (`test_api[POST /api/v1/contacts/]`, ...), so a new route is fuzzed
without anyone listing it. Calls go over HTTP to the hub on 127.0.0.1 (Django's threaded live server), with real
credentials: reads with an organization's admin API key, writes with its admin's access token, the super-admin
routes with platform staff's. No response may be a 5xx, and every response must match the schema: status code,
content type, headers and body; an invalid input must be refused, and a secured operation must refuse a request
without its credential.

Bounded and deterministic: a fixed seed, the coverage phase (each parameter's boundaries, wrong types, missing
fields) and 5 random examples per operation, no shrinking (a failure shows the example as found).

Excluded: nothing. The credentials are tokens and a key, never a password, so fuzzing login cannot lock the
admin out (the lockout is per e-mail), and logout only blacklists the refresh token it is sent (random ones are
refused). Webhooks are outside /api/v1 and its schema; tests/messaging/test_webhooks_* post them signed.
"""

import json
import secrets
import socket
from datetime import timedelta

import pytest
import schemathesis
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.live_server_helper import LiveServer
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.specs.openapi.checks import ignored_auth

from accounts import services as account_services
from accounts.models import ApiKey, AuditLog, Role, Team, User, hash_secret
from automation.services import bots as bot_services
from messaging.models import Provider, WhatsAppNumber
from messaging.providers import SANDBOX_WABA_ID
from tests.accounts.custom_pages_support import markdown_page, url_page
from tests.automation.flows_support import custom_function, flow_run_of, simple_flow
from tests.automation.knowledge_support import knowledge_base, processed_document
from tests.automation.webhooks_support import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.campaigns.support import sandbox_campaign
from tests.crm import routing_support
from tests.crm import support as crm_support
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.fakes.meta import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.messaging.embeds_support import embed
from tests.messaging.factories import (
    CannedResponseFactory,
    ContactFactory,
    FlowResponseFactory,
    MediaFactory,
    WhatsAppFlowFactory,
    WhatsAppNumberFactory,
)
from tests.messaging.inbox_support import open_conversation, waha_number
from tests.templates.factories import MessageTemplateFactory, TemplateSyncFactory

# Fixed ids: the credentials must exist when the cases are built, at collection (the coverage phase's are).
ORG_ID = ADMIN_ID = API_KEY_ID = 9_000_001  # far from the ids the fuzzer draws: it never revokes or demotes them
STAFF_ID = 9_000_002
API_KEY = "wh_fuzzfuzz_fixed-secret-of-the-fuzz-test"
PLATFORM = "^/api/v1/super-admin/"

CONFIG = {
    "seed": 42,
    "generation": {
        "deterministic": True,
        "max-examples": 5,
        "no-shrink": True,
        "database": "none",
        # The credentials are ours (below): a generated X-API-Key would only ever be a random, refused one.
        "with-security-parameters": False,
    },
    "phases": {
        # Methods the schema does not list get DRF's generic 405 (tests/test_api_errors.py): ~375 calls for nothing.
        "coverage": {"unexpected-methods": []},
    },
    "checks": {
        # Valid by the schema is not valid by the rules: a weak password, an e-mail already invited, a number_id of
        # no number of the organization are schema-valid and rightly refused (400).
        "positive_data_acceptance": {"enabled": False},
    },
}
SCHEMA = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))),
    config=schemathesis.Config.from_dict(CONFIG),
)


def _access_token(user_id: int, organization_id: int | None) -> str:
    """The access token auth_login issues (its token version and organization), valid for the whole run."""
    token = AccessToken.for_user(User(pk=user_id))
    token["tv"] = 0
    token["org"] = organization_id
    token.set_exp(lifetime=timedelta(hours=2))
    return str(token)


def _credential(header: str, value: str):
    class Credential:
        def get(self, case, context):
            return value

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), header: data}

    return Credential


# Reads as an integration (an admin API key), writes as a signed-in admin (JWT), the platform's routes as staff.
SCHEMA.auth().apply_to(method="GET").skip_for(path_regex=PLATFORM)(_credential("X-API-Key", API_KEY))
SCHEMA.auth().skip_for(method="GET").skip_for(path_regex=PLATFORM)(
    _credential("Authorization", f"Bearer {_access_token(ADMIN_ID, ORG_ID)}")
)
SCHEMA.auth().apply_to(path_regex=PLATFORM)(_credential("Authorization", f"Bearer {_access_token(STAFF_ID, None)}"))


class Rows:
    """Rows that path parameters may name, made for the operation under test (so a DELETE leaves the next
    operations rows of their own): a share of the random cases names one (random ids alone only meet 404)."""

    operation: str | None = None
    values: list = []


@SCHEMA.hook
def flatmap_case(context, case):
    if case.meta is None or case.meta.generation.mode.is_negative or len(case.path_parameters) != 1 or not Rows.values:
        return st.just(case)
    [(name, generated)] = case.path_parameters.items()

    def named(value):
        case.path_parameters = {name: type(generated)(value)}  # the schema's type: "12" for a pattern, 12 an integer
        return case

    return st.one_of(st.just(case), st.sampled_from(Rows.values).map(named))


def _rows(path: str, org, admin, fake_meta) -> list:
    if path.startswith("/api/v1/admin/access-list/"):
        email = f"invitee{AuditLog.objects.count()}@example.com"
        account_services.invitation_create(organization=org, email=email, role=Role.AGENT, invited_by=admin)
        return [email]
    if path.startswith("/api/v1/admin/users/"):
        return [MembershipFactory(organization=org, role=Role.AGENT).user_id]
    if path.startswith("/api/v1/api-keys/"):
        return [account_services.api_key_create(organization=org, name="zap", role=Role.AGENT, actor=None)[0].pk]
    if path.startswith("/api/v1/embeds/"):
        return [embed(org).pk]
    if path.startswith("/api/v1/custom-pages/"):
        return [markdown_page(org, title=f"Fuzz {AuditLog.objects.count()}").pk, url_page(org).pk]
    if path.startswith("/api/v1/whatsapp-flows/"):
        # A draft and a published flow Meta (the fake) knows, on the fake's default account, with a response each.
        number = WhatsAppNumber.objects.filter(organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID).first()
        number = number or WhatsAppNumberFactory(
            organization=org, phone_number_id=DEFAULT_PHONE_NUMBER_ID, waba_id=DEFAULT_WABA_ID
        )
        rows = []
        for status in ("DRAFT", "PUBLISHED"):
            at_meta = fake_meta.add_flow(waba_id=DEFAULT_WABA_ID, name=f"fuzz-{secrets.token_hex(4)}", status=status)
            flow = WhatsAppFlowFactory(organization=org, number=number, meta_flow_id=at_meta["id"], status=status)
            FlowResponseFactory(organization=org, flow=flow)
            rows.append(flow.pk)
        return rows
    if path.startswith("/api/v1/canned-responses/"):
        plain = CannedResponseFactory(organization=org)
        return [plain.pk, CannedResponseFactory(organization=org, attachment=MediaFactory(organization=org)).pk]
    if path.startswith("/api/v1/bots/"):
        bot = bot_services.bot_create(organization=org, actor=None, name=f"Bot {secrets.token_hex(4)}")
        reply = {"type": "text", "text": "Hello"}
        bot_services.scenario_create(bot=bot, actor=None, trigger="keyword", values=["hi"], reply=reply)
        return [bot.pk]
    if path.startswith(("/api/v1/campaigns/", "/api/v1/broadcasts/")):
        return [sandbox_campaign(org).pk]
    if path.startswith("/api/v1/knowledge-bases/"):
        kb = knowledge_base(org, f"Fuzz {AuditLog.objects.count()}")
        processed_document(kb, "fuzz.txt", b"Opening hours: nine to five.")
        return [kb.pk]
    if path.startswith("/api/v1/businesses/"):
        return [crm_support.business(org).pk]
    if path.startswith("/api/v1/customers/"):
        return [ContactFactory(organization=org).pk]
    if path.startswith("/api/v1/pipelines/"):
        return [crm_support.stage(org).pipeline_id]
    if path.startswith("/api/v1/stages/"):
        return [crm_support.stage(org).pk]
    if path.startswith("/api/v1/deals/"):
        return [crm_support.deal(org).pk]
    if path.startswith("/api/v1/sales-team/"):
        return [crm_support.sales_member(org).pk]
    if path.startswith("/api/v1/lead-routing/"):
        return [routing_support.number_rule(org).pk]
    if path.startswith("/api/v1/contacts/"):
        return [ContactFactory(organization=org).pk]
    if path.startswith("/api/v1/conversations/"):
        conversation = open_conversation(org)
        fake_meta.open_window(conversation.contact.wa_id, phone_number_id=conversation.number.phone_number_id)
        return [conversation.pk]
    if path.startswith("/api/v1/media/"):
        return [MediaFactory(organization=org).pk]
    if path.startswith("/api/v1/numbers/"):
        cloud = WhatsAppNumberFactory(organization=org)
        sandbox = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX)
        return [cloud.pk, sandbox.pk, waha_number(org, waha_session=f"s{cloud.pk}").pk]
    if path.startswith("/api/v1/super-admin/organizations/"):
        return [OrganizationFactory().pk]  # never the fuzzer's own: it may be suspended or deleted
    if path.startswith("/api/v1/templates/syncs/"):
        return [TemplateSyncFactory(organization=org).pk]
    if path.startswith("/api/v1/templates/"):
        # An approved template of a number of the organization (sends go to the fake), one of the sandbox's, and a
        # deleted one.
        cloud = WhatsAppNumberFactory(organization=org)
        MessageTemplateFactory(organization=org, status="DELETED", deleted_at=cloud.created_at)
        return [
            MessageTemplateFactory(organization=org, waba_id=cloud.waba_id).pk,
            MessageTemplateFactory(organization=org, waba_id=SANDBOX_WABA_ID).pk,
        ]
    if path.startswith(("/api/v1/flows/", "/api/v1/workflows/")):
        # A flow and a workflow (flows/{id}/test tries one on the organization's sandbox number).
        numbers = WhatsAppNumber.objects.for_org(org).live()
        if not numbers.filter(provider=Provider.SANDBOX).exists():
            primary = not numbers.filter(is_primary=True).exists()
            WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX, is_primary=primary, phone_number_id="")
        return [simple_flow(org).pk, simple_flow(org, kind="workflow").pk]
    if path.startswith("/api/v1/flow-runs/"):
        return [flow_run_of(org).pk]
    if path.startswith("/api/v1/functions/"):
        return [custom_function(org).pk]
    if path.startswith("/api/v1/teams/"):
        return [Team.objects.create(organization=org, name=f"Team {Team.objects.count()}").pk]
    if path.startswith("/api/v1/settings/integrations/"):
        number = WhatsAppNumberFactory(organization=org, provider=Provider.SANDBOX)
        return [f"whatsapp_number-{number.pk}", "llm", "embeddings", "google"]
    if path.startswith("/api/v1/webhooks/"):
        endpoint = WebhookEndpointFactory(organization=org)
        WebhookDeliveryFactory(endpoint=endpoint)
        return [endpoint.pk, WebhookEndpointFactory(organization=org, active=False).pk]
    return []


# The tests need the test database (pytest-django creates it for marked tests) but not pytest-django's handling of
# each test: a transaction the server thread cannot see into, or a flush after each of ~75 operations (minutes).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def _django_db_helper(django_db_blocker):
    """Replaces pytest-django's per-test database handling: rows are committed; `hub` cleans up once."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def hub(django_db_setup, django_db_blocker):
    """The hub on 127.0.0.1 with the fuzzer's organization, admin and staff user, committed (the server thread
    reads them). One server and one clean-up for the module."""
    # 600 requests a minute per principal is the product's limit (429 stays documented); the fuzzer sends thousands.
    rates = {
        "principal": "1000000/min",
        "auth": "1000000/min",
        "system_log": "1000000/min",
        "magic_link_address": "1000000/min",
        "magic_link_client": "1000000/min",
    }
    rest_framework = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    with django_db_blocker.unblock(), override_settings(REST_FRAMEWORK=rest_framework):
        org = OrganizationFactory(pk=ORG_ID, name="Fuzz")
        admin = MembershipFactory(organization=org, user=UserFactory(pk=ADMIN_ID), role=Role.ADMIN)
        UserFactory(pk=STAFF_ID, is_staff=True)
        ApiKey.objects.create(
            pk=API_KEY_ID,
            organization=org,
            name="fuzz",
            prefix="fuzzfuzz",
            key_hash=hash_secret(API_KEY),
            role=Role.ADMIN,
        )
        AuditLog.objects.create(organization=org, action="test.event")
        server = LiveServer("127.0.0.1")
        try:
            yield server, org, admin.user
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def loopback_only(monkeypatch):
    """Names resolve only for loopback: a fuzzed URL (a WAHA base URL) cannot make the hub connect anywhere else,
    until the egress policy (whatsapp_hub/egress.py) refuses such addresses itself."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (fuzz test: loopback only)")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# Operations whose credential check ran: Schemathesis' CLI probes a secured operation without (and with a wrong)
# credential once per run; in pytest it would after every 2xx, two more calls each.
AUTH_CHECKED: set[str] = set()


@SCHEMA.parametrize()
# One fake Meta and WAHA per operation, shared by its examples; a live server is slower than Hypothesis expects.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api(case, hub, fake_meta, fake_waha, loopback_only):
    server, org, admin = hub
    if Rows.operation != case.operation.label:
        Rows.operation, Rows.values = case.operation.label, _rows(case.path, org, admin, fake_meta)
    response = case.call(base_url=server.url)
    case.validate_response(response, excluded_checks=[ignored_auth] if case.operation.label in AUTH_CHECKED else [])
    if 200 <= response.status_code < 300:
        AUTH_CHECKED.add(case.operation.label)
