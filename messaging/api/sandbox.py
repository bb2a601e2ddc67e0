"""The sandbox simulator: play the customer of a sandbox number and watch the message arrive in the inbox."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAgent
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.sandbox import SandboxInboundResultSerializer, SandboxInboundSerializer
from messaging.services import sandbox as services
from whatsapp_hub.routers import api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input, not a sandbox number, or no sandbox number to default to ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed (agents and admins only)"),
    ]
)


class SandboxInboundView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        tags=["sandbox"],
        request=SandboxInboundSerializer,
        responses={202: SandboxInboundResultSerializer, **ERRORS},
    )
    def post(self, request):
        """Simulate a customer writing to a sandbox number (no WhatsApp needed): the hub stores the webhook Meta
        would post for that message and ingests it like a real one, so it shows up in GET conversations, the
        conversation's messages and the live inbox a moment later (at once in the embedded default). Only
        sandbox numbers the caller may see: a Cloud API or WhatsApp Web number's customers write from WhatsApp."""
        serializer = SandboxInboundSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        number, provider_message_id = services.sandbox_inbound_simulate(
            organization=request.org,
            number_id=data["number_id"],
            phone=data["phone"],
            part=data["part"],
            profile_name=data["profile_name"],
            reply_to_id=data["reply_to_id"],
            reaction_to_id=data["reaction_to_id"],
            number_ids=request_visible_numbers(request),
        )
        body = SandboxInboundResultSerializer({"provider_message_id": provider_message_id, "number_id": number.pk})
        return Response(body.data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [api_path("sandbox/inbound", SandboxInboundView.as_view(), name="sandbox-inbound")]
