"""Credentials -> (user, organization, role). Every class sets request.org and request.role."""

from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication
from rest_framework_simplejwt import authentication as simplejwt

from accounts import selectors, services, sessions
from accounts.models import ApiKey, normalize_email


class ApiKeyPrincipal:
    """request.user for an API key: authenticated, never staff, acting for the key's organization."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def axes_username(request, credentials: dict | None) -> str | None:
    """django-axes' lockout key: the e-mail given to authenticate(), normalised like the login."""
    username = (credentials or {}).get("username")
    return normalize_email(username) if username else None


def _bind(request, *, org, role, api_key=None) -> None:
    for target in (request, request._request):
        target.org = org
        target.role = role
        target.api_key = api_key


class JWTAuthentication(simplejwt.JWTAuthentication):
    """Bearer access token; the token names the organization, the membership gives the role.

    The membership, organization status and token version are checked on every request, so
    deactivation, suspension and password changes take effect at once.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if token.get("tv") != user.token_version:
            raise exceptions.AuthenticationFailed("Token has been revoked.", code="token_revoked")
        session_id = token.get(sessions.SESSION_CLAIM)
        if session_id is not None and not sessions.session_in_use(session_id=session_id, user_id=user.pk):
            raise exceptions.AuthenticationFailed("This session was signed out.", code="session_revoked")
        org_id = token.get("org")
        if org_id is None:
            _bind(request, org=None, role=None)
            return user, token
        membership = selectors.membership_for(user=user, organization_id=org_id)
        problem = selectors.membership_problem(membership)
        if problem:
            raise exceptions.AuthenticationFailed(problem, code="membership_inactive")
        _bind(request, org=membership.organization, role=membership.role)
        return user, token


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>` or `X-API-Key: <key>`: acts for the key's organization and role."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith(f"{self.keyword} "):
            raw = header[len(self.keyword) + 1 :].strip()
        elif "HTTP_X_API_KEY" in request.META:
            raw = request.META["HTTP_X_API_KEY"].strip()
        else:
            return None
        api_key = selectors.api_key_for_secret(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.", code="invalid_api_key")
        if not api_key.organization.is_active:
            raise exceptions.AuthenticationFailed("The organization is suspended.", code="organization_suspended")
        services.api_key_touch(api_key=api_key)
        _bind(request, org=api_key.organization, role=api_key.role, api_key=api_key)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class SessionAuthentication(DRFSessionAuthentication):
    """The web app's own API calls: the browser's Django session (CSRF enforced), acting in the organization the
    session chose (accounts.selectors.session_membership), checked on every request like a token."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        membership = selectors.session_membership(user=user, session=request._request.session)
        problem = selectors.membership_problem(membership)
        if problem:
            raise exceptions.AuthenticationFailed(problem, code="membership_inactive")
        _bind(request, org=membership.organization, role=membership.role)
        return user, None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "Organization API key (also accepted as `Authorization: Api-Key <key>`).",
        }


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class SessionScheme(SpectacularSessionScheme):
    target_class = "accounts.authentication.SessionAuthentication"
