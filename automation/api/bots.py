"""Bots API: bots (CRUD and a test chat), their scenarios (CRUD and reorder), and a conversation's bot (its state,
pause, resume). A number's bot and flow are set through the numbers API (`PUT numbers/{id}` `{bot_id, flow_id}`:
messaging/extensions.py)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsAgent
from accounts.serializers import DetailSerializer
from accounts.viewsets import TenantScopedMixin
from automation.bots.serializers import (
    BotInputSerializer,
    BotSerializer,
    BotTestInputSerializer,
    BotTestSerializer,
    ConversationBotSerializer,
    ReorderSerializer,
    ScenarioInputSerializer,
    ScenarioSerializer,
)
from automation.models import Bot, BotScenario
from automation.selectors import bots as selectors
from automation.services import bots as services
from messaging.selectors.access import request_visible_numbers
from messaging.selectors.conversations import conversation_list
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import Router, api_path
from whatsapp_hub.schema import error_responses

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors})"),
        (401, "Not authenticated"),
        (403, "Not allowed (admins only)"),
        (404, "Not found"),
    ]
)
CONVERSATION_ERRORS = {
    **error_responses([(401, "Not authenticated"), (403, "Agents and admins only"), (404, "Not found")]),
    409: OpenApiResponse(DetailSerializer, description="No bot answers this conversation"),
}
ID = r"\d{1,18}"


@extend_schema_view(
    list=extend_schema(responses={200: BotSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: BotSerializer, **ERRORS}),
    create=extend_schema(request=BotInputSerializer, responses={201: BotSerializer, **ERRORS}),
    update=extend_schema(request=BotInputSerializer, responses={200: BotSerializer, **ERRORS}),
    partial_update=extend_schema(request=BotInputSerializer, responses={200: BotSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["bots"])
class BotViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """The organization's bots (admins). A bot answers the inbound messages of the numbers it is set on (`PUT
    numbers/{id}` `{bot_id}`) and of the conversations a flow hands it: handoff keywords first, then its scenarios
    (bots/{id}/scenarios), then its knowledge bases and the LLM (settings/ai), or with no LLM configured the best
    passage above `score_threshold`. It hands the conversation to `handoff_team_id` and pauses there on a handoff
    keyword, on no passage above the threshold (`handoff_on_no_answer`), or after `max_unanswered_turns` turns it
    could not answer. PUT and PATCH both change only the fields sent."""

    serializer_class = BotSerializer
    filter_backends: list = []
    lookup_value_regex = ID
    permission_classes = [IsAdmin]
    selector = staticmethod(selectors.bot_list)

    def _input(self) -> dict:
        serializer = BotInputSerializer(data=self.request.data, partial=self.action != "create")
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, bot: Bot) -> dict:
        return BotSerializer(self.get_queryset().get(pk=bot.pk), context=self.get_serializer_context()).data

    def create(self, request):
        bot = services.bot_create(organization=request.org, actor=request.user, **self._input())
        return Response(self._shown(bot), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        bot = services.bot_update(bot=self.get_object(), actor=request.user, **self._input())
        return Response(self._shown(bot))

    def perform_destroy(self, instance):
        services.bot_delete(bot=instance, actor=self.request.user)

    @extend_schema(request=BotTestInputSerializer, responses={200: BotTestSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """What the bot would answer this message in a new conversation, with the passages it used (`sources`).
        Nothing is sent; an LLM configured in settings/ai is called (its tokens count)."""
        bot = self.get_object()
        serializer = BotTestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.bot_test(bot=bot, message=serializer.validated_data["message"])
        return Response(BotTestSerializer(result).data)


@extend_schema_view(
    list=extend_schema(responses={200: ScenarioSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: ScenarioSerializer, **ERRORS}),
    create=extend_schema(request=ScenarioInputSerializer, responses={201: ScenarioSerializer, **ERRORS}),
    update=extend_schema(request=ScenarioInputSerializer, responses={200: ScenarioSerializer, **ERRORS}),
    partial_update=extend_schema(request=ScenarioInputSerializer, responses={200: ScenarioSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["bots"])
class ScenarioViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """A bot's scenarios (admins): triggers checked in order before the bot's knowledge and LLM, each with the
    message it replies (see the request body). The list is in order, not paged. PUT and PATCH both change only the
    fields sent; `reorder` sets the order of them all."""

    serializer_class = ScenarioSerializer
    filter_backends: list = []
    pagination_class = None
    lookup_value_regex = ID
    permission_classes = [IsAdmin]

    def _bot(self) -> Bot:
        bot = selectors.bot_list(org=self.request.org).filter(pk=self.kwargs["bot_id"]).first()
        if bot is None:
            raise ServiceError("Not found.", status_code=404, code="not_found")
        return bot

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BotScenario.objects.none()
        return selectors.scenario_list(org=self.request.org, bot_id=self._bot().pk)

    def _input(self) -> dict:
        serializer = ScenarioInputSerializer(data=self.request.data, partial=self.action != "create")
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, bot_id=None):
        scenario = services.scenario_create(bot=self._bot(), actor=request.user, **self._input())
        return Response(ScenarioSerializer(scenario).data, status=status.HTTP_201_CREATED)

    def update(self, request, bot_id=None, pk=None, partial=False):
        scenario = services.scenario_update(scenario=self.get_object(), actor=request.user, **self._input())
        return Response(ScenarioSerializer(scenario).data)

    def perform_destroy(self, instance):
        services.scenario_delete(scenario=instance, actor=self.request.user)

    @extend_schema(request=ReorderSerializer, responses={200: ScenarioSerializer(many=True), **ERRORS})
    @action(detail=False, methods=["post"])
    def reorder(self, request, bot_id=None):
        """The bot's scenarios in this order: `ids` lists each of them once."""
        bot = self._bot()  # another organization's: 404 whatever the body
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ordered = services.scenarios_reorder(bot=bot, actor=request.user, **serializer.validated_data)
        return Response(ScenarioSerializer(ordered, many=True).data)


class _ConversationBotView(KnownQueryParamsMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = ConversationBotSerializer

    def conversation(self, pk: str):
        """A conversation the caller may see (another organization's, or a hidden number's: 404)."""
        request = self.request
        conversations = conversation_list(org=request.org, number_ids=request_visible_numbers(request))
        conversation = conversations.select_related("organization").filter(pk=pk).first()
        if conversation is None:
            raise ServiceError("Not found.", status_code=404, code="not_found")
        return conversation

    def shown(self, conversation) -> Response:
        return Response(ConversationBotSerializer(selectors.conversation_bot_state(conversation=conversation)).data)


@extend_schema(tags=["bots"])
class ConversationBotView(_ConversationBotView):
    @extend_schema(responses={200: ConversationBotSerializer, **CONVERSATION_ERRORS})
    def get(self, request, pk):
        """The conversation's bot (agents and admins who see the conversation): which one, and whether it answers
        the customer's next message or is paused (a person replied or took the conversation, the bot handed it over,
        or someone paused it)."""
        return self.shown(self.conversation(pk))


@extend_schema(tags=["bots"])
class ConversationBotPauseView(_ConversationBotView):
    @extend_schema(request=None, responses={200: ConversationBotSerializer, **CONVERSATION_ERRORS})
    def post(self, request, pk):
        """Pause the bot in this conversation until someone resumes it (409 when no bot answers it)."""
        conversation = self.conversation(pk)
        services.bot_conversation_pause(conversation=conversation, actor=request.user)
        return self.shown(conversation)


@extend_schema(tags=["bots"])
class ConversationBotResumeView(_ConversationBotView):
    @extend_schema(request=None, responses={200: ConversationBotSerializer, **CONVERSATION_ERRORS})
    def post(self, request, pk):
        """Give the conversation back to its bot: it answers the customer's next message (409 when no bot answers
        it). The assignee stays."""
        conversation = self.conversation(pk)
        services.bot_conversation_resume(conversation=conversation, actor=request.user)
        return self.shown(conversation)


router = Router()
router.register("bots", BotViewSet, basename="bot")
router.register(rf"bots/(?P<bot_id>{ID})/scenarios", ScenarioViewSet, basename="bot-scenario")
urlpatterns = [
    *router.urls,
    api_path(rf"conversations/(?P<pk>{ID})/bot", ConversationBotView.as_view(), "conversation-bot"),
    api_path(rf"conversations/(?P<pk>{ID})/bot/pause", ConversationBotPauseView.as_view(), "conversation-bot-pause"),
    api_path(rf"conversations/(?P<pk>{ID})/bot/resume", ConversationBotResumeView.as_view(), "conversation-bot-resume"),
]
