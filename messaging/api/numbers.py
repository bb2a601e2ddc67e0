"""WhatsApp numbers API: CRUD (soft delete), primary, assignment, settings/whatsapp, and WAHA sessions."""

from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsOrgMember
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from messaging.api.visibility import VisibleNumbersMixin
from messaging.models import Provider, WhatsAppNumber
from messaging.number_fields import NumberInputSerializer
from messaging.selectors import numbers as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.numbers import (
    AssignSerializer,
    NumberSerializer,
    NumberUpdateSerializer,
    PairingCodeInputSerializer,
    PairingCodeSerializer,
    SavedSerializer,
    WahaSessionSerializer,
    WhatsAppSettingsInputSerializer,
    WhatsAppSettingsSerializer,
)
from messaging.services import numbers as services
from messaging.services import waha_sessions
from whatsapp_hub.encryption import mask
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found"),
    ]
)
WAHA_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(DetailSerializer, description="The WAHA session is not in the state this needs"),
    502: OpenApiResponse(DetailSerializer, description="WAHA is unreachable or failed"),
}


class NumberFilter(filters.FilterSet):
    provider = filters.ChoiceFilter(choices=Provider.choices)
    status = filters.ChoiceFilter(choices=WhatsAppNumber.Status.choices)

    class Meta:
        model = WhatsAppNumber
        fields = ["provider", "status"]


@extend_schema_view(
    list=extend_schema(responses={200: NumberSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: NumberSerializer, **ERRORS}),
    create=extend_schema(request=NumberInputSerializer, responses={201: NumberSerializer, **ERRORS}),
    update=extend_schema(request=NumberUpdateSerializer, responses={200: NumberSerializer, **ERRORS}),
    partial_update=extend_schema(request=NumberUpdateSerializer, responses={200: NumberSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["numbers"])
class NumberViewSet(
    VisibleNumbersMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's WhatsApp numbers (Meta Cloud API, WAHA, sandbox).

    Every member may list and read the numbers they may see (admins: all; others: the unassigned numbers and those
    assigned to them or their teams; a non-admin API key: the unassigned ones): any other id answers 404. Admins
    connect, edit, assign and delete them and run WAHA sessions.
    Secrets are write-only and shown masked (`...abcd`), to admins only: agents and marketers see neither the
    masked secrets nor `waha_base_url` (the fields are absent). Deletion is soft: the number leaves the lists and
    its conversations stay readable. Each number shows the `webhook_url` to configure at its provider.
    """

    serializer_class = NumberSerializer
    filterset_class = NumberFilter
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = r"\d{1,18}"
    READ_ACTIONS = frozenset({"list", "retrieve"})

    def get_permissions(self):
        return [IsOrgMember() if self.action in self.READ_ACTIONS else IsAdmin()]

    selector = staticmethod(selectors.number_list)

    def perform_content_negotiation(self, request, force=False):
        # The QR answers PNG whatever the Accept header says; only its errors are JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "qr")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "admin": IsAdmin().has_permission(self.request, self)}

    def _input(self, *, partial: bool) -> dict:
        serializer = NumberInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request):
        number = services.number_create(organization=request.org, actor=request.user, **self._input(partial=False))
        return Response(self.get_serializer(number).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        """Change the fields given (PUT and PATCH alike), the number's own and those the apps built on messaging add
        (`bot_id`, `flow_id`: a bot and a flow of the organization, null to unset)."""
        serializer = NumberUpdateSerializer(data=self.request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        number = services.number_update(number=self.get_object(), actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(number).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk)

    def perform_destroy(self, instance):
        services.number_delete(number=instance, actor=self.request.user)

    @extend_schema(request=AssignSerializer, responses={200: NumberSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Who works this number: `{user_id, team_id}` (an active member, a team of the organization); the body is
        the whole assignment, so an omitted or null field clears it. Audited as number.assign."""
        number = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = services.number_assign(number=number, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(number).data)

    # --- WAHA sessions ---------------------------------------------------------------------------------

    @extend_schema(tags=["WAHA sessions"], responses={200: WahaSessionSerializer, **WAHA_ERRORS})
    @action(detail=True, methods=["get"])
    def session(self, request, pk=None):
        """The session's status as WAHA tells it now: STOPPED, STARTING, SCAN_QR_CODE, WORKING or FAILED."""
        return Response(WahaSessionSerializer(waha_sessions.waha_session_get(number=self.get_object())).data)

    @extend_schema(tags=["WAHA sessions"], request=None, responses={200: WahaSessionSerializer, **WAHA_ERRORS})
    @action(detail=True, methods=["post"], url_path="session/start", url_name="session-start")
    def session_start(self, request, pk=None):
        """Create the session on WAHA if missing (its webhook pointing here) and start it. Then scan the QR."""
        session = waha_sessions.waha_session_start(number=self.get_object(), actor=request.user)
        return Response(WahaSessionSerializer(session).data)

    @extend_schema(tags=["WAHA sessions"], request=None, responses={200: WahaSessionSerializer, **WAHA_ERRORS})
    @action(detail=True, methods=["post"], url_path="session/stop", url_name="session-stop")
    def session_stop(self, request, pk=None):
        session = waha_sessions.waha_session_stop(number=self.get_object(), actor=request.user)
        return Response(WahaSessionSerializer(session).data)

    @extend_schema(tags=["WAHA sessions"], request=None, responses={200: WahaSessionSerializer, **WAHA_ERRORS})
    @action(detail=True, methods=["post"], url_path="session/logout", url_name="session-logout")
    def session_logout(self, request, pk=None):
        """Unlink the phone; the next start asks for a new QR."""
        session = waha_sessions.waha_session_logout(number=self.get_object(), actor=request.user)
        return Response(WahaSessionSerializer(session).data)

    @extend_schema(
        tags=["WAHA sessions"],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The QR code to scan"),
            **WAHA_ERRORS,
        },
    )
    @action(detail=True, methods=["get"])
    def qr(self, request, pk=None):
        """The QR code to scan with WhatsApp (Linked devices), while the session is SCAN_QR_CODE (else 409)."""
        png = waha_sessions.waha_session_qr(number=self.get_object())
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        tags=["WAHA sessions"],
        request=PairingCodeInputSerializer,
        responses={200: PairingCodeSerializer, **WAHA_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="pairing-code", url_name="pairing-code")
    def pairing_code(self, request, pk=None):
        """A code to link the phone without scanning (WhatsApp: Linked devices, Link with phone number instead)."""
        number = self.get_object()
        serializer = PairingCodeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = waha_sessions.waha_pairing_code(
            number=number, phone_number=serializer.validated_data["phone_number"], actor=request.user
        )
        return Response(PairingCodeSerializer({"code": code}).data)


@extend_schema(tags=["numbers"])
class WhatsAppSettingsView(KnownQueryParamsMixin, GenericAPIView):
    """The primary Cloud API number's credentials, in the seed's shape. Members read (`masked_token`: admins
    only; to someone who may not see the primary number it reads as not configured); admins save."""

    serializer_class = WhatsAppSettingsSerializer

    def get_permissions(self):
        return [IsOrgMember() if self.request.method in ("GET", "HEAD", "OPTIONS") else IsAdmin()]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "admin": IsAdmin().has_permission(self.request, self)}

    @extend_schema(responses={200: WhatsAppSettingsSerializer, **ERRORS})
    def get(self, request):
        number = selectors.whatsapp_settings_number(org=request.org, number_ids=request_visible_numbers(request))
        body = {
            "configured": bool(number and number.access_token),
            "phone_number_id": number.phone_number_id if number else None,
            "waba_id": number.waba_id if number else None,
            "masked_token": mask(number.access_token) if number else None,
        }
        return Response(self.get_serializer(body).data)

    @extend_schema(request=WhatsAppSettingsInputSerializer, responses={200: SavedSerializer, **ERRORS})
    def post(self, request):
        """Creates the primary Cloud number, or updates it (`app_secret` omitted: unchanged)."""
        serializer = WhatsAppSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.whatsapp_settings_save(organization=request.org, actor=request.user, **serializer.validated_data)
        return Response(SavedSerializer({"status": "success", "message": "WhatsApp credentials saved"}).data)


router = Router()
router.register("numbers", NumberViewSet, basename="number")
urlpatterns = [
    *router.urls,
    api_path("settings/whatsapp", WhatsAppSettingsView.as_view(), name="settings-whatsapp"),
]
