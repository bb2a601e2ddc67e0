"""Custom functions API (seed 000's `functions/`): named HTTP calls of the organization that flow steps make, and
POST functions/{id}/test to try one with sample values. Admins only."""

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from accounts.viewsets import TenantScopedMixin
from automation.api.flows import ERRORS
from automation.flows import http, schema
from automation.models import CustomFunction
from automation.selectors import flows as selectors
from automation.services import functions as services
from whatsapp_hub.encryption import mask
from whatsapp_hub.routers import Router
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import StrictSerializer

CONFLICT = error_responses([(409, "A flow uses it")])
PLACEHOLDERS_HELP = "Placeholders: {{contact.name}}, {{contact.phone}}, {{contact.<attribute>}}, {{vars.<name>}}"


class FunctionSerializer(serializers.ModelSerializer):
    """A custom function. Header values are shown masked (`...abcd`): they are stored encrypted."""

    headers = serializers.SerializerMethodField()

    class Meta:
        model = CustomFunction
        fields = [
            "id",
            "name",
            "description",
            "method",
            "url",
            "headers",
            "body_template",
            "response_map",
            "timeout_seconds",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_headers(self, function: CustomFunction) -> dict:
        return {name: mask(value) or "" for name, value in http.function_headers(function).items()}


class FunctionInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    method = serializers.ChoiceField(choices=CustomFunction.Method.choices, required=False)
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s); placeholders after the host are filled in (percent-encoded). A public address (or one "
        "the operator allows).",
    )
    headers = serializers.DictField(
        child=serializers.CharField(max_length=schema.HEADER_VALUE_MAX, allow_null=True, allow_blank=True),
        required=False,
        help_text="{name: value}; replaces them all. A null value keeps that header's stored value. "
        + PLACEHOLDERS_HELP,
    )
    body_template = serializers.JSONField(
        required=False, allow_null=True, help_text="The JSON body (not sent with GET). " + PLACEHOLDERS_HELP
    )
    response_map = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text='{variable: JSON path of the answer}, e.g. {"status": "data.status", "first": "items.0.name"}',
    )
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=schema.HTTP_TIMEOUT_MAX, required=False)


class FunctionTestSerializer(StrictSerializer):
    variables = serializers.DictField(required=False, help_text="Sample values for {{vars.*}}")
    contact = serializers.DictField(
        required=False, help_text="Sample values for {{contact.*}}: name, first_name, phone, and attributes"
    )


class FunctionTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="A 2xx answer")
    status_code = serializers.IntegerField(allow_null=True)
    variables = serializers.DictField(help_text="What response_map read from the answer")
    error = serializers.CharField(allow_blank=True, help_text="Why it failed, in the hub's words")
    duration_ms = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(responses={200: FunctionSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: FunctionSerializer, **ERRORS}),
    create=extend_schema(request=FunctionInputSerializer, responses={201: FunctionSerializer, **ERRORS}),
    update=extend_schema(request=FunctionInputSerializer, responses={200: FunctionSerializer, **ERRORS}),
    partial_update=extend_schema(request=FunctionInputSerializer, responses={200: FunctionSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS, **CONFLICT}),
)
@extend_schema(tags=["functions"])
class FunctionViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """Custom functions: named HTTP calls (method, URL, headers stored encrypted, a JSON body template) whose JSON
    answer flow steps map into run variables (`response_map`). Calls go through the hub's egress policy: public
    addresses only (or those the operator allows), no redirects, a timeout, at most 256 KB of answer. PUT and PATCH
    change the fields sent. A function a flow uses cannot be deleted (409). Admins only."""

    serializer_class = FunctionSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    permission_classes = [IsAdmin]
    selector = staticmethod(selectors.function_list)

    def _input(self) -> dict:
        serializer = FunctionInputSerializer(data=self.request.data, partial=self.action != "create")
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _shown(self, function: CustomFunction, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(FunctionSerializer(self.get_queryset().get(pk=function.pk)).data, status=status_code)

    def create(self, request):
        function = services.function_create(organization=request.org, actor=request.user, **self._input())
        return self._shown(function, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        return self._shown(services.function_update(function=self.get_object(), actor=request.user, **self._input()))

    def perform_destroy(self, instance):
        services.function_delete(function=instance, actor=self.request.user)

    @extend_schema(request=FunctionTestSerializer, responses={200: FunctionTestResultSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Call the function now with sample values and see what a flow step would get: the status, the variables
        mapped from the answer, or why it failed. Nothing is stored."""
        function = self.get_object()
        serializer = FunctionTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.function_test(
            function=function, variables=data.get("variables", {}), contact=data.get("contact", {})
        )
        return Response(FunctionTestResultSerializer(result.as_dict()).data)


router = Router()
router.register("functions", FunctionViewSet, basename="function")
urlpatterns = router.urls
