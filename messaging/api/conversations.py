"""Inbox API: conversations (list, detail, assignment), their messages (read, send), read receipts, opening a
conversation with a template, messages across conversations (list, send to a phone), message search, and media
(upload, metadata, authenticated download).

Everything here is read through the numbers the caller may see (messaging/selectors/access.py): a conversation,
message or file of a hidden number answers 404 like another organization's, and a hidden number_id is a 400.
"""

from collections.abc import Mapping

from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAgent
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from messaging.api.visibility import VisibleNumbersMixin
from messaging.media_links import media_file_response, media_share_link
from messaging.message_parts import MessageSendSerializer
from messaging.models import Contact, Conversation, Media, Message
from messaging.selectors import conversations as selectors
from messaging.selectors import notes as note_selectors
from messaging.selectors.access import request_visible_numbers
from messaging.serializers.conversations import (
    ConversationListQuerySerializer,
    ConversationSerializer,
    ConversationStartResultSerializer,
    ConversationStartSerializer,
    ConversationUpdateSerializer,
    MediaItemSerializer,
    MediaListQuerySerializer,
    MediaSerializer,
    MediaShareLinkSerializer,
    MediaStorageSerializer,
    MediaUploadSerializer,
    MessageAddressSerializer,
    MessageListQuerySerializer,
    MessageSearchQuerySerializer,
    MessageSearchResultSerializer,
    MessageSerializer,
    MessageToPhoneSerializer,
    MessageWithContactSerializer,
)
from messaging.serializers.notes import ConversationMemberSerializer, NoteCreateSerializer, NoteSerializer
from messaging.services import conversations as services
from messaging.services import media as media_services
from messaging.services import notes as note_services
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.pagination import KeysetPagination
from whatsapp_hub.parsers import LimitedJSONParser
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed (agents and admins only)"),
        (404, "Not found"),
    ]
)
SEND_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(
        DetailSerializer, description="window_closed: outside the 24-hour window only a template can be sent"
    ),
    413: OpenApiResponse(DetailSerializer, description="File too large"),
}


class InboxPagination(KeysetPagination):
    """`?cursor=&page_size=` on (last_message_at, id), newest activity first."""

    keys = ("last_message_at", "id")


class MessagePagination(KeysetPagination):
    """`?before=<message id>&limit=`, newest first; `next` carries the next `before`."""

    keys = ("id",)
    cursor_query_param = "before"
    plain_cursor = True
    page_size = 50
    page_size_query_param = "limit"
    invalid_cursor_message = "A message id."


class MessageFeedPagination(KeysetPagination):
    """`?cursor=&page_size=` on (created_at, id), newest first: the index (organization, -created_at) serves it."""

    keys = ("created_at", "id")
    page_size = 50


def upload_size_check(request) -> None:
    """413 before a request body too large for any file WhatsApp takes is parsed (and spooled to disk)."""
    length = request.META.get("CONTENT_LENGTH", "")
    media_services.upload_size_check(size=int(length) if length.isdigit() else None)


def message_shown(message: Message, *, view, serializer_class=MessageSerializer) -> dict:
    """A message just stored, read again as the API shows it."""
    org = view.request.org
    message = selectors.message_list(org=org).get(pk=message.pk)
    context = {**view.get_serializer_context(), "reply_ids": selectors.message_reply_ids(org=org, messages=[message])}
    return serializer_class(message, context=context).data


def _split(data, keys: frozenset[str]):
    """A request body (a JSON object, or a multipart form) as two of its kind: its `keys`, and the rest. Anything
    else is given whole to both, for the serializers to refuse."""
    if isinstance(data, QueryDict):
        picked, rest = QueryDict(mutable=True), QueryDict(mutable=True)
        for key, values in data.lists():
            (picked if key in keys else rest).setlist(key, values)
        return picked, rest
    if isinstance(data, Mapping):
        return {k: v for k, v in data.items() if k in keys}, {k: v for k, v in data.items() if k not in keys}
    return data, data


@extend_schema_view(
    list=extend_schema(
        parameters=[ConversationListQuerySerializer], responses={200: ConversationSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(responses={200: ConversationSerializer, **ERRORS}),
    partial_update=extend_schema(
        request=ConversationUpdateSerializer,
        responses={
            200: ConversationSerializer,
            409: OpenApiResponse(DetailSerializer, description="Someone else took it"),
            **ERRORS,
        },
    ),
)
@extend_schema(tags=["conversations"])
class ConversationViewSet(
    VisibleNumbersMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The inbox (agents and admins): one conversation per number and contact, newest activity first, on the numbers
    the caller may see (admins: all; others: the unassigned numbers and those assigned to them or their teams).

    PATCH changes `status`, `assigned_to` (a user id or null) and `team` (a team id or null): admins assign
    anyone; agents take an unassigned conversation (assign it to themselves) or release their own, and may set
    the status or hand the conversation to another team. Assignment changes are in the audit log.
    """

    serializer_class = ConversationSerializer
    permission_classes = [IsAgent]
    pagination_class = InboxPagination
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    selector = staticmethod(selectors.conversation_list)

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        params = ConversationListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        if filters.get("assigned_to") == "me" and self.request.user.pk is None:
            message = "assigned_to=me needs a signed-in user (an API key is nobody)."
            raise ServiceError(message, errors={"assigned_to": [message]})
        return selectors.conversation_list(
            org=self.request.org,
            status=filters.get("status"),
            assigned_to=filters.get("assigned_to"),
            user_id=self.request.user.pk,
            team_id=filters.get("team"),
            number_id=filters.get("number"),
            unread=filters.get("unread"),
            search=filters.get("search"),
            number_ids=request_visible_numbers(self.request),
        )

    def _shown(self, conversation: Conversation) -> dict:
        return ConversationSerializer(
            self.get_queryset().get(pk=conversation.pk), context=self.get_serializer_context()
        ).data

    def partial_update(self, request, pk=None):
        conversation = self.get_object()
        serializer = ConversationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        conversation = services.conversation_update(
            conversation=conversation,
            actor=request.user,
            role=request.role,
            status=data.get("status"),
            assigned_to_id=data.get("assigned_to", services.UNCHANGED),
            team_id=data.get("team", services.UNCHANGED),
        )
        return Response(self._shown(conversation))

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("before", OpenApiTypes.INT, description="Messages older than this message id"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 100 (default 50)"),
        ],
        responses={200: MessageSerializer(many=True), **ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        request={"application/json": MessageSendSerializer, "multipart/form-data": MessageSendSerializer},
        responses={202: MessageSerializer, **SEND_ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="messages",
        pagination_class=MessagePagination,
        parser_classes=[LimitedJSONParser, MultiPartParser],
    )
    def messages(self, request, pk=None):
        """GET: the conversation's messages, newest first (`before`/`limit` cursor).

        POST: send one (see the request schema): stored `queued` and answered 202, then delivered in the
        background; `status` moves to `sent` (with `provider_message_id`) or `failed` (with `error_code` and
        `error_title`). Outside the 24-hour window only a template can be sent (409 window_closed).
        """
        conversation = self.get_object()
        if request.method == "POST":
            return self._send(request, conversation)
        page = self.paginate_queryset(selectors.conversation_messages(org=request.org, conversation=conversation))
        context = {
            **self.get_serializer_context(),
            "reply_ids": selectors.message_reply_ids(org=request.org, messages=page),
        }
        return self.get_paginated_response(MessageSerializer(page, many=True, context=context).data)

    def _send(self, request, conversation: Conversation) -> Response:
        upload_size_check(request)
        message = services.message_send(
            conversation=conversation,
            sent_by=request.user,
            content=request.data,
            number_ids=request_visible_numbers(request),
        )
        return Response(message_shown(message, view=self), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("before", OpenApiTypes.INT, description="Notes older than this note id"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 100 (default 50)"),
        ],
        responses={200: NoteSerializer(many=True), **ERRORS},
    )
    @extend_schema(methods=["POST"], request=NoteCreateSerializer, responses={201: NoteSerializer, **ERRORS})
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="notes",
        pagination_class=MessagePagination,
        parser_classes=[LimitedJSONParser],
    )
    def notes(self, request, pk=None):
        """Internal notes: the team's, in the thread, never sent to the customer (no provider call, no 24-hour
        window, no outbound webhook). GET: newest first (`before`/`limit`). POST `{text, mentions: [user ids]}`: each
        mentioned member must be active and see the conversation (GET conversations/{id}/members), and is notified.
        Pushed live as `note.created`."""
        conversation = self.get_object()
        if request.method == "POST":
            serializer = NoteCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            if request.user.pk is None:
                raise ServiceError("A note needs a signed-in author (an API key is nobody).", status_code=403)
            note = note_services.note_create(
                conversation=conversation,
                author=request.user,
                text=serializer.validated_data["text"],
                mentions=serializer.validated_data.get("mentions", []),
            )
            return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(note_selectors.conversation_notes(org=request.org, conversation=conversation))
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    @extend_schema(responses={200: ConversationMemberSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], url_path="members", pagination_class=None)
    def members(self, request, pk=None):
        """The active members who see the conversation (admins, and agents of its number): who can be mentioned in
        its notes."""
        conversation = self.get_object()
        members = note_selectors.conversation_members(org=request.org, conversation=conversation)
        return Response(ConversationMemberSerializer(members, many=True).data)

    @extend_schema(request=None, responses={200: ConversationSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request, pk=None):
        """Mark the conversation read: unread_count becomes 0 and WhatsApp gets a read receipt for the last
        inbound message (the customer sees blue ticks)."""
        conversation = services.conversation_mark_read(conversation=self.get_object())
        return Response(self._shown(conversation))

    @extend_schema(
        request=ConversationStartSerializer, responses={201: ConversationStartResultSerializer, **SEND_ERRORS}
    )
    @action(detail=False, methods=["post"], url_path="start")
    def start(self, request):
        """Open a conversation with a template message: `{contact_id or phone, number_id, template: {name,
        language, components}}`. The contact is created for a new phone; an existing conversation of the contact
        on that number is reused. 409 opted_out when the contact opted out."""
        serializer = ConversationStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = None
        if "contact_id" in data:
            contact = get_object_or_404(Contact.objects.for_org(request.org), pk=data["contact_id"])
        conversation, message = services.conversation_start(
            organization=request.org,
            number_id=data["number_id"],
            template=data["template"],
            sent_by=request.user,
            contact=contact,
            phone=data.get("phone"),
            number_ids=request_visible_numbers(request),
        )
        body = {"conversation": self._shown(conversation), "message": message_shown(message, view=self)}
        return Response(body, status=status.HTTP_201_CREATED)


class MessageSearchView(KnownQueryParamsMixin, GenericAPIView):
    """Full-text search over the organization's messages (agents and admins), newest first.

    `q` uses web-search syntax on PostgreSQL ("a phrase", -word, or); `before`/`limit` page through the results.
    """

    permission_classes = [IsAgent]
    serializer_class = MessageSearchResultSerializer
    pagination_class = MessagePagination
    filter_backends: list = []

    @extend_schema(
        tags=["conversations"],
        parameters=[
            MessageSearchQuerySerializer,
            OpenApiParameter("before", OpenApiTypes.INT, description="Results older than this message id"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 100 (default 50)"),
        ],
        responses={200: MessageSearchResultSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        params = MessageSearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data["q"]
        page = self.paginate_queryset(
            selectors.message_search(org=request.org, query=query, number_ids=request_visible_numbers(request))
        )
        context = {
            **self.get_serializer_context(),
            "reply_ids": selectors.message_reply_ids(org=request.org, messages=page),
        }
        return self.get_paginated_response(self.get_serializer(page, many=True, context=context).data)


ADDRESS_FIELDS = frozenset(MessageAddressSerializer().fields)


@extend_schema_view(
    list=extend_schema(
        parameters=[MessageListQuerySerializer], responses={200: MessageWithContactSerializer(many=True), **ERRORS}
    ),
    create=extend_schema(
        request={"application/json": MessageToPhoneSerializer, "multipart/form-data": MessageToPhoneSerializer},
        responses={201: MessageWithContactSerializer, **SEND_ERRORS},
    ),
)
@extend_schema(tags=["messages"])
class MessageViewSet(KnownQueryParamsMixin, viewsets.GenericViewSet):
    """Messages across the organization's conversations (agents and admins), on the numbers the caller may see."""

    serializer_class = MessageWithContactSerializer
    permission_classes = [IsAgent]
    pagination_class = MessageFeedPagination
    parser_classes = [LimitedJSONParser, MultiPartParser]
    filter_backends: list = []

    def list(self, request):
        """Newest first (`cursor`/`page_size`), filtered by contact, conversation, direction, number and creation
        time (ISO 8601: `created_after` inclusive, `created_before` exclusive). Each message names its
        conversation and contact."""
        params = MessageListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = selectors.message_list(
            org=request.org, number_ids=request_visible_numbers(request), **params.validated_data
        )
        page = self.paginate_queryset(messages)
        context = {
            **self.get_serializer_context(),
            "reply_ids": selectors.message_reply_ids(org=request.org, messages=page),
        }
        return self.get_paginated_response(self.get_serializer(page, many=True, context=context).data)

    def create(self, request):
        """Send to a phone in one call: `{to, number_id}` and a message as conversations/{id}/messages takes it
        (JSON, or multipart for a file). The contact of `to` and their conversation on the number are found or
        created, and the message is sent like any other: answered 201 once stored `queued` (then `sent` or
        `failed`), with its `conversation_id` and `contact_id`.

        A customer who has not written in the last 24 hours (a new one included) can only get a template on a Cloud
        API or sandbox number (409 window_closed); a WhatsApp Web (WAHA) number has no such window and starts a chat
        with anything it can send. A template to a contact who opted out is refused (409 opted_out).
        """
        upload_size_check(request)  # before the body is parsed (and a file spooled to disk)
        address, content = _split(request.data, ADDRESS_FIELDS)
        serializer = MessageAddressSerializer(data=address)
        serializer.is_valid(raise_exception=True)
        message = services.message_send_to_phone(
            organization=request.org,
            number_id=serializer.validated_data["number_id"],
            to=serializer.validated_data["to"],
            content=content,
            sent_by=request.user,
            number_ids=request_visible_numbers(request),
        )
        body = message_shown(message, view=self, serializer_class=MessageWithContactSerializer)
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        parameters=[MediaListQuerySerializer], responses={200: MediaItemSerializer(many=True), **ERRORS}
    ),
    create=extend_schema(
        request={"multipart/form-data": MediaUploadSerializer}, responses={201: MediaSerializer, **SEND_ERRORS}
    ),
    retrieve=extend_schema(responses={200: MediaItemSerializer, **ERRORS}),
)
@extend_schema(tags=["media"])
class MediaViewSet(
    VisibleNumbersMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Media files (agents and admins): the media library (every file sent or received on the numbers the caller
    may see, and uploads not sent yet, newest first), upload one to send later by `media_id`, read its metadata,
    download it, or get a link that shares it with anyone for a while. The files of messages on a number the caller
    may not see answer 404; uploads not sent yet are the organization's.

    Filters: `type` (image, video, audio, document, sticker), `direction`, `number`, `conversation`, and the days
    `start_date`..`end_date` (both included). Inbound media are fetched from WhatsApp in the background: `status`
    is pending, then ready (or failed).
    """

    serializer_class = MediaItemSerializer
    permission_classes = [IsAgent]
    parser_classes = [MultiPartParser]
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    selector = staticmethod(selectors.media_library)

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        params = MediaListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        return selectors.media_library(
            org=self.request.org,
            number_ids=request_visible_numbers(self.request),
            kind=filters.get("type"),
            direction=filters.get("direction"),
            number_id=filters.get("number"),
            conversation_id=filters.get("conversation"),
            start_date=filters.get("start_date"),
            end_date=filters.get("end_date"),
        )

    def create(self, request):
        upload_size_check(request)
        serializer = MediaUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        media = media_services.media_upload(organization=request.org, file=serializer.validated_data["file"])
        return Response(
            MediaSerializer(media, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None,
        responses={
            200: MediaShareLinkSerializer,
            409: OpenApiResponse(DetailSerializer, description="not_ready: the file is not stored yet"),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], url_path="copy", parser_classes=[LimitedJSONParser])
    def copy(self, request, pk=None):
        """A link that serves the file to anyone who has it (no sign-in) for MEDIA_SHARE_LINK_HOURS (24 by
        default), e.g. to paste in an e-mail; it never shows where the file is stored. Opening it after it expires
        answers 410; an altered link 404."""
        path, expires_at = media_share_link(organization=request.org, media=self.get_object())
        body = {"url": request.build_absolute_uri(path), "expires_at": expires_at}
        return Response(MediaShareLinkSerializer(body).data)

    @extend_schema(responses={200: MediaStorageSerializer, **ERRORS})
    @action(detail=False, methods=["get"], url_path="usage")
    def usage(self, request):
        """The organization's stored files and their total size in bytes (every number's)."""
        return Response(MediaStorageSerializer(selectors.media_storage_usage(org=request.org)).data)

    # The file's own type (image/jpeg, application/pdf, ...).
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY, **ERRORS})
    @action(detail=True, methods=["get"], url_path="content")
    def content(self, request, pk=None):
        """The file itself (404 until an inbound file is fetched)."""
        media = self.get_object()
        if media.status != Media.Status.READY or not media.file:
            raise Http404("The file is not available.")
        return media_file_response(media)


router = Router()
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("media", MediaViewSet, basename="media")
router.register("messages", MessageViewSet, basename="message")
urlpatterns = [
    api_path("messages/search", MessageSearchView.as_view(), name="message-search"),
    *router.urls,
]
