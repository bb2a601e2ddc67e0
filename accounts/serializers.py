from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import org_settings
from accounts.markdown import markdown_render
from accounts.models import (
    ApiKey,
    AuditLog,
    CustomPage,
    EmailAttachment,
    EmailLog,
    Invitation,
    Membership,
    Organization,
    Role,
    SystemLog,
    Team,
    User,
)
from accounts.services import (
    CUSTOM_PAGE_CONTENT_MAX_LENGTH,
    CUSTOM_PAGE_ICONS,
    CUSTOM_PAGE_POSITION_MAX,
    CUSTOM_PAGE_TITLE_MAX_LENGTH,
    CUSTOM_PAGE_URL_MAX_LENGTH,
)
from whatsapp_hub.schema import DetailSerializer  # noqa: F401  (the API's error shape, re-exported)
from whatsapp_hub.serializers import MAX_ID, StrictModelSerializer, StrictSerializer


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "is_active", "is_staff", "date_joined"]
        read_only_fields = fields


def _keywords_schema(description: str) -> dict:
    # A word: something but spaces in it, no control characters.
    word = {
        "type": "string",
        "maxLength": org_settings.KEYWORD_MAX_LENGTH,
        "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$",
    }
    return {
        "type": "array",
        "items": word,
        "maxItems": org_settings.KEYWORDS_MAX,
        "nullable": True,
        "description": description,
    }


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": False,
        "description": "Known keys only, merged into the current settings on PATCH; null removes a key.",
        "properties": {
            "timezone": {
                "type": "string",
                "maxLength": 64,
                "nullable": True,
                "description": "An IANA time zone name, e.g. Asia/Riyadh.",
            },
            "locale": {"type": "string", "enum": org_settings.locales(), "nullable": True},
            "opt_out_keywords": _keywords_schema(
                "Whole inbound messages that opt a contact out of marketing. STOP, UNSUBSCRIBE and their Arabic "
                "equivalents always apply: they are added when missing."
            ),
            "opt_in_keywords": _keywords_schema("Whole inbound messages that opt a contact back in."),
            "sign_in": {
                "type": "object",
                "nullable": True,
                "additionalProperties": False,
                "description": "How members sign in.",
                "properties": {
                    "require_google": {
                        "type": "boolean",
                        "description": "Members sign in with Google only (password and e-mail link refused).",
                    },
                    "allowed_domains": {
                        "type": "array",
                        "maxItems": org_settings.DOMAINS_MAX,
                        "items": {"type": "string", "maxLength": 253},
                        "description": "E-mail domains members and invitations must have ([]: any).",
                    },
                },
            },
            "require_admin_two_factor": {
                "type": "boolean",
                "nullable": True,
                "description": "Admins must use two-step sign-in: until they turn it on, admin-only routes answer "
                "403 with code two_factor_enrolment_required.",
            },
            "business_hours": {
                "type": "object",
                "nullable": True,
                "additionalProperties": False,
                "minProperties": 1,
                "description": "Per weekday, one opening interval [open, close] (HH:MM, 24 hours, open before close) "
                "in the organization's time zone; a day left out is closed. Reports may count only what came in "
                "within these hours.",
                "properties": {
                    day: {
                        "type": "array",
                        "items": {"type": "string", "pattern": org_settings.TIME.pattern},
                        "minItems": 2,
                        "maxItems": 2,
                        "example": ["09:00", "17:00"],
                    }
                    for day in org_settings.WEEKDAYS
                },
            },
        },
    }
)
class OrganizationSettingsField(serializers.JSONField):
    """Organization.settings (accounts.org_settings checks the values in the service)."""


class OrganizationSerializer(StrictModelSerializer):
    user_limit = serializers.IntegerField(read_only=True, allow_null=True)
    settings = OrganizationSettingsField(required=False)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "status", "plan", "user_limit", "settings", "created_at"]
        read_only_fields = ["id", "slug", "status", "plan", "user_limit", "created_at"]

    def validate_settings(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value


# --- auth -------------------------------------------------------------------------------------


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    name = serializers.CharField(max_length=150)
    organization_name = serializers.CharField(max_length=200)


class RegisterResponseSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    organization_id = serializers.IntegerField()


class LoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    organization_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)


class GoogleLoginSerializer(StrictSerializer):
    token = serializers.CharField(max_length=8192, help_text="A Google ID token (a JWT from Google Sign-In)")
    organization_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)


class MagicLinkRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class MagicLinkVerifySerializer(StrictSerializer):
    token = serializers.CharField(max_length=200, help_text="The `token` of the e-mailed link")
    organization_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)


class SuperAdminLoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class WsTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Open `/ws/inbox/?ticket=<ticket>` with it: once, within expires_in")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays usable")


class SessionSerializer(serializers.Serializer):
    """The login/refresh answer: tokens, who, where and as what."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    user = UserSerializer()
    organization = OrganizationSerializer(allow_null=True, source="membership.organization", default=None)
    role = serializers.CharField(allow_null=True, source="membership.role", default=None)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["token_type"] = "bearer"
        if instance.membership is None and instance.user.is_staff:
            data["role"] = "super_admin"
        return data


class RefreshSerializer(StrictSerializer):
    refresh_token = serializers.CharField(max_length=4096)


class MembershipSummarySerializer(serializers.ModelSerializer):
    organization_id = serializers.IntegerField()
    organization_name = serializers.CharField(source="organization.name")
    organization_status = serializers.CharField(source="organization.status")

    class Meta:
        model = Membership
        fields = ["organization_id", "organization_name", "organization_status", "role", "is_active"]


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    organization = OrganizationSerializer(allow_null=True)
    role = serializers.CharField(allow_null=True)
    memberships = MembershipSummarySerializer(many=True)


class OrganizationCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)


class SwitchOrganizationSerializer(StrictSerializer):
    organization_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class PasswordResetRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetSerializer(StrictSerializer):
    token = serializers.CharField(max_length=512)
    new_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class RegisterWithInviteSerializer(StrictSerializer):
    token = serializers.CharField(max_length=512)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class RegisterWithInviteResponseSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    organization_id = serializers.IntegerField()
    role = serializers.CharField()


# --- organization admin ---------------------------------------------------------------------------


class TeamMemberSerializer(serializers.ModelSerializer):
    """A person in the organization (GET admin/team)."""

    user_id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    user_is_active = serializers.BooleanField(source="user.is_active")

    class Meta:
        model = Membership
        fields = ["user_id", "email", "name", "role", "is_active", "user_is_active", "created_at"]


class RoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True, default=None)
    invited_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "invited_at", "expires_at", "accepted_at"]


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class TeamSerializer(StrictModelSerializer):
    member_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, write_only=True
    )
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "description", "member_ids", "members", "created_at"]
        read_only_fields = ["id", "members", "created_at"]

    def get_members(self, team) -> list[dict]:
        return [{"id": user.pk, "email": user.email, "name": user.name} for user in team.members.all()]


class ApiKeySerializer(StrictModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_by", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = ["id", "prefix", "created_by", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret: shown in this response only.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class AuditLogSerializer(serializers.ModelSerializer):
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    api_key = serializers.CharField(source="api_key.prefix", allow_null=True, default=None)

    class Meta:
        model = AuditLog
        fields = ["id", "at", "action", "actor", "api_key", "target_type", "target_id", "data"]


class EmailAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailAttachment
        fields = ["filename", "content_type", "size"]
        read_only_fields = fields


class EmailLogSerializer(serializers.ModelSerializer):
    attachments = EmailAttachmentSerializer(many=True, read_only=True)
    last_error = serializers.CharField(help_text="The last mail-server or connection error, or blank.")

    class Meta:
        model = EmailLog
        fields = [
            "id",
            "created_at",
            "sent_at",
            "kind",
            "recipient",
            "user",
            "subject",
            "language",
            "status",
            "attempts",
            "last_error",
            "attachments",
        ]
        read_only_fields = fields


class SystemLogSerializer(serializers.ModelSerializer):
    related_type = serializers.CharField(help_text="What the entry is about (e.g. message, flow, template), or blank.")
    related_id = serializers.CharField(help_text="The id of what it is about, or blank.")

    class Meta:
        model = SystemLog
        fields = ["id", "created_at", "level", "category", "message", "details", "related_type", "related_id"]
        read_only_fields = fields


def system_logs_data(logs) -> list[dict]:
    """The entries as the API shows them (also the live push's `logs`)."""
    return SystemLogSerializer(logs, many=True).data


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": f"Anything JSON, at most {SystemLog.DETAILS_MAX} characters of it.",
    }
)
class SystemLogDetailsField(serializers.JSONField):
    pass


class SystemLogCreateSerializer(StrictSerializer):
    """An entry an API client adds: its category is always `api`."""

    level = serializers.ChoiceField(choices=SystemLog.Level.choices, default=SystemLog.Level.INFO)
    message = serializers.CharField(max_length=SystemLog.MESSAGE_MAX)
    details = SystemLogDetailsField(required=False, default=dict)

    def validate_details(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value


# --- super admin -----------------------------------------------------------------------------------


class PlatformOrganizationSerializer(StrictModelSerializer):
    user_limit = serializers.IntegerField(read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True, default=0)
    settings = OrganizationSettingsField(read_only=True)
    plan = serializers.CharField(max_length=16, required=False, help_text="An active plan's code (super-admin/plans).")
    owner_email = serializers.EmailField(read_only=True, allow_null=True, default=None, help_text="Its first admin.")
    messages_this_month = serializers.IntegerField(read_only=True, default=0, help_text="Outbound messages.")
    number_count = serializers.IntegerField(read_only=True, default=0, source="numbers_count")
    storage_bytes = serializers.IntegerField(read_only=True, default=0, help_text="Stored files (media, documents).")

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "status",
            "plan",
            "user_limit",
            "owner_email",
            "member_count",
            "number_count",
            "messages_this_month",
            "storage_bytes",
            "settings",
            "created_at",
        ]
        read_only_fields = ["id", "slug", "status", "user_limit", "member_count", "settings", "created_at"]


class PlatformOrganizationCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    admin_email = serializers.EmailField(max_length=254)
    plan = serializers.CharField(max_length=16, default=Organization.Plan.STARTER, help_text="An active plan's code.")


class OrganizationStatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Organization.Status.choices)


class CustomPageSerializer(serializers.ModelSerializer):
    """A custom page of the navigation. `html`: its Markdown as the hub shows it (raw HTML escaped, links only to
    http(s), mailto and this site), null for an external URL page."""

    html = serializers.SerializerMethodField()
    # A plain string: "" for a Markdown page (a URLField would promise a URI).
    url = serializers.CharField(read_only=True, help_text="The http(s) address of an external URL page, else empty")

    class Meta:
        model = CustomPage
        fields = ["id", "title", "icon", "position", "kind", "content", "url", "html", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_html(self, page: CustomPage) -> str | None:
        return markdown_render(page.content) if page.kind == CustomPage.Kind.MARKDOWN else None


class CustomPageInputSerializer(StrictSerializer):
    """Create and update body (PUT and PATCH change only the fields sent; changing `kind` clears the other kind's
    field)."""

    title = serializers.CharField(max_length=CUSTOM_PAGE_TITLE_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=CustomPage.Kind.values)
    icon = serializers.ChoiceField(choices=list(CUSTOM_PAGE_ICONS), required=False)
    position = serializers.IntegerField(min_value=0, max_value=CUSTOM_PAGE_POSITION_MAX, required=False)
    content = serializers.CharField(
        max_length=CUSTOM_PAGE_CONTENT_MAX_LENGTH,
        allow_blank=True,
        required=False,
        trim_whitespace=False,
        help_text="Markdown (kind markdown, required there): raw HTML is shown as text",
    )
    url = serializers.CharField(
        max_length=CUSTOM_PAGE_URL_MAX_LENGTH,
        allow_blank=True,
        required=False,
        help_text="An http(s) address shown in a sandboxed frame (kind url, required there)",
    )
