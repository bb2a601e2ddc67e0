"""Campaigns API (the seed's shapes kept), and its `broadcasts/` aliases. Marketing and admins only; a campaign on a
number the caller may not see answers as another organization's (404)."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsMarketing
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from campaigns import selectors, services
from campaigns.models import Campaign, CampaignRecipient
from campaigns.serializers import (
    AudiencePreviewInputSerializer,
    AudiencePreviewSerializer,
    AudienceUploadResultSerializer,
    AudienceUploadSerializer,
    CampaignInputSerializer,
    CampaignSendResultSerializer,
    CampaignSendSerializer,
    CampaignSerializer,
    CampaignStartSerializer,
    RecipientLogSerializer,
)
from messaging.api.visibility import VisibleNumbersMixin
from messaging.selectors.access import request_visible_numbers
from messaging.services import contacts as contact_services
from whatsapp_hub.csv_export import csv_stream
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Not allowed"), (404, "Not found")]
)
CONFLICT = error_responses([(409, "Not in a status that allows it")])
LOG_COLUMNS = ["contact_number", "contact_name", "status", "message_id", "sent_at", "replied_at", "error_code", "error"]
EXPORT_CHUNK_SIZE = 2000


class CampaignFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Campaign.Status.choices)

    class Meta:
        model = Campaign
        fields = ["status"]


def _input_fields(data: dict) -> dict:
    """The service's keyword arguments from a validated input body (filters.tag -> tag)."""
    fields = dict(data)
    filters_ = fields.pop("filters", None)
    if filters_:
        fields["tag"] = filters_["tag"]
    return fields


@extend_schema_view(
    list=extend_schema(responses={200: CampaignSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: CampaignSerializer, **ERRORS}),
    create=extend_schema(request=CampaignInputSerializer, responses={201: CampaignSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=CampaignInputSerializer, responses={200: CampaignSerializer, **ERRORS, **CONFLICT}
    ),
    destroy=extend_schema(responses={204: None, **ERRORS, **CONFLICT}),
)
@extend_schema(tags=["campaigns"])
class CampaignViewSet(
    VisibleNumbersMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Broadcast campaigns: a template from one number to an audience (chosen contacts, a tag, a CSV of numbers, or
    all contacts), with values per placeholder, now or at `scheduled_at` (UTC unless the time has an offset), paced
    to the number's throughput. GET shows the counters (total, sent, delivered, read, replied, failed, skipped);
    progress is also pushed on the live socket as `campaign.updated`.

    A draft or scheduled campaign can be changed (PATCH), started, or deleted; a running one paused or cancelled (a
    pause or cancel takes effect within a second); a paused one resumed. Starting freezes the audience (opted-out
    contacts, impossible or repeated numbers, and contacts without a required value are skipped, with the reason in
    the log) and checks the number's messaging limit (409, unless `allow_partial`). Delete is refused while running.
    """

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [IsMarketing]
    selector = staticmethod(selectors.campaign_list)

    def _input(self, serializer_class=CampaignInputSerializer, *, partial: bool = False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return _input_fields(serializer.validated_data)

    def _shown(self, campaign: Campaign, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data, status=status_code)

    def create(self, request):
        campaign = services.campaign_create(
            organization=request.org,
            actor=request.user,
            number_ids=request_visible_numbers(request),
            **self._input(),
        )
        return self._shown(campaign, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        campaign = services.campaign_update(
            campaign=self.get_object(),
            actor=request.user,
            number_ids=request_visible_numbers(request),
            **self._input(partial=True),
        )
        return self._shown(campaign)

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance, actor=self.request.user)

    @extend_schema(request=CampaignSendSerializer, responses={200: CampaignSendResultSerializer, **ERRORS, **CONFLICT})
    @action(detail=False, methods=["post"])
    def send(self, request):
        """The seed's one call: create the campaign and start it now, or schedule it (`scheduled_at`). A refused
        start (the messaging limit: 409) leaves no campaign."""
        campaign = services.campaign_send(
            organization=request.org,
            actor=request.user,
            number_ids=request_visible_numbers(request),
            **self._input(CampaignSendSerializer),
        )
        message = {
            Campaign.Status.SCHEDULED: gettext("Campaign scheduled"),
            Campaign.Status.COMPLETED: gettext("Campaign completed: nobody in the audience to send to"),
        }.get(campaign.status, gettext("Campaign started in background"))
        body = {"status": "success", "campaign_id": campaign.pk, "campaign_status": campaign.status, "message": message}
        return Response(CampaignSendResultSerializer(body).data)

    @extend_schema(request=AudiencePreviewInputSerializer, responses={200: AudiencePreviewSerializer, **ERRORS})
    @action(detail=False, methods=["post"], url_path="audience-preview", url_name="audience-preview")
    def audience_preview(self, request):
        """What a campaign with this body would do, before it exists: the audience's size, how many it would be
        sent to, the skipped ones by reason, and a few messages as they would read. Nothing is stored."""
        fields = self._input(AudiencePreviewInputSerializer)
        campaign = services.campaign_draft(
            organization=request.org, number_ids=request_visible_numbers(request), **fields
        )
        return Response(AudiencePreviewSerializer(selectors.audience_preview(campaign=campaign)).data)

    def _move(self, service, **kwargs) -> Response:
        return self._shown(service(campaign=self.get_object(), actor=self.request.user, **kwargs))

    @extend_schema(request=CampaignStartSerializer, responses={200: CampaignSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start a draft or scheduled campaign now."""
        serializer = CampaignStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._move(services.campaign_start, **serializer.validated_data)

    @extend_schema(request=None, responses={200: CampaignSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause a running campaign (within a second)."""
        return self._move(services.campaign_pause)

    @extend_schema(request=None, responses={200: CampaignSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Run a paused campaign again."""
        return self._move(services.campaign_resume)

    @extend_schema(request=None, responses={200: CampaignSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a campaign that has not finished: its recipients not sent to are skipped."""
        return self._move(services.campaign_cancel)

    @extend_schema(
        request={"multipart/form-data": AudienceUploadSerializer},
        responses={
            200: AudienceUploadResultSerializer,
            413: OpenApiResponse(DetailSerializer, description="File too large"),
            **ERRORS,
            **CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def audience(self, request, pk=None):
        """A CSV of numbers as the audience of a draft or scheduled campaign: multipart `file` with a `number` (or
        `phone`) column (`name` and `tags` optional). New numbers become contacts; impossible ones are reported by
        row."""
        campaign = self.get_object()
        length = request.META.get("CONTENT_LENGTH", "")
        contact_services.contact_import_size_check(size=int(length) if length.isdigit() else None)
        serializer = AudienceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.campaign_audience_upload(
            campaign=campaign, file=serializer.validated_data["file"], actor=request.user
        )
        body = {
            "total_rows": result.total_rows,
            "contacts": len(result.contact_ids),
            "imported": result.imported,
            "skipped": result.skipped,
            "errors": result.errors,
        }
        return Response(AudienceUploadResultSerializer(body).data)


class BroadcastViewSet(CampaignViewSet):
    """The seed's `broadcasts/`: the same campaigns, with `POST broadcasts/{id}/send` to start one."""

    @extend_schema(
        operation_id="broadcasts_start_send",
        request=CampaignStartSerializer,
        responses={200: CampaignSerializer, **ERRORS, **CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="send", url_name="start-send")
    def send_broadcast(self, request, pk=None):
        """Start a draft or scheduled broadcast now (campaigns/{id}/start)."""
        return self.start(request, pk)


class RecipientFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CampaignRecipient.Status.choices)

    class Meta:
        model = CampaignRecipient
        fields = ["status"]


@extend_schema(tags=["campaigns"], responses={200: RecipientLogSerializer(many=True), **ERRORS})
class CampaignLogView(VisibleNumbersMixin, TenantScopedMixin, generics.ListAPIView):
    """A campaign's log: one line per recipient (`contact_number, contact_name, status, message_id` (WhatsApp's),
    `sent_at, error`), in the order they were frozen; filter by status."""

    serializer_class = RecipientLogSerializer
    filterset_class = RecipientFilter
    filter_backends = [filters.DjangoFilterBackend]
    permission_classes = [IsMarketing]

    def campaign(self) -> Campaign:
        return generics.get_object_or_404(
            selectors.campaign_list(org=self.request.org, **self.selector_kwargs()), pk=self.kwargs["pk"]
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CampaignRecipient.objects.none()
        return selectors.recipient_log(campaign=self.campaign())


@extend_schema(
    tags=["campaigns"],
    responses={
        (200, "text/csv"): OpenApiResponse(description=", ".join(LOG_COLUMNS)),
        **ERRORS,
    },
)
class CampaignLogExportView(CampaignLogView):
    """The log (same filter) as a CSV attachment, streamed."""

    pagination_class = None

    def perform_content_negotiation(self, request, force=False):
        # The export answers CSV whatever the Accept header says; only its errors are JSON.
        return super().perform_content_negotiation(request, force=True)

    def list(self, request, *args, **kwargs):
        recipients = self.filter_queryset(self.get_queryset()).iterator(chunk_size=EXPORT_CHUNK_SIZE)
        rows = (
            (
                recipient.phone,
                recipient.contact.display_name,
                recipient.status,
                recipient.message.provider_message_id or "" if recipient.message else "",
                recipient.sent_at.isoformat() if recipient.sent_at else "",
                recipient.replied_at.isoformat() if recipient.replied_at else "",
                "" if recipient.error_code is None else str(recipient.error_code),
                recipient.error_title,
            )
            for recipient in recipients
        )
        response = StreamingHttpResponse(csv_stream(LOG_COLUMNS, rows), content_type="text/csv; charset=utf-8")
        name = f"campaign-{self.kwargs['pk']}-log-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


router = Router()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
urlpatterns = [
    *router.urls,
    api_path(r"campaigns/(?P<pk>\d{1,18})/logs", CampaignLogView.as_view(), name="campaign-logs"),
    api_path(r"campaigns/(?P<pk>\d{1,18})/logs/export", CampaignLogExportView.as_view(), name="campaign-logs-export"),
    api_path(r"broadcasts/(?P<pk>\d{1,18})/logs", CampaignLogView.as_view(), name="broadcast-logs"),
]
