from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRate:
    def get_rate(self):
        # Read at call time so the rates follow settings (and tests that override them).
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class PrincipalRateThrottle(_SettingsRate, SimpleRateThrottle):
    """Authenticated requests: one bucket per user, or per API key for integrations."""

    scope = "principal"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            ident = f"key:{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AuthRateThrottle(_SettingsRate, SimpleRateThrottle):
    """Anonymous auth endpoints (login, register, reset): one bucket per client IP."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class OrganizationRateThrottle(_SettingsRate, SimpleRateThrottle):
    """One bucket per organization, whoever calls (its people and its API keys together): for writes an organization
    must not flood, on top of the per-principal throttle. Subclasses set `scope` (its rate in
    DEFAULT_THROTTLE_RATES)."""

    def get_cache_key(self, request, view):
        organization = getattr(request, "org", None)
        if organization is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"org:{organization.pk}"}


class SystemLogRateThrottle(OrganizationRateThrottle):
    scope = "system_log"
