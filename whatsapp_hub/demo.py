"""The demo of `make run`: its people (with published passwords) and whether this run is the embedded default."""

from django.conf import settings

from accounts.models import Role, User

DEMO_ORG = "Demo Store"
DEMO_PEOPLE = [
    ("admin@demo.local", "Dana Admin", Role.ADMIN, "demo-admin-pass"),
    ("agent@demo.local", "Omar Agent", Role.AGENT, "demo-agent-pass"),
    ("marketing@demo.local", "Maya Marketing", Role.MARKETING, "demo-marketing-pass"),
]


def production_signs() -> list[str]:
    """Why this configuration is not the embedded default (nothing when it is)."""
    signs = ["DEBUG is off"] if not settings.DEBUG else []
    return [*signs, "DATABASE_URL is set"] if settings.DATABASE_URL else signs


def sign_in_hint() -> dict | None:
    """The demo admin's e-mail and password for the sign-in page: only in the embedded default, once seeded."""
    email, _, _, password = DEMO_PEOPLE[0]
    if production_signs() or not User.objects.filter(email=email).exists():
        return None
    return {"email": email, "password": password}
