"""Role permissions as small reusable classes. Compose with & and |, e.g. IsOrgMember & (ReadOnly | IsAdmin)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role


class IsOrgMember(BasePermission):
    """Authenticated and acting inside an organization (JWT with an organization, or an API key)."""

    message = "Authentication with an organization is required."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and getattr(request, "org", None) is not None)


class _HasRole(IsOrgMember):
    roles: frozenset[str] = frozenset()

    def has_permission(self, request, view):
        return super().has_permission(request, view) and getattr(request, "role", None) in self.roles


class IsAdmin(_HasRole):
    """Admins; a person whose organization requires two-step sign-in of its admins must have it on (403
    two_factor_enrolment_required until then: accounts.two_factor)."""

    message = "Admin role required."
    roles = frozenset({Role.ADMIN})

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        from accounts import two_factor  # permissions load with the settings' DRF classes, before the models

        if two_factor.enrolment_required(user=request.user, organization=request.org, role=request.role):
            raise two_factor.enrolment_required_error()
        return True


class IsAgent(_HasRole):
    """The inbox: agents and admins."""

    message = "Agent or admin role required."
    roles = frozenset({Role.ADMIN, Role.AGENT})


class IsMarketing(_HasRole):
    """Contacts, templates and campaigns: marketing and admins."""

    message = "Marketing or admin role required."
    roles = frozenset({Role.ADMIN, Role.MARKETING})


class IsUser(BasePermission):
    """A signed-in person (a token or a browser session), in an organization or none. API keys never qualify: they
    act for their organization, as nobody."""

    message = "Sign in as a user: an API key acts for its organization only."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.pk is not None)


class ReadOnly(BasePermission):
    def has_permission(self, request, view):
        return request.method in SAFE_METHODS


class IsSuperAdmin(BasePermission):
    """Platform staff, outside every tenant. API keys never qualify."""

    message = "Super admin access required."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.pk)
