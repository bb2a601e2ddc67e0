"""Outbound webhooks API (admins): endpoints (the seed's `{url, events, secret}` and more), their secret's rotation,
a test ping, the delivery log and redelivery. The API shapes are here (an area of automation, one module)."""

from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from accounts.viewsets import TenantScopedMixin
from automation import events
from automation.models import WebhookDelivery, WebhookEndpoint
from automation.models.webhooks import URL_MAX_LENGTH
from automation.selectors import webhooks as selectors
from automation.services import webhooks as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import StrictSerializer

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Admins only"), (404, "Not found")]
)
CONFLICT = error_responses([(409, "Not possible now (the endpoint is inactive, or the delivery is in progress)")])
EVENT_CHOICES = list(events.EVENT_TYPES)


# --- shapes -----------------------------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))
    secret_masked = serializers.CharField(
        read_only=True, help_text="The secret's last 4 characters ('...abcd'); it is shown whole once only"
    )
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    last_delivery_status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices, read_only=True, allow_null=True, default=None
    )
    last_delivery_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "active",
            "secret_masked",
            "previous_secret_expires_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_delivery_status",
            "last_delivery_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "previous_secret_expires_at": {"help_text": "While set, the previous secret signs too (a rotation)"},
            "disabled_at": {"help_text": "When it was disabled for failing (null: it was not)"},
            "consecutive_failures": {"help_text": "Failed attempts since its last success"},
            "failing_since": {"help_text": "The first of those failed attempts"},
        }


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown in this response only")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(StrictSerializer):
    url = serializers.CharField(
        max_length=URL_MAX_LENGTH, help_text="http(s) URL on a public address (the hub refuses private ones)"
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES), allow_empty=False, max_length=len(EVENT_CHOICES) * 2
    )
    secret = serializers.CharField(
        required=False,
        min_length=services.SECRET_MIN_LENGTH,
        max_length=services.SECRET_MAX_LENGTH,
        help_text="Optional (create only): your own signing secret; one is generated when absent",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    active = serializers.BooleanField(required=False)


class WebhookEndpointUpdateSerializer(WebhookEndpointInputSerializer):
    secret = None  # changed by rotate-secret only


class RotateSecretInputSerializer(StrictSerializer):
    secret = serializers.CharField(
        required=False,
        min_length=services.SECRET_MIN_LENGTH,
        max_length=services.SECRET_MAX_LENGTH,
        help_text="Optional: the new secret; one is generated when absent",
    )
    grace_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=services.ROTATION_GRACE_MAX_HOURS,
        help_text="How long the previous secret keeps signing beside the new one (default 24; 0: stop at once)",
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint_id = serializers.IntegerField(read_only=True)
    error = serializers.SerializerMethodField(help_text="Why the last attempt failed, in words safe to show")
    redelivery_of = serializers.IntegerField(source="redelivery_of_id", read_only=True, allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "response_status",
            "latency_ms",
            "response_excerpt",
            "error_code",
            "error",
            "payload",
            "redelivery_of",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "response_excerpt": {"help_text": "The start of the last answer's body (at most 500 characters)"},
            "payload": {"help_text": "The JSON body sent: {id, type, created_at, organization_id, data}"},
        }

    def get_error(self, delivery: WebhookDelivery) -> str:
        return services.error_message(delivery)


# --- endpoints ---------------------------------------------------------------------------------------------------


def _input(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(responses={200: WebhookEndpointSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: WebhookEndpointSerializer, **ERRORS}),
    create=extend_schema(
        request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointCreatedSerializer, **ERRORS}
    ),
    update=extend_schema(request=WebhookEndpointUpdateSerializer, responses={200: WebhookEndpointSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=WebhookEndpointUpdateSerializer, responses={200: WebhookEndpointSerializer, **ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["webhooks"])
class WebhookViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Outbound webhooks (admins): URLs of yours that receive the organization's events as they happen.

    Each event is POSTed as JSON `{id, type, created_at, organization_id, data}`, signed in `X-Webhook-Signature:
    t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint's secret>` (two v1 during a secret
    rotation). A 2xx answer is a delivery; anything else is retried with backoff (8 attempts over about 22 hours).
    An endpoint whose attempts all fail for a day is disabled, and the admins are e-mailed. The secret is returned
    once, on creation (and by rotate-secret); the URL must be http(s) on a public address.
    """

    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdmin]
    lookup_value_regex = r"\d{1,18}"
    filter_backends: list = []
    selector = staticmethod(selectors.webhook_endpoint_list)

    def _shown(self, endpoint: WebhookEndpoint, serializer_class=WebhookEndpointSerializer, **extra) -> dict:
        shown = self.get_queryset().get(pk=endpoint.pk)
        for name, value in extra.items():
            setattr(shown, name, value)
        return serializer_class(shown).data

    def create(self, request):
        endpoint, secret = services.webhook_endpoint_create(
            organization=request.org, actor=request.user, **_input(WebhookEndpointInputSerializer, request.data)
        )
        body = self._shown(endpoint, WebhookEndpointCreatedSerializer, secret=secret)
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial: bool = False):
        endpoint = self.get_object()  # another organization's is a 404 whatever the body
        fields = _input(WebhookEndpointUpdateSerializer, request.data, partial=partial)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, actor=request.user, **fields)
        return Response(self._shown(endpoint))

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        services.webhook_endpoint_delete(endpoint=instance, actor=self.request.user)

    @extend_schema(request=RotateSecretInputSerializer, responses={200: WebhookEndpointCreatedSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, returned in this response only. The previous one keeps signing beside it (a second
        `v1=` in the signature) for `grace_hours` (24 by default), so your receiver can switch without refusing a
        delivery."""
        endpoint = self.get_object()
        fields = _input(RotateSecretInputSerializer, request.data)
        endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user, **fields)
        return Response(self._shown(endpoint, WebhookEndpointCreatedSerializer, secret=secret))

    @extend_schema(request=None, responses={200: WebhookDeliverySerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send the endpoint a `ping` event now (even when it is inactive) and answer how it went: the delivery,
        with the endpoint's status code, latency and an excerpt of its answer, or the error. A ping is tried once."""
        delivery = services.webhook_endpoint_test(endpoint=self.get_object(), actor=request.user)
        return Response(WebhookDeliverySerializer(delivery).data)


# --- deliveries --------------------------------------------------------------------------------------------------


class DeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event = filters.ChoiceFilter(field_name="event_type", choices=[(name, name) for name in [*EVENT_CHOICES, "ping"]])

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event"]


def _endpoint_or_404(request, pk) -> WebhookEndpoint:
    return generics.get_object_or_404(selectors.webhook_endpoint_list(org=request.org), pk=pk)


@extend_schema(tags=["webhooks"], responses={200: WebhookDeliverySerializer(many=True), **ERRORS})
class WebhookDeliveryListView(TenantScopedMixin, generics.ListAPIView):
    """An endpoint's delivery log, newest first: each event sent to it (and each test ping and redelivery), its
    status (`pending`, `retrying`, `succeeded`, `failed`), attempts, the last answer's status code, latency and an
    excerpt, or the error. Filter by `status` and `event` (type)."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter
    filter_backends = [filters.DjangoFilterBackend]
    permission_classes = [IsAdmin]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = _endpoint_or_404(self.request, self.kwargs["pk"])
        return selectors.webhook_delivery_list(org=self.request.org, endpoint=endpoint)


@extend_schema(tags=["webhooks"], request=None, responses={202: WebhookDeliverySerializer, **ERRORS, **CONFLICT})
class WebhookRedeliverView(APIView):
    """Deliver a finished delivery's event again: a new delivery with the same event id and body (receivers that
    deduplicate on the id see it once), queued now with the usual retries. 409 while the delivery is still being
    attempted, or when the endpoint is inactive."""

    permission_classes = [IsAdmin]
    serializer_class = WebhookDeliverySerializer

    def post(self, request, pk, delivery_id):
        endpoint = _endpoint_or_404(request, pk)
        delivery = selectors.webhook_delivery_list(org=request.org, endpoint=endpoint).filter(pk=delivery_id).first()
        if delivery is None:
            raise ServiceError(gettext("No such delivery."), status_code=404, code="not_found")
        delivery.endpoint = endpoint
        again = services.webhook_delivery_redeliver(delivery=delivery, actor=request.user)
        again.refresh_from_db()
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)


router = Router()
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = [
    *router.urls,
    api_path(r"webhooks/(?P<pk>\d{1,18})/deliveries", WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
    api_path(
        r"webhooks/(?P<pk>\d{1,18})/deliveries/(?P<delivery_id>\d{1,18})/redeliver",
        WebhookRedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
