"""Workflows API (seed 000's `workflows/`: `{name, trigger_type, steps}`): linear flows, a trigger and its steps in
order, run by the flows engine. Each is a flow (`kind: workflow`) and shows in flows/ as its graph too. Admins
only."""

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from accounts.viewsets import TenantScopedMixin
from automation.api.flows import ERRORS
from automation.flows import schema, workflows
from automation.models import Flow
from automation.selectors import flows as selectors
from automation.services import flows as services
from whatsapp_hub.routers import Router
from whatsapp_hub.serializers import StrictSerializer


class WorkflowStepSerializer(serializers.Serializer):
    """A step: a node without its position, `{id?, type, data}` (README: Flows, for each type's data)."""

    id = serializers.RegexField(schema.ID.pattern, max_length=64, required=False)
    type = serializers.ChoiceField(choices=list(workflows.STEP_TYPES))
    data = serializers.DictField(required=False)


@extend_schema_field(WorkflowStepSerializer(many=True))
class StepsField(serializers.ListField):
    child = serializers.JSONField()


@extend_schema_field(WorkflowStepSerializer(many=True))
class StepsOutputField(serializers.JSONField):
    pass


class WorkflowSerializer(serializers.ModelSerializer):
    trigger_type = serializers.SerializerMethodField()
    keywords = serializers.SerializerMethodField()
    match = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = [
            "id",
            "name",
            "description",
            "trigger_type",
            "keywords",
            "match",
            "steps",
            "is_active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _shape(self, flow: Flow) -> dict:
        cache = self.context.setdefault("_shapes", {})
        if flow.pk not in cache:
            cache[flow.pk] = workflows.from_graph(flow.nodes, flow.edges) or {
                "trigger_type": "any",
                "keywords": [],
                "match": "exact",
                "steps": [],
            }
        return cache[flow.pk]

    @extend_schema_field(serializers.ChoiceField(choices=list(schema.TRIGGER_ON)))
    def get_trigger_type(self, flow: Flow) -> str:
        return self._shape(flow)["trigger_type"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_keywords(self, flow: Flow) -> list:
        return self._shape(flow)["keywords"]

    @extend_schema_field(serializers.ChoiceField(choices=list(schema.MATCHES)))
    def get_match(self, flow: Flow) -> str:
        return self._shape(flow)["match"]

    @extend_schema_field(WorkflowStepSerializer(many=True))
    def get_steps(self, flow: Flow) -> list:
        return self._shape(flow)["steps"]


class WorkflowInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    trigger_type = serializers.ChoiceField(choices=list(schema.TRIGGER_ON), help_text="The trigger's `on`")
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=schema.KEYWORD_MAX_LENGTH),
        max_length=schema.KEYWORDS_MAX,
        required=False,
        help_text="For keyword (required) and button_reply (the ids) triggers",
    )
    match = serializers.ChoiceField(choices=list(schema.MATCHES), required=False)
    steps = StepsField(max_length=workflows.MAX_STEPS)
    is_active = serializers.BooleanField(required=False)


@extend_schema_view(
    list=extend_schema(responses={200: WorkflowSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: WorkflowSerializer, **ERRORS}),
    create=extend_schema(request=WorkflowInputSerializer, responses={201: WorkflowSerializer, **ERRORS}),
    update=extend_schema(request=WorkflowInputSerializer, responses={200: WorkflowSerializer, **ERRORS}),
    partial_update=extend_schema(request=WorkflowInputSerializer, responses={200: WorkflowSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["workflows"])
class WorkflowViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Workflows: a trigger (`trigger_type`, with `keywords` and `match` for a keyword trigger) and `steps` run one
    after another, by the same engine as flows (each is a linear flow, `kind: workflow` in flows/). A step is
    `{id?, type, data}` with the node types and data of flows, but no condition (a workflow does not branch). A
    refused step is named by its index: `errors.steps.<index>`. PUT and PATCH change the fields sent. Activate and
    try one on a sandbox number through flows/{id}/activate and flows/{id}/test. Admins only."""

    serializer_class = WorkflowSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [IsAdmin]
    selector = staticmethod(selectors.workflow_list)

    def _input(self) -> dict:
        serializer = WorkflowInputSerializer(data=self.request.data, partial=self.action != "create")
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, flow: Flow, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(WorkflowSerializer(self.get_queryset().get(pk=flow.pk)).data, status=status_code)

    def create(self, request):
        flow = services.workflow_create(organization=request.org, actor=request.user, **self._input())
        return self._shown(flow, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        return self._shown(services.workflow_update(flow=self.get_object(), actor=request.user, **self._input()))

    def perform_destroy(self, instance):
        services.flow_delete(flow=instance, actor=self.request.user)


router = Router()
router.register("workflows", WorkflowViewSet, basename="workflow")
urlpatterns = router.urls
