"""Calls API: the WhatsApp calls of the numbers the caller may see (the inbox's rule, messaging/selectors/access.py),
as the providers' call webhooks reported them; a call of a hidden number answers 404 like another organization's."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from accounts.permissions import IsAgent
from accounts.viewsets import TenantScopedMixin
from messaging.api.visibility import VisibleNumbersMixin
from messaging.selectors import calls as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.calls import CallListQuerySerializer, CallSerializer
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed (agents and admins only)"),
        (404, "Not found"),
    ]
)


@extend_schema_view(
    list=extend_schema(parameters=[CallListQuerySerializer], responses={200: CallSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: CallSerializer, **ERRORS}),
)
@extend_schema(tags=["calls"])
class CallViewSet(
    VisibleNumbersMixin, TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """WhatsApp calls (agents and admins), newest first: `status` is ringing, answered, completed (with its
    `duration` in seconds), missed, rejected or failed; `direction` inbound (the customer called) or outbound.
    Filters: number, contact, conversation, direction, status, and the days `start_date`..`end_date` (both
    included)."""

    serializer_class = CallSerializer
    permission_classes = [IsAgent]
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    selector = staticmethod(selectors.call_list)

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        params = CallListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        return selectors.call_list(
            org=self.request.org,
            number_ids=request_visible_numbers(self.request),
            number_id=filters.get("number"),
            contact_id=filters.get("contact"),
            conversation_id=filters.get("conversation"),
            direction=filters.get("direction"),
            status=filters.get("status"),
            start_date=filters.get("start_date"),
            end_date=filters.get("end_date"),
        )


router = Router()
router.register("calls", CallViewSet, basename="call")
urlpatterns = router.urls
