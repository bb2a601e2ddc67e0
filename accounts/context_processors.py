"""What the shell of every page shows: the person's organizations for the switcher, their role, the staff link."""

from accounts import selectors
from accounts.forms import ROLE_CHOICES
from accounts.models import Role
from accounts.permissions import IsMarketing


def shell(request) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "shell": {
            "organization": membership.organization,
            "role": membership.role,
            "role_label": dict(ROLE_CHOICES)[membership.role],
            "is_admin": membership.role == Role.ADMIN,
            "uses_inbox": membership.role in (Role.ADMIN, Role.AGENT),
            "uses_marketing": membership.role in IsMarketing.roles,
            "custom_pages": selectors.custom_page_rail(org=membership.organization),
            "memberships": [
                other
                for other in selectors.user_memberships(user=request.user)
                if selectors.membership_problem(other) is None
            ],
        }
    }
