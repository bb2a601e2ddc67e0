"""Canned responses API: CRUD and search; read with `conversation_id` to get each text filled in for that
conversation (its contact, and the caller as the agent)."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from accounts.models import Role
from accounts.permissions import IsAdmin, IsOrgMember
from accounts.viewsets import TenantScopedMixin
from messaging.models import CannedResponse
from messaging.selectors import canned as selectors
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.conversations import conversation_list
from messaging.serializers.canned import (
    CannedResponseInputSerializer,
    CannedResponseListQuerySerializer,
    CannedResponseQuerySerializer,
    CannedResponseSerializer,
)
from messaging.services import canned as services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed (writes: admins only; conversation_id: agents and admins)"),
        (404, "Not found"),
    ]
)
INBOX_ROLES = frozenset({Role.ADMIN, Role.AGENT})


@extend_schema_view(
    list=extend_schema(
        parameters=[CannedResponseListQuerySerializer],
        responses={200: CannedResponseSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        parameters=[CannedResponseQuerySerializer], responses={200: CannedResponseSerializer, **ERRORS}
    ),
    create=extend_schema(request=CannedResponseInputSerializer, responses={201: CannedResponseSerializer, **ERRORS}),
    update=extend_schema(request=CannedResponseInputSerializer, responses={200: CannedResponseSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=CannedResponseInputSerializer, responses={200: CannedResponseSerializer, **ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["canned responses"])
class CannedResponseViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """The organization's canned responses: snippets agents insert by typing `/shortcut` in the inbox's composer.

    Roles: every member reads them (agents use them in the inbox); admins create, edit and delete them, since one
    edit changes what every agent sends to customers. PUT and PATCH both change only the fields sent. With
    `conversation_id` (agents and admins, a conversation they may see), each response's `rendered_text` is its text
    with the placeholders filled in for that conversation's contact and the caller; a response with an
    `attachment` is sent as that media message with the rendered text as its caption.
    """

    serializer_class = CannedResponseSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    selector = staticmethod(selectors.canned_response_list)

    def get_permissions(self):
        allowed = IsOrgMember if self.action in ("list", "retrieve") else IsAdmin
        return [allowed()]

    def _renderer(self, conversation_id: int | None) -> Callable[[str], str] | None:
        """Fills a text in for the conversation `conversation_id` (one the caller may see), or None without one."""
        if conversation_id is None:
            return None
        request = self.request
        if request.role not in INBOX_ROLES:
            raise ServiceError(
                "conversation_id: conversations are for agents and admins.", status_code=403, code="permission_denied"
            )
        conversations = conversation_list(org=request.org, number_ids=request_visible_numbers(request))
        conversation = conversations.filter(pk=conversation_id).first()
        if conversation is None:
            message = "No such conversation in this organization."
            raise ServiceError(message, errors={"conversation_id": [message]})
        contact, agent = conversation.contact, request.user

        def render(text: str) -> str:
            return services.canned_text_render(text=text, contact=contact, agent=agent)

        return render

    def _query(self, serializer_class) -> dict:
        params = serializer_class(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return params.validated_data

    def list(self, request):
        query = self._query(CannedResponseListQuerySerializer)
        render = self._renderer(query.get("conversation_id"))
        page = self.paginate_queryset(selectors.canned_response_list(org=request.org, search=query.get("q")))
        context = {**self.get_serializer_context(), "render": render}
        return self.get_paginated_response(CannedResponseSerializer(page, many=True, context=context).data)

    def retrieve(self, request, pk=None):
        render = self._renderer(self._query(CannedResponseQuerySerializer).get("conversation_id"))
        context = {**self.get_serializer_context(), "render": render}
        return Response(CannedResponseSerializer(self.get_object(), context=context).data)

    def _input(self, *, partial: bool) -> dict:
        serializer = CannedResponseInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, canned: CannedResponse) -> dict:
        return CannedResponseSerializer(
            self.get_queryset().get(pk=canned.pk), context=self.get_serializer_context()
        ).data

    def create(self, request):
        canned = services.canned_response_create(
            organization=request.org, actor=request.user, **self._input(partial=False)
        )
        return Response(self._shown(canned), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        canned = services.canned_response_update(
            canned_response=self.get_object(), actor=request.user, **self._input(partial=True)
        )
        return Response(self._shown(canned))

    def perform_destroy(self, instance):
        services.canned_response_delete(canned_response=instance, actor=self.request.user)


router = Router()
router.register("canned-responses", CannedResponseViewSet, basename="canned-response")
urlpatterns = router.urls
