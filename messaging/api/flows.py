"""WhatsApp Flows API (`whatsapp-flows/`; `flows/` is automation's): list, create, read, change a draft (name,
categories, Flow JSON), publish, deprecate, delete a draft, the preview link, and the responses customers submitted
(JSON pages, or every one as CSV)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsMarketing, IsOrgMember
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from messaging.api.dashboard import csv_response
from messaging.api.visibility import VisibleNumbersMixin
from messaging.selectors import flows as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.flows import (
    FlowPreviewSerializer,
    FlowResponsePageSerializer,
    FlowResponseSerializer,
    FlowResponsesQuerySerializer,
    WhatsAppFlowCreateSerializer,
    WhatsAppFlowSerializer,
    WhatsAppFlowUpdateSerializer,
)
from messaging.services import flows as services
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors}); Meta's validation errors of the Flow JSON under errors.flow_json"),
        (401, "Not authenticated"),
        (403, "Not allowed (changes: marketing and admins)"),
        (404, "Not found"),
    ]
)
META_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(DetailSerializer, description="Not in a status that allows it (e.g. only drafts change)"),
    502: OpenApiResponse(DetailSerializer, description="Meta did not answer: nothing changed, try again"),
}
CSV_EXPORT_CHUNK = 500


@extend_schema_view(
    list=extend_schema(responses={200: WhatsAppFlowSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: WhatsAppFlowSerializer, **ERRORS}),
    create=extend_schema(request=WhatsAppFlowCreateSerializer, responses={201: WhatsAppFlowSerializer, **META_ERRORS}),
    partial_update=extend_schema(
        request=WhatsAppFlowUpdateSerializer, responses={200: WhatsAppFlowSerializer, **META_ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **META_ERRORS}),
)
@extend_schema(tags=["whatsapp flows"])
class WhatsAppFlowViewSet(
    VisibleNumbersMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """WhatsApp Flows: Meta's interactive forms (sign-up, booking, survey...) a customer fills in inside WhatsApp.

    A flow belongs to a number's WhatsApp Business Account and starts as a DRAFT: upload its Flow JSON (Meta checks
    it; the errors it finds are kept on the flow and answered as a 400 naming them), publish it, then send it from a
    conversation (`POST conversations/{id}/messages` with `type: flow`), an automation flow or a template's FLOW
    button. Published flows are final: deprecate one to stop its sends. Only drafts are deleted. What customers
    submit arrives as `nfm_reply` messages and is listed under `responses` (`?format=csv`: all of them, a column per
    field). Every member reads flows (agents send them); marketing and admins change them. A flow is its
    number's: a number hidden from someone hides its flows.
    """

    serializer_class = WhatsAppFlowSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    selector = staticmethod(selectors.flow_list)

    def get_permissions(self):
        return [IsOrgMember() if self.action in ("list", "retrieve") else IsMarketing()]

    def perform_content_negotiation(self, request, force=False):
        # `?format=csv` names the export, not one of DRF's renderers.
        return super().perform_content_negotiation(request, force=force or self.action == "responses")

    def _shown(self, flow, status_code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=flow.pk)).data, status=status_code)

    def create(self, request):
        serializer = WhatsAppFlowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        flow = services.flow_create(
            organization=request.org,
            actor=request.user,
            name=data["name"],
            categories=data["categories"],
            flow_json=data.get("flow_json"),
            number_id=data.get("number_id"),
            number_ids=request_visible_numbers(request),
        )
        return self._shown(flow, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        serializer = WhatsAppFlowUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flow = services.flow_update(flow=self.get_object(), actor=request.user, **serializer.validated_data)
        return self._shown(flow)

    def perform_destroy(self, instance):
        services.flow_delete(flow=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: WhatsAppFlowSerializer, **META_ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish a draft whose Flow JSON has no errors: it can be sent to anyone, and no longer changed."""
        return self._shown(services.flow_publish(flow=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses={200: WhatsAppFlowSerializer, **META_ERRORS})
    @action(detail=True, methods=["post"])
    def deprecate(self, request, pk=None):
        """Deprecate a published flow: it can no longer be sent."""
        return self._shown(services.flow_deprecate(flow=self.get_object(), actor=request.user))

    @extend_schema(responses={200: FlowPreviewSerializer, **META_ERRORS})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """Meta's preview link of the flow (valid for a while; kept until it nearly expires)."""
        flow = services.flow_preview(flow=self.get_object())
        return Response(
            FlowPreviewSerializer({"preview_url": flow.preview_url, "expires_at": flow.preview_expires_at}).data
        )

    @extend_schema(
        parameters=[FlowResponsesQuerySerializer],
        responses={
            (200, "application/json"): FlowResponsePageSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="received_at, contact, phone, then a column per field any response has"
            ),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["get"])
    def responses(self, request, pk=None):
        """What customers submitted in this flow, newest first; `?format=csv` downloads them all."""
        query = FlowResponsesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        flow = self.get_object()
        rows = selectors.flow_response_list(org=request.org, flow=flow)
        if query.validated_data.get("format") == "csv":
            return flow_responses_csv(list(rows.iterator(chunk_size=CSV_EXPORT_CHUNK)), flow_id=flow.pk)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(FlowResponseSerializer(page, many=True).data)


def flow_responses_csv(responses, *, flow_id: int):
    """The responses as a CSV attachment (selectors.response_table's columns), every cell formula-neutralised
    (whatsapp_hub.csv_export)."""
    columns, rows = selectors.response_table(responses)
    return csv_response(filename=f"flow-{flow_id}-responses", columns=columns, rows=rows)


router = Router()
router.register("whatsapp-flows", WhatsAppFlowViewSet, basename="whatsapp-flow")
urlpatterns = router.urls
