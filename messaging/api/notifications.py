"""The signed-in person's notifications (the bell) and notification preferences, in the organization of the
credential. Everyone in an organization has them (every role); an API key is nobody: 403."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsOrgMember, IsUser
from accounts.viewsets import TenantScopedMixin
from messaging.models import Notification
from messaging.selectors import notifications as selectors
from messaging.serializers.notifications import (
    NotificationListQuerySerializer,
    NotificationPreferencesSerializer,
    NotificationSerializer,
    ReadAllSerializer,
    UnreadCountSerializer,
)
from messaging.services import notifications as services
from whatsapp_hub.parsers import LimitedJSONParser
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not a person (API keys have no notifications)"),
        (404, "Not found"),
    ]
)


@extend_schema_view(
    list=extend_schema(
        parameters=[NotificationListQuerySerializer], responses={200: NotificationSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(responses={200: NotificationSerializer, **ERRORS}),
)
@extend_schema(tags=["notifications"])
class NotificationViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first (`page`, `page_size`; `unread=true`): conversations assigned to you, new
    messages in them, mentions in notes, your campaigns finishing, integrations failing. Live on the websocket as
    `notification.created`, to your own sockets only."""

    serializer_class = NotificationSerializer
    permission_classes = [IsOrgMember & IsUser]
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        unread = None
        if self.action == "list":
            params = NotificationListQuerySerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            unread = params.validated_data.get("unread")
        return selectors.notification_list(org=self.request.org, user_id=self.request.user.pk, unread=unread)

    @extend_schema(request=None, responses={200: NotificationSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request, pk=None):
        """Mark it read (again: no change)."""
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: ReadAllSerializer, **ERRORS})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark all your notifications in this organization read."""
        count = services.notifications_mark_all_read(organization=request.org, user=request.user)
        return Response({"read": count})

    @extend_schema(responses={200: UnreadCountSerializer, **ERRORS})
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        """How many of your notifications are unread (the bell's badge)."""
        return Response({"unread_count": selectors.notification_unread_count(org=request.org, user_id=request.user.pk)})


def preferences_data(preference, organization) -> dict:
    return {
        "channels": services.channels_of(preference),
        "quiet_start": preference.quiet_start.strftime("%H:%M") if preference and preference.quiet_start else None,
        "quiet_end": preference.quiet_end.strftime("%H:%M") if preference and preference.quiet_end else None,
        "time_zone": preference.time_zone if preference else "",
    }


class NotificationPreferencesView(KnownQueryParamsMixin, GenericAPIView):
    """Your notification preferences in this organization: each kind x channel (in_app, browser, email) on or off,
    and quiet hours (no browser pop-ups nor e-mails; the bell still records). PUT replaces the quiet hours and time
    zone and merges the channels given over the current ones."""

    permission_classes = [IsOrgMember & IsUser]
    serializer_class = NotificationPreferencesSerializer
    parser_classes = [LimitedJSONParser]

    @extend_schema(tags=["notifications"], responses={200: NotificationPreferencesSerializer, **ERRORS})
    def get(self, request):
        preference = selectors.notification_preference(org=request.org, user_id=request.user.pk)
        return Response(preferences_data(preference, request.org))

    @extend_schema(
        tags=["notifications"],
        request=NotificationPreferencesSerializer,
        responses={200: NotificationPreferencesSerializer, **ERRORS},
    )
    def put(self, request):
        serializer = NotificationPreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        preference = services.notification_preferences_update(
            organization=request.org,
            user=request.user,
            channels=data.get("channels"),
            quiet_start=data.get("quiet_start"),
            quiet_end=data.get("quiet_end"),
            time_zone=data.get("time_zone", ""),
        )
        return Response(preferences_data(preference, request.org), status=status.HTTP_200_OK)


router = Router()
router.register("notifications", NotificationViewSet, basename="notification")
urlpatterns = [
    api_path("notification-preferences", NotificationPreferencesView.as_view(), name="notification-preferences-api"),
    *router.urls,
]
