"""Inbox embeds API (admins): list, read, create (the answer holds the iframe URL), revoke, delete."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from accounts.viewsets import TenantScopedMixin
from messaging.selectors import embeds as selectors
from messaging.serializers.embeds import InboxEmbedInputSerializer, InboxEmbedSerializer
from messaging.services import embeds as services
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Admins only"), (404, "Not found")]
)


@extend_schema_view(
    list=extend_schema(responses={200: InboxEmbedSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: InboxEmbedSerializer, **ERRORS}),
    create=extend_schema(request=InboxEmbedInputSerializer, responses={201: InboxEmbedSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["inbox embeds"])
class InboxEmbedViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's inbox embeds: the inbox limited to some numbers and/or teams, read only or able to reply,
    for another site (a CRM, a helpdesk) to show in an iframe at `url`. Only `allowed_origins` may frame it; revoking
    it (or its expiry) ends every open embed at its next request. Admins only."""

    permission_classes = [IsAdmin]
    serializer_class = InboxEmbedSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.embed_list)

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _shown(self, embed) -> dict:
        return InboxEmbedSerializer(self.get_queryset().get(pk=embed.pk), context=self.get_serializer_context()).data

    def create(self, request):
        data = InboxEmbedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        embed = services.embed_create(organization=request.org, actor=request.user, **data.validated_data)
        return Response(self._shown(embed), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: InboxEmbedSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        embed = services.embed_revoke(embed=self.get_object(), actor=request.user)
        return Response(self._shown(embed))

    def perform_destroy(self, instance):
        services.embed_delete(embed=instance, actor=self.request.user)


router = Router()
router.register("embeds", InboxEmbedViewSet, basename="inbox-embed")
urlpatterns = router.urls
