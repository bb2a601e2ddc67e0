"""Flows API: CRUD of flows (nodes + edges, the JSON documented in automation/flows/__init__.py), activate and
deactivate, try one on a sandbox number (POST flows/{id}/test), and the runs (flow-runs/, with their steps).
Admins only."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from accounts.viewsets import TenantScopedMixin
from automation.flows import schema
from automation.models import Flow, FlowRun, FlowRunStep
from automation.selectors import flows as selectors
from automation.services import flows as services
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import StrictSerializer, id_field

ERRORS = error_responses(
    [
        (400, "Invalid input ({detail, errors}: errors.nodes.<id>, errors.edges.<id>, errors.graph)"),
        (401, "Not authenticated"),
        (403, "Not allowed (admins only)"),
        (404, "Not found"),
    ]
)
NODE_ID_PATTERN = schema.ID.pattern


class PositionSerializer(serializers.Serializer):
    x = serializers.FloatField(min_value=-schema.POSITION_LIMIT, max_value=schema.POSITION_LIMIT)
    y = serializers.FloatField(min_value=-schema.POSITION_LIMIT, max_value=schema.POSITION_LIMIT)


class NodeSerializer(serializers.Serializer):
    """A node: `{id, type, data, position: {x, y}}`; what `data` holds depends on `type` (see the README)."""

    id = serializers.RegexField(NODE_ID_PATTERN, max_length=64, help_text="Unique in the flow: letters, digits, _, -")
    type = serializers.ChoiceField(choices=list(schema.NODE_TYPES))
    data = serializers.DictField(required=False, help_text="The node's settings, by type (README: Flows)")
    position = PositionSerializer(help_text="Where the builder draws it")


class EdgeSerializer(serializers.Serializer):
    """An edge: `{id, source, target, source_handle?}`; the handle names the branch the source leaves by (`yes`/`no`,
    a choice id, `timeout`, `invalid`, `error`), none for its one way on."""

    id = serializers.RegexField(NODE_ID_PATTERN, max_length=64)
    source = serializers.CharField(max_length=64, help_text="A node id")
    target = serializers.CharField(max_length=64, help_text="A node id")
    source_handle = serializers.CharField(
        max_length=schema.HANDLE_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )


# The input takes the graph as JSON and schema.py checks it, so that a refusal names the node or edge by its id
# (errors.nodes.<id>) rather than by its position in a list; the schema documents the shapes.
@extend_schema_field(NodeSerializer(many=True))
class NodesField(serializers.ListField):
    child = serializers.JSONField()


@extend_schema_field(EdgeSerializer(many=True))
class EdgesField(serializers.ListField):
    child = serializers.JSONField()


# The output gives the graph back as stored (as written, with each node's data), documented by the same shapes.
@extend_schema_field(NodeSerializer(many=True))
class NodesOutputField(serializers.JSONField):
    pass


@extend_schema_field(EdgeSerializer(many=True))
class EdgesOutputField(serializers.JSONField):
    pass


class FlowSerializer(serializers.ModelSerializer):
    """A flow. `version` goes up with every save; a run keeps the version it started with. `kind` is `workflow` for
    flows made through workflows/ (linear: a trigger and steps)."""

    nodes = NodesOutputField(read_only=True)
    edges = EdgesOutputField(read_only=True)

    class Meta:
        model = Flow
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "nodes",
            "edges",
            "is_active",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FlowInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    nodes = NodesField(max_length=schema.MAX_NODES, required=False)
    edges = EdgesField(max_length=schema.MAX_EDGES, required=False)
    is_active = serializers.BooleanField(required=False)


class FlowTestSerializer(StrictSerializer):
    number_id = id_field(
        required=False, help_text="A sandbox number of the organization; default: the primary one, else the only one"
    )
    from_ = serializers.CharField(
        max_length=32, required=False, help_text=f"The customer's phone, E.164 (default {services.TEST_PHONE})"
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Their profile name")
    text = serializers.CharField(
        max_length=services.TEST_TEXT_MAX_LENGTH,
        required=False,
        help_text="What they write first (default: the trigger's first keyword, else Hi)",
    )

    def get_fields(self):
        # `from` is a Python keyword: declared as `from_`.
        return {("from" if name == "from_" else name): field for name, field in super().get_fields().items()}


class FlowTestResultSerializer(serializers.Serializer):
    run_id = serializers.IntegerField(help_text="The test run (GET flow-runs/{id})")
    number_id = serializers.IntegerField()
    contact_id = serializers.IntegerField()
    provider_message_id = serializers.CharField(help_text="The wamid of the customer's first message")


@extend_schema_view(
    list=extend_schema(responses={200: FlowSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: FlowSerializer, **ERRORS}),
    create=extend_schema(request=FlowInputSerializer, responses={201: FlowSerializer, **ERRORS}),
    update=extend_schema(request=FlowInputSerializer, responses={200: FlowSerializer, **ERRORS}),
    partial_update=extend_schema(request=FlowInputSerializer, responses={200: FlowSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
@extend_schema(tags=["flows"])
class FlowViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Flows: graphs of nodes and edges that answer inbound messages on a number (a number gets its flow with
    `PUT numbers/{id}` `{flow_id}`). Saving checks the graph (one trigger, known node types with valid data, no
    dangling edges, every node reachable, every cycle through an ask or a delay): a 400 names the node at fault in
    `errors.nodes.<id>` (or the edge in `errors.edges.<id>`). Each save makes a new `version`; runs under way
    keep theirs. A flow answers only while active. PUT and PATCH change the fields sent. Admins only."""

    serializer_class = FlowSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [IsAdmin]
    selector = staticmethod(selectors.flow_list)

    def _input(self) -> dict:
        serializer = FlowInputSerializer(data=self.request.data, partial=self.action != "create")
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, flow: Flow, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(FlowSerializer(self.get_queryset().get(pk=flow.pk)).data, status=status_code)

    def create(self, request):
        flow = services.flow_create(organization=request.org, actor=request.user, **self._input())
        return self._shown(flow, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        return self._shown(services.flow_update(flow=self.get_object(), actor=request.user, **self._input()))

    def perform_destroy(self, instance):
        services.flow_delete(flow=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: FlowSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Answer inbound messages with this flow (on the numbers it is set on). Its graph is checked again (the
        templates, bots, functions and people it names must still exist) and needs a trigger."""
        return self._shown(services.flow_set_active(flow=self.get_object(), actor=request.user, active=True))

    @extend_schema(request=None, responses={200: FlowSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        """Stop starting runs of this flow; runs under way finish."""
        return self._shown(services.flow_set_active(flow=self.get_object(), actor=request.user, active=False))

    @extend_schema(request=FlowTestSerializer, responses={202: FlowTestResultSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Try the flow as saved (active or not) on a sandbox number: the customer `from` writes `text` to it through
        the sandbox's real ingest path, and this flow answers from its first step, whatever its trigger. Send their
        next messages with POST sandbox/inbound; watch the conversation (GET conversations/, the live inbox) and
        the run (GET flow-runs/{run_id})."""
        serializer = FlowTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run, provider_message_id = services.flow_test_start(
            flow=self.get_object(),
            actor=request.user,
            number_id=data.get("number_id"),
            phone=data.get("from", services.TEST_PHONE),
            text=data.get("text", ""),
            name=data.get("name", ""),
        )
        body = {
            "run_id": run.pk,
            "number_id": run.number_id,
            "contact_id": run.contact_id,
            "provider_message_id": provider_message_id,
        }
        return Response(FlowTestResultSerializer(body).data, status=status.HTTP_202_ACCEPTED)


# --- runs ---------------------------------------------------------------------------------------------------------


class FlowRunStepSerializer(serializers.ModelSerializer):
    message_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The message it sent, if any")
    outcome = serializers.DictField(read_only=True, help_text="The branch it left by, the answer it stored, an error")

    class Meta:
        model = FlowRunStep
        fields = ["step_no", "node_id", "node_type", "outcome", "message_id", "created_at"]
        read_only_fields = fields


class FlowRunSerializer(serializers.ModelSerializer):
    """A run: one contact going through a flow on a number, with its state (current node, variables, what it waits
    for and until when)."""

    flow_version = serializers.IntegerField(source="flow_version.version", read_only=True)
    flow_id = serializers.IntegerField(read_only=True)
    number_id = serializers.IntegerField(read_only=True)
    contact_id = serializers.IntegerField(read_only=True)
    conversation_id = serializers.IntegerField(read_only=True, allow_null=True)
    variables = serializers.DictField(read_only=True)

    class Meta:
        model = FlowRun
        fields = [
            "id",
            "flow_id",
            "flow_version",
            "number_id",
            "contact_id",
            "conversation_id",
            "status",
            "current_node",
            "waiting_for",
            "waiting_since",
            "wake_at",
            "expires_at",
            "variables",
            "step_count",
            "is_test",
            "last_error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class FlowRunDetailSerializer(FlowRunSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(FlowRunSerializer.Meta):
        fields = [*FlowRunSerializer.Meta.fields, "steps"]
        read_only_fields = fields

    @extend_schema_field(FlowRunStepSerializer(many=True))
    def get_steps(self, run: FlowRun) -> list:
        return FlowRunStepSerializer(selectors.flow_run_steps(run=run), many=True).data


class FlowRunFilter(filters.FilterSet):
    flow = filters.NumberFilter(field_name="flow_id", min_value=1, max_value=2**63 - 1)
    contact = filters.NumberFilter(field_name="contact_id", min_value=1, max_value=2**63 - 1)
    status = filters.ChoiceFilter(choices=FlowRun.Status.choices)

    class Meta:
        model = FlowRun
        fields = ["flow", "contact", "status"]


@extend_schema_view(
    list=extend_schema(responses={200: FlowRunSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: FlowRunDetailSerializer, **ERRORS}),
)
@extend_schema(tags=["flows"])
class FlowRunViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the organization's flows, newest first (filter by flow, contact, status); a run with the steps it
    executed. Admins only."""

    serializer_class = FlowRunSerializer
    filterset_class = FlowRunFilter
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [IsAdmin]
    selector = staticmethod(selectors.flow_run_list)

    def get_serializer_class(self):
        return FlowRunDetailSerializer if self.action == "retrieve" else FlowRunSerializer


router = Router()
router.register("flows", FlowViewSet, basename="flow")
router.register("flow-runs", FlowRunViewSet, basename="flow-run")
urlpatterns = router.urls
