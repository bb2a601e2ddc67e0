"""Integrations API (admins): `settings/integrations`, each integration's state with its last success and last error
(the hub's words, never what a service answered), and `settings/integrations/{key}/test`, a real check now."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.integration_models import IntegrationKind
from accounts.permissions import IsAdmin
from automation.selectors import integrations as selectors
from automation.services import integrations as services
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses([(401, "Not authenticated"), (403, "Admins only")])
TEST_ERRORS = error_responses(
    [
        (400, "Nothing to test (not configured)"),
        (401, "Not authenticated"),
        (403, "Admins only"),
        (404, "No such integration"),
        (429, "Tested a moment ago (Retry-After)"),
    ]
)
KEY_PATTERN = r"(?P<key>[a-z_]{1,20}(?:-[0-9]{1,18})?)"


class FactSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class IntegrationSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="'whatsapp_number-12', 'webhook-3', 'llm', 'embeddings', 'google', 'email'")
    kind = serializers.ChoiceField(choices=IntegrationKind.choices)
    name = serializers.CharField()
    state = serializers.ChoiceField(
        choices=selectors.STATES,
        help_text="ok, failing, not_configured, off (a webhook switched off), unknown (configured, not used yet)",
    )
    state_label = serializers.CharField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(help_text="Why it is failing, in the hub's words; blank unless failing")
    facts = FactSerializer(many=True, help_text="e.g. the quality rating, the messaging limit, the model")
    fix_url = serializers.CharField(help_text="The page where it is set up; blank when the hub's operator sets it")
    test_url = serializers.CharField(allow_null=True, help_text="POST here to test it now; null: nothing to test")


class IntegrationListSerializer(serializers.Serializer):
    integrations = IntegrationSerializer(many=True)


def integration_body(card: selectors.Integration, request) -> dict:
    testable = card.testable and card.state != selectors.NOT_CONFIGURED
    return {
        "key": card.key,
        "kind": card.kind,
        "name": card.name,
        "state": card.state,
        "state_label": card.state_label,
        "last_success_at": card.last_success_at,
        "last_error_at": card.last_error_at,
        "last_error": card.last_error,
        "facts": [{"label": fact.label, "value": fact.value} for fact in card.facts],
        "fix_url": card.fix_url,
        "test_url": reverse("settings-integration-test", kwargs={"key": card.key}, request=request)
        if testable
        else None,
    }


@extend_schema(tags=["Integrations"])
class IntegrationListView(KnownQueryParamsMixin, GenericAPIView):
    """Every integration of the organization: its WhatsApp numbers (Meta connection with quality rating and
    messaging limit, or WAHA session), the AI provider and embeddings, outbound webhooks, Google sign-in and e-mail;
    each with its state, last success and last error. Admins only."""

    permission_classes = [IsAdmin]
    serializer_class = IntegrationListSerializer

    @extend_schema(responses={200: IntegrationListSerializer, **ERRORS})
    def get(self, request):
        cards = selectors.integration_list(org=request.org)
        return Response(IntegrationListSerializer({"integrations": [integration_body(c, request) for c in cards]}).data)


@extend_schema(tags=["Integrations"])
class IntegrationTestView(GenericAPIView):
    """Test the integration now through its own client (a number: Meta's Graph API or the WAHA session; the AI
    provider: a one-token completion; embeddings: one text; a webhook: a signed ping; Google: its key set; e-mail: a
    test e-mail to you) and answer its new state. One test per integration per 10 seconds. Admins only."""

    permission_classes = [IsAdmin]
    serializer_class = IntegrationSerializer

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH, description="The integration's key")],
        responses={200: IntegrationSerializer, **TEST_ERRORS},
    )
    def post(self, request, key: str):
        card = services.integration_test(org=request.org, key=key, actor=request.user)
        return Response(IntegrationSerializer(integration_body(card, request)).data)


urlpatterns = [
    api_path("settings/integrations", IntegrationListView.as_view(), name="settings-integrations"),
    api_path(
        rf"settings/integrations/{KEY_PATTERN}/test",
        IntegrationTestView.as_view(),
        name="settings-integration-test",
    ),
]
