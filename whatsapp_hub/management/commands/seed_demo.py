from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization, Role, User

DEMO_ORG = "Demo Store"
DEMO_PEOPLE = [
    ("admin@demo.local", "Dana Admin", Role.ADMIN, "demo-admin-pass"),
    ("agent@demo.local", "Omar Agent", Role.AGENT, "demo-agent-pass"),
    ("marketing@demo.local", "Maya Marketing", Role.MARKETING, "demo-marketing-pass"),
]


class Command(BaseCommand):
    help = "Create the demo organization and its people (idempotent) and print how to sign in."

    @transaction.atomic
    def handle(self, *args, **options):
        organization, _ = Organization.objects.get_or_create(
            slug="demo-store", defaults={"name": DEMO_ORG, "plan": Organization.Plan.PRO}
        )
        for email, name, role, password in DEMO_PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, password, name=name)
            Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": role})
        if not User.objects.filter(email="staff@demo.local").exists():
            User.objects.create_superuser("staff@demo.local", "demo-staff-pass", name="Platform Staff")

        ready = f"Demo organization '{organization.name}' (id {organization.pk}) is ready."
        self.stdout.write(self.style.SUCCESS(ready))
        self.stdout.write("Sign in with (e-mail / password):")
        for email, _, role, password in DEMO_PEOPLE:
            self.stdout.write(f"  {role:<10} {email} / {password}")
        self.stdout.write("  super admin staff@demo.local / demo-staff-pass  (also /admin/)")
        self.stdout.write("Open http://127.0.0.1:8000/api/v1/docs/ for the API.")
