from accounts import api, platform_api, session_api, two_factor_api
from whatsapp_hub.routers import Router, api_path

router = Router()
router.register("teams", api.TeamViewSet, basename="team")
router.register("custom-pages", api.CustomPageViewSet, basename="custom-page")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("email-logs", api.EmailLogViewSet, basename="email-log")
router.register("admin/users", api.MemberViewSet, basename="member")
router.register("admin/access-list", api.AccessListViewSet, basename="access-list")
router.register("super-admin/organizations", api.SuperAdminOrganizationViewSet, basename="super-admin-organization")
router.register("super-admin/plans", platform_api.PlanViewSet, basename="super-admin-plan")

urlpatterns = [
    api_path("auth/register", api.RegisterView.as_view(), "auth-register"),
    api_path("auth/login", api.LoginView.as_view(), "auth-login"),
    api_path("auth/google", api.GoogleLoginView.as_view(), "auth-google"),
    api_path("auth/magic-link", api.MagicLinkRequestView.as_view(), "auth-magic-link"),
    api_path("auth/magic-link/verify", api.MagicLinkVerifyView.as_view(), "auth-magic-link-verify"),
    api_path("auth/refresh", api.RefreshView.as_view(), "auth-refresh"),
    api_path("auth/logout", api.LogoutView.as_view(), "auth-logout"),
    api_path("auth/me", api.MeView.as_view(), "auth-me"),
    api_path("auth/sessions", session_api.SessionListView.as_view(), "auth-sessions"),
    api_path(
        "auth/sessions/revoke-others", session_api.SessionRevokeOthersView.as_view(), "auth-sessions-revoke-others"
    ),
    api_path(r"auth/sessions/(?P<session_id>\d{1,18})", session_api.SessionView.as_view(), "auth-session"),
    api_path("auth/2fa", two_factor_api.TwoFactorStatusView.as_view(), "auth-2fa"),
    api_path("auth/2fa/enrol", two_factor_api.EnrolmentStartView.as_view(), "auth-2fa-enrol"),
    api_path("auth/2fa/enrol/confirm", two_factor_api.EnrolmentConfirmView.as_view(), "auth-2fa-enrol-confirm"),
    api_path("auth/2fa/disable", two_factor_api.DisableView.as_view(), "auth-2fa-disable"),
    api_path("auth/2fa/recovery-codes", two_factor_api.RecoveryCodesView.as_view(), "auth-2fa-recovery-codes"),
    api_path("auth/2fa/verify", api.TwoFactorVerifyView.as_view(), "auth-2fa-verify"),
    api_path("auth/2fa/trusted-devices", two_factor_api.TrustedDeviceListView.as_view(), "auth-2fa-trusted-devices"),
    api_path(
        r"auth/2fa/trusted-devices/(?P<device_id>\d{1,18})",
        two_factor_api.TrustedDeviceView.as_view(),
        "auth-2fa-trusted-device",
    ),
    api_path("auth/switch-organization", api.SwitchOrganizationView.as_view(), "auth-switch-organization"),
    api_path("organizations", api.OrganizationCreateView.as_view(), "organizations"),
    api_path("auth/password-reset-request", api.PasswordResetRequestView.as_view(), "auth-password-reset-request"),
    api_path("auth/password-reset", api.PasswordResetView.as_view(), "auth-password-reset"),
    api_path("auth/register-with-invite", api.RegisterWithInviteView.as_view(), "auth-register-with-invite"),
    api_path("auth/ws-ticket", api.WsTicketView.as_view(), "auth-ws-ticket"),
    api_path("admin/team", api.TeamListView.as_view(), "admin-team"),
    api_path("organization", api.OrganizationView.as_view(), "organization"),
    api_path("audit-log", api.AuditLogView.as_view(), "audit-log"),
    api_path("logs", api.SystemLogView.as_view(), "system-log"),
    api_path("super-admin/login", api.SuperAdminLoginView.as_view(), "super-admin-login"),
    api_path("super-admin/dashboard", api.SuperAdminDashboardView.as_view(), "super-admin-dashboard"),
    *router.urls,
]
