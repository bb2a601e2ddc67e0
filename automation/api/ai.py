"""AI settings API: `settings/ai` (base URL, API key, chat and embedding models), `settings/ai/usage` (tokens per day
and model) and the seed's `settings/openai` (`{configured, masked_key}`; POST `{api_key}`).

Members read the settings (the key masked, the base URL: admins only); admins change them and read the usage."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsAdmin, IsOrgMember
from automation import llm
from automation.models.ai import AISettings
from automation.selectors import ai as selectors
from automation.services import ai as services
from messaging.serializers.numbers import SavedSerializer
from whatsapp_hub.encryption import mask
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.routers import api_path
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import AdminOnlyFieldsMixin, StrictSerializer

ERRORS = error_responses([(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Not allowed")])
USAGE_DAYS_MAX = 366


class AISettingsSerializer(AdminOnlyFieldsMixin, serializers.Serializer):
    admin_only_fields = ("base_url", "default_base_url", "api_key")

    configured = serializers.BooleanField(help_text="Chat calls can be made (an API key, or a base URL of its own)")
    embeddings_configured = serializers.BooleanField(help_text="An embedding model is set: retrieval uses vectors")
    base_url = serializers.CharField(help_text="The organization's own base URL; blank: default_base_url")
    default_base_url = serializers.CharField(help_text="The hub's OPENAI_BASE_URL")
    api_key = serializers.CharField(allow_null=True, help_text="Masked ('...abcd'), null when unset")
    chat_model = serializers.CharField()
    embedding_model = serializers.CharField(
        help_text="Blank: no provider embeddings (BM25 only, or the offline model with LOCAL_EMBEDDINGS)"
    )
    updated_at = serializers.DateTimeField(allow_null=True)


class AISettingsInputSerializer(StrictSerializer):
    """Fields left out stay as they are."""

    base_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        trim_whitespace=False,
        help_text="An OpenAI-compatible API base, e.g. https://api.openai.com/v1 or an Ollama server's "
        "http://ollama.internal:11434/v1 (the operator must allow a private host); blank: the hub's default",
    )
    api_key = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, write_only=True, help_text="Blank removes the key"
    )
    chat_model = serializers.CharField(required=False, max_length=200, help_text="e.g. gpt-4o-mini")
    embedding_model = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="e.g. text-embedding-3-small; blank: none"
    )


class OpenAISettingsSerializer(AdminOnlyFieldsMixin, serializers.Serializer):
    admin_only_fields = ("masked_key",)

    configured = serializers.BooleanField()
    masked_key = serializers.CharField(allow_null=True)


class OpenAIKeyInputSerializer(StrictSerializer):
    api_key = serializers.CharField(max_length=1000, write_only=True)


class UsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, default=30, min_value=1, max_value=USAGE_DAYS_MAX, help_text="Days back, today included"
    )


class UsageRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    model = serializers.CharField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    requests = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    requests = serializers.IntegerField()
    rows = UsageRowSerializer(many=True, help_text="Per day (newest first) and model; days without use left out")


def ai_settings_body(organization) -> dict:
    row = selectors.ai_settings_for(organization_id=organization.pk) or AISettings(organization=organization)
    return {
        "configured": llm.is_configured(organization),
        "embeddings_configured": llm.embeddings_configured(organization),
        "base_url": row.base_url,
        "default_base_url": settings.OPENAI_BASE_URL or "",
        "api_key": mask(row.api_key),
        "chat_model": row.chat_model,
        "embedding_model": row.embedding_model,
        "updated_at": row.updated_at if row.pk else None,
    }


class _SettingsView(KnownQueryParamsMixin, GenericAPIView):
    def get_permissions(self):
        return [IsOrgMember() if self.request.method in ("GET", "HEAD", "OPTIONS") else IsAdmin()]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "admin": IsAdmin().has_permission(self.request, self)}


@extend_schema(tags=["AI settings"])
class AISettingsView(_SettingsView):
    """The organization's AI provider: an OpenAI-compatible base URL (blank: the hub's), API key (write-only, shown
    masked), chat model and embedding model. Members read it; admins change it. A base URL must be a public address
    unless the hub's operator allows its host (EGRESS_ALLOWED_HOSTS), checked now and at every request."""

    serializer_class = AISettingsSerializer

    @extend_schema(responses={200: AISettingsSerializer, **ERRORS})
    def get(self, request):
        return Response(self.get_serializer(ai_settings_body(request.org)).data)

    @extend_schema(request=AISettingsInputSerializer, responses={200: AISettingsSerializer, **ERRORS})
    def post(self, request):
        """Change the fields given (the others stay)."""
        serializer = AISettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.ai_settings_save(organization=request.org, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(ai_settings_body(request.org)).data)


@extend_schema(tags=["AI settings"], parameters=[UsageQuerySerializer], responses={200: UsageSerializer, **ERRORS})
class AIUsageView(KnownQueryParamsMixin, GenericAPIView):
    """Tokens used through the organization's AI provider (chat and embeddings), per day in the organization's time
    zone and per model, over the last `days` days, with totals. Admins only."""

    permission_classes = [IsAdmin]
    serializer_class = UsageSerializer

    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = selectors.ai_usage_report(org=request.org, days=query.validated_data["days"])
        body = {
            "days": report.days,
            "since": report.since,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "total_tokens": report.prompt_tokens + report.completion_tokens,
            "requests": report.requests,
            "rows": [
                {
                    "day": row.day,
                    "model": row.model,
                    "prompt_tokens": row.prompt_tokens,
                    "completion_tokens": row.completion_tokens,
                    "total_tokens": row.prompt_tokens + row.completion_tokens,
                    "requests": row.requests,
                }
                for row in report.rows
            ],
        }
        return Response(UsageSerializer(body).data)


@extend_schema(tags=["AI settings"])
class OpenAISettingsView(_SettingsView):
    """The seed's shape of the AI settings: whether a provider is configured and its key, masked (admins only).
    POST sets the API key (the base URL and models stay: settings/ai)."""

    serializer_class = OpenAISettingsSerializer

    @extend_schema(responses={200: OpenAISettingsSerializer, **ERRORS})
    def get(self, request):
        row = selectors.ai_settings_for(organization_id=request.org.pk)
        body = {"configured": llm.is_configured(request.org), "masked_key": mask(row.api_key) if row else None}
        return Response(self.get_serializer(body).data)

    @extend_schema(request=OpenAIKeyInputSerializer, responses={200: SavedSerializer, **ERRORS})
    def post(self, request):
        serializer = OpenAIKeyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.ai_settings_save(
            organization=request.org, actor=request.user, api_key=serializer.validated_data["api_key"]
        )
        return Response(SavedSerializer({"status": "success", "message": "OpenAI API key saved"}).data)


urlpatterns = [
    api_path("settings/ai", AISettingsView.as_view(), name="settings-ai"),
    api_path("settings/ai/usage", AIUsageView.as_view(), name="settings-ai-usage"),
    api_path("settings/openai", OpenAISettingsView.as_view(), name="settings-openai"),
]
