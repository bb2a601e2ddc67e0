"""Message templates API: list and read (every member: agents fill templates in from the inbox), create (checked,
then submitted to Meta), delete, sync from Meta, send a test to a phone, and send into a conversation."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAgent, IsMarketing, IsOrgMember
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from messaging.api.conversations import message_shown, upload_size_check
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.conversations import conversation_list
from messaging.serializers.conversations import MessageSerializer, MessageWithContactSerializer
from templates import selectors, services
from templates.filters import TemplateFilter
from templates.serializers import (
    TemplateCreateSerializer,
    TemplateSendSerializer,
    TemplateSendTestSerializer,
    TemplateSerializer,
    TemplateSyncRequestSerializer,
    TemplateSyncSerializer,
    TemplateSyncStartedSerializer,
)
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.parsers import LimitedJSONParser
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found"),
    ]
)
META_ERRORS = {
    **ERRORS,
    502: OpenApiResponse(DetailSerializer, description="Meta did not answer: nothing changed, try again"),
}
SEND_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(
        DetailSerializer, description="template_not_approved, or opted_out (a contact who opted out gets no template)"
    ),
}


@extend_schema_view(
    list=extend_schema(responses={200: TemplateSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: TemplateSerializer, **ERRORS}),
    create=extend_schema(
        request={"application/json": TemplateCreateSerializer, "multipart/form-data": TemplateCreateSerializer},
        responses={201: TemplateSerializer, **META_ERRORS},
    ),
    destroy=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(DetailSerializer, description="No number of the template's account any more"),
            **META_ERRORS,
        }
    ),
)
@extend_schema(tags=["templates"])
class TemplateViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's WhatsApp message templates, per WhatsApp Business Account (WABA), as Meta keeps them.

    Every member lists and reads them (agents fill them in from the inbox: each has its `placeholders` and a
    `preview`); marketing and admins create, delete and sync them, and send tests; agents and admins send one into
    a conversation. The list shows the templates Meta still has (`status=DELETED` shows the deleted ones; a deleted
    template's own URL still answers, for the history of what used it).

    POST checks the template as Meta would before submitting it, and answers every mistake at once, each under
    its place: `errors.components.BODY`, `errors.components.HEADER`, `errors.components["buttons[1]"]`… Meta's
    review then moves `status` from PENDING (webhooks: `message_template_status_update`, quality and category
    updates); templates of a sandbox number are approved at once by the sandbox.
    """

    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = r"\d{1,18}"
    parser_classes = [LimitedJSONParser, MultiPartParser]
    READ_ACTIONS = frozenset({"list", "retrieve"})

    selector = staticmethod(selectors.template_rows)

    def get_permissions(self):
        if self.action in self.READ_ACTIONS:
            return [IsOrgMember()]
        return [IsAgent() if self.action == "send" else IsMarketing()]

    def filter_queryset(self, queryset):
        # The list's filters are the list's: a template's own routes find it whatever the query says.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def create(self, request):
        upload_size_check(request)
        serializer = TemplateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = services.template_create(
            organization=request.org,
            actor=request.user,
            name=data["name"],
            language=data["language"],
            category=data["category"],
            components=data["components"],
            parameter_format=data["parameter_format"],
            number_id=data.get("number_id"),
            header_file=data.get("header_file"),
            header_media_id=data.get("header_media_id"),
            number_ids=request_visible_numbers(request),
        )
        # Read again: the sandbox's review (after the commit) may have moved it already.
        template = self.get_queryset().get(pk=template.pk)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.template_delete(template=instance, actor=self.request.user)

    @extend_schema(request=TemplateSendTestSerializer, responses={201: MessageWithContactSerializer, **SEND_ERRORS})
    @action(
        detail=True, methods=["post"], url_path="send-test", url_name="send-test", parser_classes=[LimitedJSONParser]
    )
    def send_test(self, request, pk=None):
        """Send the (approved) template, filled in with `parameters`, to the phone `to` from `number_id` (a number of
        the template's account; default: its first), as any message is sent: answered 201 once stored `queued`."""
        template = self.get_object()
        serializer = TemplateSendTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = services.template_send_to_phone(
            template=template,
            to=data["to"],
            parameters=data["parameters"],
            number_id=data.get("number_id"),
            sent_by=request.user,
            number_ids=request_visible_numbers(request),
        )
        body = message_shown(message, view=self, serializer_class=MessageWithContactSerializer)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=TemplateSendSerializer, responses={202: MessageSerializer, **SEND_ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[LimitedJSONParser])
    def send(self, request, pk=None):
        """The inbox's template picker: send the (approved) template, filled in with `parameters`, into the
        conversation `conversation_id` (one the caller sees), also when its 24-hour window is closed, and a closed
        conversation opens again; or to the phone `to` from `number_id` (a new conversation: the contact and
        conversation are found or created). Answered 202 once stored `queued`, as conversations/{id}/messages does."""
        template = self.get_object()
        serializer = TemplateSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        number_ids = request_visible_numbers(request)
        if "to" in data:
            message = services.template_send_to_phone(
                template=template,
                to=data["to"],
                parameters=data["parameters"],
                number_id=data.get("number_id"),
                sent_by=request.user,
                number_ids=number_ids,
            )
            return Response(message_shown(message, view=self), status=status.HTTP_202_ACCEPTED)
        conversation = (
            conversation_list(org=request.org, number_ids=number_ids).filter(pk=data["conversation_id"]).first()
        )
        if conversation is None:
            message = "No such conversation in this organization."
            raise ServiceError(message, errors={"conversation_id": [message]})
        message = services.template_send(
            template=template,
            conversation=conversation,
            parameters=data["parameters"],
            sent_by=request.user,
            role=request.role,
            number_ids=number_ids,
        )
        return Response(message_shown(message, view=self), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=TemplateSyncRequestSerializer, responses={202: TemplateSyncStartedSerializer, **ERRORS})
    @action(detail=False, methods=["post"], parser_classes=[LimitedJSONParser])
    def sync(self, request):
        """Sync the templates from Meta now (beat also does every 15 minutes): one sync per WhatsApp Business
        Account of the organization's Cloud numbers, or of `number_id`'s only. Answered 202 at once; read a sync's
        progress and result at templates/syncs/{id}."""
        serializer = TemplateSyncRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        syncs = services.template_sync_request(
            organization=request.org,
            actor=request.user,
            number_id=serializer.validated_data.get("number_id"),
            number_ids=request_visible_numbers(request),
        )
        # Read again: an inline run (no broker) has finished already.
        syncs = list(selectors.template_sync_list(org=request.org).filter(pk__in=[sync.pk for sync in syncs]))
        syncs.sort(key=lambda sync: sync.pk)
        body = {
            "sync_id": syncs[0].pk,
            "status": syncs[0].status,
            "syncs": TemplateSyncSerializer(syncs, many=True).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(retrieve=extend_schema(responses={200: TemplateSyncSerializer, **ERRORS}))
@extend_schema(tags=["templates"])
class TemplateSyncViewSet(TenantScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A template sync: `status` queued → running → succeeded or failed (`error` says why, in the hub's words),
    `pages` read so far, and the templates it `created`, `updated` and marked `deleted`."""

    serializer_class = TemplateSyncSerializer
    permission_classes = [IsOrgMember]
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"

    selector = staticmethod(selectors.template_sync_list)


router = Router()
router.register("templates/syncs", TemplateSyncViewSet, basename="template-syncs")
router.register("templates", TemplateViewSet, basename="template")
urlpatterns = router.urls
