"""Thin views: parse, call a service or selector, serialize."""

from datetime import date, timedelta

from django.utils.dateparse import parse_date
from django_filters import rest_framework as filters
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView, ListAPIView, ListCreateAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import lockout, magic_links, plans, platform, selectors, services, sessions, two_factor
from accounts.models import ApiKey, AuditLog, EmailLog, SystemLog, Team
from accounts.permissions import IsAdmin, IsOrgMember, IsSuperAdmin, IsUser
from accounts.platform_serializers import PlatformStatsSerializer
from accounts.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    AuditLogSerializer,
    CustomPageInputSerializer,
    CustomPageSerializer,
    DetailSerializer,
    EmailLogSerializer,
    GoogleLoginSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LoginSerializer,
    MagicLinkRequestSerializer,
    MagicLinkVerifySerializer,
    MeSerializer,
    OrganizationCreateSerializer,
    OrganizationSerializer,
    OrganizationStatusSerializer,
    PasswordResetRequestSerializer,
    PasswordResetSerializer,
    PlatformOrganizationCreateSerializer,
    PlatformOrganizationSerializer,
    RefreshSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    RegisterWithInviteResponseSerializer,
    RegisterWithInviteSerializer,
    RoleSerializer,
    SessionSerializer,
    SuperAdminLoginSerializer,
    SwitchOrganizationSerializer,
    SystemLogCreateSerializer,
    SystemLogSerializer,
    TeamMemberSerializer,
    TeamSerializer,
    WsTicketSerializer,
)
from accounts.two_factor_api import TwoFactorChallengeSerializer
from accounts.two_factor_api import VerifySerializer as TwoFactorVerifySerializer
from accounts.viewsets import TenantScopedMixin, TenantViewSet
from whatsapp_hub.filters import IsoDateTimeFilter
from whatsapp_hub.query_params import KnownQueryParamsMixin
from whatsapp_hub.schema import error_responses
from whatsapp_hub.serializers import MAX_ID
from whatsapp_hub.throttling import AuthRateThrottle, SystemLogRateThrottle

ERRORS = error_responses(
    [(400, "Invalid input ({detail, errors})"), (401, "Not authenticated"), (403, "Not allowed"), (404, "Not found")]
)


ERRORS_429 = error_responses([(429, "Too many requests (Retry-After)")])[429]
ERRORS_503 = error_responses([(503, "Google's keys could not be fetched")])[503]


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


class AnonymousAuthView(GenericAPIView):
    """Base of the sign-in family: no credentials needed, throttled per client IP."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def handle_exception(self, exc):
        if isinstance(exc, two_factor.SecondStepRequired):  # the first step passed: the answer asks for the second
            return Response({"two_factor_required": True, "challenge": exc.challenge})
        return super().handle_exception(exc)


# What a sign-in answers: tokens, or (two-step sign-in on, client not trusted) a challenge for auth/2fa/verify.
SIGN_IN_RESULT = PolymorphicProxySerializer(
    component_name="SignInResult",
    serializers=[SessionSerializer, TwoFactorChallengeSerializer],
    resource_type_field_name=None,
)


@extend_schema(tags=["auth"], responses={201: RegisterResponseSerializer, **_errors(400)})
class RegisterView(AnonymousAuthView):
    serializer_class = RegisterSerializer

    def post(self, request):
        user, organization = services.user_register(**self.validated(request))
        return Response({"user_id": user.pk, "organization_id": organization.pk}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"], responses={200: SIGN_IN_RESULT, **_errors(400, 401, 403), 429: ERRORS_429})
class LoginView(AnonymousAuthView):
    serializer_class = LoginSerializer
    staff_only = False

    def post(self, request):
        session = services.auth_login(request=request._request, staff_only=self.staff_only, **self.validated(request))
        return signed_in(request, session)


def signed_in(request, session: services.Session) -> Response:
    """The login answer; the browser that made the call becomes a known device of the account (accounts.lockout)."""
    response = Response(SessionSerializer(session).data)
    lockout.remember_device(request, response, session.user.email)
    return response


@extend_schema(
    tags=["auth"],
    responses={200: SIGN_IN_RESULT, **_errors(400, 401, 403, 404), 503: ERRORS_503},
    description="Sign in (or sign up) with a Google ID token: its signature (Google's published keys), audience (this "
    "server's Google client id), issuer, expiry and verified e-mail are checked. The account with that e-mail signs "
    "in; a new e-mail gets an account and an organization of its own (unless sign-up is closed: 403). Organizations "
    "may require Google or limit their members to their domains (403). 404 when Google sign-in is not configured.",
)
class GoogleLoginView(AnonymousAuthView):
    serializer_class = GoogleLoginSerializer

    def post(self, request):
        return signed_in(request, services.auth_google(request=request._request, **self.validated(request)))


@extend_schema(
    tags=["auth"],
    responses={202: DetailSerializer, **_errors(400), 429: ERRORS_429},
    description="E-mail a single-use sign-in link, valid for 15 minutes, to this address if an account has it. The "
    "answer is the same either way. Limited per address and per client (429).",
)
class MagicLinkRequestView(AnonymousAuthView):
    serializer_class = MagicLinkRequestSerializer

    def post(self, request):
        magic_links.magic_link_request(request=request._request, **self.validated(request))
        detail = "If an account exists for this e-mail, a sign-in link has been sent to it."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    tags=["auth"],
    responses={200: SIGN_IN_RESULT, **_errors(400, 401, 403)},
    description="Exchange the token of an e-mailed sign-in link (once) for a token pair, as auth/login answers.",
)
class MagicLinkVerifyView(AnonymousAuthView):
    serializer_class = MagicLinkVerifySerializer

    def post(self, request):
        user, membership = magic_links.auth_magic_link(request=request._request, **self.validated(request))
        return signed_in(request, services.session_issue(user=user, membership=membership, request=request._request))


@extend_schema(
    tags=["auth"],
    responses={200: SessionSerializer, **_errors(400, 401, 403), 429: ERRORS_429},
    description="The second step of a sign-in that answered `two_factor_required`: its `challenge` (5 minutes, once) "
    "with a current code of the authenticator app, or one of the recovery codes (each works once). Answers as "
    "auth/login does. `trust_device`: this client (a cookie) skips the second step for 30 days. Wrong codes are "
    "counted per account: past the limit, 429 until the lockout window ends.",
)
class TwoFactorVerifyView(AnonymousAuthView):
    serializer_class = TwoFactorVerifySerializer

    def post(self, request):
        data = self.validated(request)
        user, membership = two_factor.auth_second_step(
            request=request._request,
            challenge=data["challenge"],
            code=data.get("code", ""),
            recovery_code=data.get("recovery_code", ""),
        )
        response = signed_in(
            request, services.session_issue(user=user, membership=membership, request=request._request)
        )
        if data["trust_device"]:
            two_factor.trusted_device_create(request=request._request, response=response, user=user)
        return response


@extend_schema(tags=["auth"], responses={200: SessionSerializer, **_errors(400, 401)})
class RefreshView(AnonymousAuthView):
    serializer_class = RefreshSerializer

    def post(self, request):
        session = services.auth_refresh(request=request._request, **self.validated(request))
        return Response(SessionSerializer(session).data)


@extend_schema(tags=["auth"], responses={204: None, **_errors(400, 401)})
class LogoutView(AnonymousAuthView):
    serializer_class = RefreshSerializer

    def post(self, request):
        services.auth_logout(**self.validated(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"], responses={200: DetailSerializer, **_errors(400)})
class PasswordResetRequestView(AnonymousAuthView):
    serializer_class = PasswordResetRequestSerializer

    def post(self, request):
        services.password_reset_request(**self.validated(request))
        return Response({"detail": "If an account exists for this e-mail, a reset token has been sent to it."})


@extend_schema(tags=["auth"], responses={200: DetailSerializer, **_errors(400)})
class PasswordResetView(AnonymousAuthView):
    serializer_class = PasswordResetSerializer

    def post(self, request):
        services.password_reset(**self.validated(request))
        return Response({"detail": "Password reset. Sign in with the new password."})


@extend_schema(tags=["auth"], responses={201: RegisterWithInviteResponseSerializer, **_errors(400, 403)})
class RegisterWithInviteView(AnonymousAuthView):
    serializer_class = RegisterWithInviteSerializer

    def post(self, request):
        membership = services.invitation_accept(**self.validated(request))
        body = {"user_id": membership.user_id, "organization_id": membership.organization_id, "role": membership.role}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"], responses={200: MeSerializer, **_errors(401)})
class MeView(KnownQueryParamsMixin, APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        if request.user.pk is None:  # an API key has no profile
            return Response({"detail": "An API key has no profile: sign in as a user."}, status=403)
        memberships = selectors.user_memberships(user=request.user)
        body = {
            "user": request.user,
            "organization": request.org,
            "role": request.role,
            "memberships": memberships,
        }
        return Response(MeSerializer(body).data)


@extend_schema(tags=["auth"], request=None, responses={201: WsTicketSerializer, **_errors(401, 403)})
class WsTicketView(KnownQueryParamsMixin, APIView):
    """A one-time ticket for the live-inbox websocket: open `/ws/inbox/?ticket=<ticket>` within `expires_in`
    seconds (30). It acts as the caller (the member of the access token, or the API key) in the caller's
    organization; tokens never go into a URL. Browsers need none: their session opens the socket."""

    def post(self, request):
        api_key = request.api_key
        ticket = services.ws_ticket_issue(
            organization=request.org,
            role=request.role,
            user_id=request.user.pk,
            api_key_id=api_key.pk if api_key is not None else None,
            session_id=sessions.current_session_id(request),
        )
        body = {"ticket": ticket, "expires_in": int(services.WS_TICKET_TTL.total_seconds())}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["auth"],
    request=SwitchOrganizationSerializer,
    responses={200: SessionSerializer, **_errors(400, 401, 403)},
)
class SwitchOrganizationView(APIView):
    """A token pair acting in another organization of the signed-in user (see `memberships` in auth/me); 403 when
    they are not an active member of it or it is suspended. The current tokens stay valid."""

    permission_classes = [IsUser]

    def post(self, request):
        serializer = SwitchOrganizationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.auth_switch_organization(
            user=request.user, session_id=sessions.token_session_id(request), **serializer.validated_data
        )
        return Response(SessionSerializer(session).data)


@extend_schema(
    tags=["auth"],
    request=OrganizationCreateSerializer,
    responses={201: SessionSerializer, **_errors(400, 401, 403)},
)
class OrganizationCreateView(APIView):
    """Create another organization as a signed-in user, who becomes its admin: answered with a token pair acting in
    it (its `organization` and `role`). Sign-up creates the first one (auth/register)."""

    permission_classes = [IsUser]

    def post(self, request):
        serializer = OrganizationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.organization_create_for_user(user=request.user, **serializer.validated_data)
        session = services.session_issue(
            user=request.user, membership=membership, session_id=sessions.token_session_id(request)
        )
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


# --- organization admin ------------------------------------------------------------------------------


@extend_schema(tags=["organization admin"], responses={200: TeamMemberSerializer(many=True), **_errors(401, 403)})
class TeamListView(TenantScopedMixin, ListAPIView):
    permission_classes = [IsAdmin]
    serializer_class = TeamMemberSerializer
    filter_backends: list = []

    selector = staticmethod(selectors.team_members)


class MemberViewSet(viewsets.ViewSet):
    """Role changes and (de)activation of one member of the organization."""

    permission_classes = [IsAdmin]
    lookup_field = "user_id"
    lookup_value_regex = r"\d{1,18}"  # longer numbers are no user id (and would overflow the query)

    @extend_schema(tags=["organization admin"], request=RoleSerializer, responses={200: TeamMemberSerializer, **ERRORS})
    @action(detail=True, methods=["put"])
    def role(self, request, user_id):
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_set_role(
            organization=request.org, user_id=user_id, role=serializer.validated_data["role"], actor=request.user
        )
        return Response(TeamMemberSerializer(membership).data)

    @extend_schema(tags=["organization admin"], request=None, responses={200: TeamMemberSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, user_id):
        membership = services.member_deactivate(organization=request.org, user_id=user_id, actor=request.user)
        return Response(TeamMemberSerializer(membership).data)

    @extend_schema(tags=["organization admin"], request=None, responses={200: TeamMemberSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="sign-out-everywhere")
    def sign_out_everywhere(self, request, user_id):
        """Sign the member out of every browser and API session at once (accounts.sessions; audited)."""
        membership = sessions.member_sign_out_everywhere(organization=request.org, user_id=user_id, actor=request.user)
        return Response(TeamMemberSerializer(membership).data)

    @extend_schema(
        tags=["organization admin"],
        request=None,
        responses={204: None, **ERRORS, **error_responses([(409, "Two-step sign-in is not on")])},
    )
    @action(detail=True, methods=["post"], url_path="two-factor/reset")
    def two_factor_reset(self, request, user_id):
        """Turn the member's two-step sign-in off for them, when they lost both their authenticator app and their
        recovery codes: the secret, the recovery codes and the trusted browsers go, their sessions end, they are
        e-mailed (accounts.two_factor; audited). Not one's own (400); 409 when it is off."""
        two_factor.two_factor_reset(organization=request.org, user_id=int(user_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["organization admin"], request=None, responses={200: TeamMemberSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def activate(self, request, user_id):
        membership = services.member_activate(organization=request.org, user_id=user_id, actor=request.user)
        return Response(TeamMemberSerializer(membership).data)


@extend_schema(tags=["organization admin"])
class AccessListViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The access list: pending and past invitations. An invitation is revoked by its e-mail."""

    permission_classes = [IsAdmin]
    serializer_class = InvitationSerializer
    lookup_field = "email"
    lookup_value_regex = r"[^/]+"
    filter_backends: list = []

    selector = staticmethod(selectors.access_list)

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer, **_errors(400, 401, 403)})
    def create(self, request):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            organization=request.org, invited_by=request.user, **serializer.validated_data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, **_errors(401, 403, 404)})
    def destroy(self, request, email):
        services.invitation_revoke(organization=request.org, email=email, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["organization admin"])
class TeamViewSet(TenantViewSet):
    permission_classes = [IsAdmin]
    serializer_class = TeamSerializer
    queryset = Team.objects.prefetch_related("members")
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = services.team_create(
            organization=self.request.org, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.team_update(
            team=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.team_delete(team=instance, actor=self.request.user)


@extend_schema(tags=["organization admin"])
class ApiKeyViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.select_related("created_by")
    filterset_fields = ["role"]
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "last_used_at"]

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer, **_errors(400, 401, 403)})
    def create(self, request):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.api_key_create(organization=request.org, actor=request.user, **serializer.validated_data)
        key.key = raw
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiKeySerializer, **_errors(401, 403, 404)})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = services.api_key_revoke(api_key=self.get_object(), actor=request.user)
        return Response(ApiKeySerializer(key).data)

    @extend_schema(responses={204: None, **_errors(401, 403, 404)})
    def destroy(self, request, pk=None):
        """Revoke the key, like POST revoke: it stops working at once and stays listed as revoked (audited once;
        deleting a revoked key again changes nothing)."""
        services.api_key_revoke(api_key=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["organization admin"], responses={200: OrganizationSerializer, **_errors(400, 401, 403)})
class OrganizationView(KnownQueryParamsMixin, GenericAPIView):
    """The caller's organization. Everyone in it may read; admins may change name and settings."""

    serializer_class = OrganizationSerializer

    def get_permissions(self):
        return [IsAdmin()] if self.request.method not in ("GET", "HEAD", "OPTIONS") else super().get_permissions()

    def get(self, request):
        return Response(OrganizationSerializer(request.org).data)

    def patch(self, request):
        serializer = OrganizationSerializer(request.org, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        organization = services.organization_update(
            organization=request.org, actor=request.user, **serializer.validated_data
        )
        return Response(OrganizationSerializer(organization).data)


class DateRangeFilterSet(filters.FilterSet):
    """`date_to` is inclusive of a bare date: date_to=2025-03-02 keeps that whole day, not just its midnight. A
    subclass declares `date_to = IsoDateTimeFilter(field_name=..., method="filter_date_to")`."""

    def filter_date_to(self, queryset, name, value):
        if parse_date(self.data.get("date_to", "")) is not None:
            if value.date() == date.max:  # the last day there is: no day after it to stop before
                return queryset
            return queryset.filter(**{f"{name}__lt": value + timedelta(days=1)})
        return queryset.filter(**{f"{name}__lte": value})


class AuditLogFilter(DateRangeFilterSet):
    action = filters.CharFilter()
    actor = filters.NumberFilter(field_name="actor_id", min_value=1, max_value=MAX_ID)
    date_from = IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    date_to = IsoDateTimeFilter(field_name="at", method="filter_date_to")

    class Meta:
        model = AuditLog
        fields = ["action", "actor", "date_from", "date_to"]


@extend_schema(tags=["organization admin"])
class AuditLogView(TenantScopedMixin, ListAPIView):
    permission_classes = [IsAdmin]
    serializer_class = AuditLogSerializer
    filterset_class = AuditLogFilter
    filter_backends = [filters.DjangoFilterBackend]

    selector = staticmethod(selectors.audit_log)


class EmailLogFilter(DateRangeFilterSet):
    kind = filters.ChoiceFilter(choices=EmailLog.Kind.choices)
    status = filters.ChoiceFilter(choices=EmailLog.Status.choices)
    recipient = filters.CharFilter(lookup_expr="icontains", max_length=254, help_text="The address contains")
    date_from = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    date_to = IsoDateTimeFilter(field_name="created_at", method="filter_date_to")

    class Meta:
        model = EmailLog
        fields = ["kind", "status", "recipient", "date_from", "date_to"]


@extend_schema_view(
    list=extend_schema(responses={200: EmailLogSerializer(many=True), **_errors(400, 401, 403)}),
    retrieve=extend_schema(responses={200: EmailLogSerializer, **_errors(401, 403, 404)}),
)
@extend_schema(tags=["organization admin"])
class EmailLogViewSet(TenantScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The e-mails the hub sent about the organization, newest first (accounts.mail): invitations, notices,
    notifications, and its members' own mail when they belong to it alone. Each with its status (queued, sent,
    failed), attempts, last error and its attachments' names and sizes; never a body. Admins only."""

    permission_classes = [IsAdmin]
    serializer_class = EmailLogSerializer
    filterset_class = EmailLogFilter
    filter_backends = [filters.DjangoFilterBackend]

    selector = staticmethod(selectors.email_log)


class SystemLogFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=SystemLog.Level.choices)
    category = filters.ChoiceFilter(choices=SystemLog.Category.choices)
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = SystemLog
        fields = ["level", "category", "since"]


@extend_schema_view(
    get=extend_schema(responses={200: SystemLogSerializer(many=True), **_errors(400, 401, 403)}),
    post=extend_schema(
        request=SystemLogCreateSerializer, responses={201: SystemLogSerializer, **_errors(400, 401, 403)}
    ),
)
@extend_schema(tags=["organization admin"])
class SystemLogView(TenantScopedMixin, ListCreateAPIView):
    """The organization's system log, newest first: what its admins should know happened (a webhook event that could
    not be processed, a message that could not be delivered, a flow run that failed, an outbound webhook disabled, a
    number's status or quality changed, a template rejected), and the entries its API clients add (POST: category
    `api`, throttled per organization). Entries are kept SYSTEM_LOG_RETENTION_DAYS days. New entries are pushed to
    the admins' live sockets as `system_log.created`."""

    permission_classes = [IsAdmin]
    serializer_class = SystemLogSerializer
    filterset_class = SystemLogFilter
    filter_backends = [filters.DjangoFilterBackend]

    selector = staticmethod(selectors.system_log)

    def get_throttles(self):
        throttles = super().get_throttles()
        return [*throttles, SystemLogRateThrottle()] if self.request.method == "POST" else throttles

    def create(self, request, *args, **kwargs):
        serializer = SystemLogCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        log = services.system_log_add(organization=request.org, **serializer.validated_data)
        return Response(SystemLogSerializer(log).data, status=status.HTTP_201_CREATED)


# --- super admin -------------------------------------------------------------------------------------


@extend_schema(tags=["super admin"], responses={200: SessionSerializer, **_errors(400, 401, 403), 429: ERRORS_429})
class SuperAdminLoginView(LoginView):
    serializer_class = SuperAdminLoginSerializer
    staff_only = True


@extend_schema(tags=["super admin"], responses={200: PlatformStatsSerializer, **_errors(401, 403)})
class SuperAdminDashboardView(KnownQueryParamsMixin, APIView):
    permission_classes = [IsSuperAdmin]

    def get(self, request):
        return Response(PlatformStatsSerializer(platform.platform_stats()).data)


# PUT on an organization answers 405 (PATCH edits it): the route exists for set_status's PUT, not in the schema.
@extend_schema_view(update=extend_schema(exclude=True))
@extend_schema(tags=["super admin"])
class SuperAdminOrganizationViewSet(
    KnownQueryParamsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tenants, seen from the platform: every organization, outside any tenant scope, with its first admin and its
    usage (members, numbers, messages this month, stored bytes)."""

    permission_classes = [IsSuperAdmin]
    serializer_class = PlatformOrganizationSerializer
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]
    filterset_fields = ["status", "plan"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return platform.organizations_with_usage().order_by("name", "id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            plans.plans_attach(page)  # their limits, one query
        return page

    @extend_schema(
        request=PlatformOrganizationCreateSerializer, responses={201: PlatformOrganizationSerializer, **ERRORS}
    )
    def create(self, request):
        serializer = PlatformOrganizationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization, invitation = services.organization_create_with_admin(
            actor=request.user, **serializer.validated_data
        )
        body = PlatformOrganizationSerializer(organization).data
        body["admin_invitation"] = InvitationSerializer(invitation).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return Response({"detail": "Use PATCH to edit an organization."}, status=405)
        organization = self.get_object()
        serializer = self.get_serializer(organization, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.organization_platform_update(
            organization=organization, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=OrganizationStatusSerializer, responses={200: PlatformOrganizationSerializer, **ERRORS})
    @action(detail=True, methods=["put"], url_path="status")
    def set_status(self, request, pk=None):
        serializer = OrganizationStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.organization_set_status(
            organization=self.get_object(), actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None, **_errors(401, 403, 404)})
    def destroy(self, request, pk=None):
        platform.organization_delete(organization=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


_PAGE_ERRORS = _errors(400, 401, 403, 404)


@extend_schema_view(
    list=extend_schema(responses={200: CustomPageSerializer(many=True), **_errors(401, 403)}),
    retrieve=extend_schema(responses={200: CustomPageSerializer, **_errors(401, 403, 404)}),
    create=extend_schema(request=CustomPageInputSerializer, responses={201: CustomPageSerializer, **_PAGE_ERRORS}),
    update=extend_schema(request=CustomPageInputSerializer, responses={200: CustomPageSerializer, **_PAGE_ERRORS}),
    partial_update=extend_schema(
        request=CustomPageInputSerializer, responses={200: CustomPageSerializer, **_PAGE_ERRORS}
    ),
    destroy=extend_schema(responses={204: None, **_errors(401, 403, 404)}),
)
@extend_schema(tags=["custom pages"])
class CustomPageViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    """The organization's custom pages: entries admins add to the web app's navigation, after the built-in ones,
    showing Markdown (rendered safely: `html`) or an external http(s) address in a sandboxed frame.

    Roles: every member reads them (they are in everyone's navigation); admins create, edit and delete them. PUT and
    PATCH both change only the fields sent."""

    serializer_class = CustomPageSerializer
    filter_backends: list = []
    lookup_value_regex = r"\d{1,18}"
    selector = staticmethod(selectors.custom_page_list)

    def get_permissions(self):
        allowed = IsOrgMember if self.action in ("list", "retrieve") else IsAdmin
        return [allowed()]

    def _input(self, *, partial: bool) -> dict:
        serializer = CustomPageInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request):
        page = services.custom_page_create(organization=request.org, actor=request.user, **self._input(partial=False))
        return Response(CustomPageSerializer(page).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        page = services.custom_page_update(page=self.get_object(), actor=request.user, **self._input(partial=True))
        return Response(CustomPageSerializer(page).data)

    def perform_destroy(self, instance):
        services.custom_page_delete(page=instance, actor=self.request.user)
