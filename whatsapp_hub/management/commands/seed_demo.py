from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Membership, Organization, User
from messaging.models import CannedResponse, Provider, WhatsAppNumber
from messaging.providers.sandbox import inbound_webhook_for
from messaging.services import ingest
from messaging.services.canned import canned_response_create
from templates import selectors as template_selectors
from templates import services as template_services
from whatsapp_hub.demo import DEMO_ORG, DEMO_PEOPLE, DEMO_TEMPLATES, production_signs

SANDBOX_PHONE_NUMBER_ID = "sandbox-demo"
DEMO_CUSTOMERS = [
    ("966501234567", "Layla", "مرحبا، هل الطلب جاهز؟"),
    ("447700900123", "James", "Hi! Do you ship to Manchester?"),
    ("15551234567", "Sofia", "Can I change the size of my order?"),
]
# The agents' "/" menu: (shortcut, title, text).
DEMO_CANNED_RESPONSES = [
    ("price", "Prices", "Hi {{contact.first_name}}, our prices start at 49 SAR, and delivery is free over 200 SAR."),
    ("shipping", "Shipping", "We ship to the GCC and the UK in 2 to 5 working days. Best, {{agent.name}}"),
    ("hours", "Opening hours", "We answer every day from 9:00 to 21:00 (Riyadh time)."),
    ("thanks", "شكر", "شكراً لتواصلك معنا يا {{contact.first_name}} 🌸"),
]


class Command(BaseCommand):
    help = (
        "Create the demo organization, its people and a sandbox number with a few conversations (idempotent). "
        "Only in the embedded default (DEBUG on, no DATABASE_URL) unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed a production configuration too (accounts with known passwords, a super admin among them).",
        )

    def handle(self, *args, force: bool = False, **options):
        # The demo's people have published passwords, a super admin among them: never in a real database by mistake.
        production = production_signs()
        if production and not force:
            raise CommandError(
                f"Refusing to seed demo accounts with known passwords: this is not the embedded default "
                f"({' and '.join(production)}). Add --force to seed it anyway."
            )
        organization = self._people()
        self._conversations(organization)
        self._canned_responses(organization)
        self._templates(organization)
        ready = f"Demo organization '{organization.name}' (id {organization.pk}) is ready."
        self.stdout.write(self.style.SUCCESS(ready))
        self.stdout.write("Sign in with (e-mail / password):")
        for email, _, role, password in DEMO_PEOPLE:
            self.stdout.write(f"  {role:<10} {email} / {password}")
        self.stdout.write("  super admin staff@demo.local / demo-staff-pass  (also /admin/)")
        self.stdout.write("Open http://127.0.0.1:8000/ to sign in (the API docs: http://127.0.0.1:8000/api/v1/docs/).")

    @transaction.atomic
    def _people(self) -> Organization:
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
        WhatsAppNumber.objects.for_org(organization).get_or_create(
            organization=organization,
            phone_number_id=SANDBOX_PHONE_NUMBER_ID,
            defaults={
                "display_name": "Demo sandbox",
                "provider": Provider.SANDBOX,
                "phone_number": "+15550001111",
                "is_primary": True,
            },
        )
        return organization

    def _conversations(self, organization: Organization) -> None:
        """Customers' first messages, through the same ingest path as a real Meta webhook."""
        number = WhatsAppNumber.objects.for_org(organization).get(phone_number_id=SANDBOX_PHONE_NUMBER_ID)
        for wa_id, name, text in DEMO_CUSTOMERS:
            part = {"type": "text", "text": {"body": text}}
            payload = inbound_webhook_for(
                SANDBOX_PHONE_NUMBER_ID, f"wamid.demo.{wa_id}", wa_id=wa_id, part=part, profile_name=name
            )
            ingest.sandbox_webhook_store(number=number, payload=payload)
        ingest.webhook_events_drain()

    def _canned_responses(self, organization: Organization) -> None:
        """A few canned responses for the agents' "/" menu (the ones missing)."""
        existing = set(CannedResponse.objects.for_org(organization).values_list("shortcut", flat=True))
        for shortcut, title, text in DEMO_CANNED_RESPONSES:
            if shortcut not in existing:
                canned_response_create(organization=organization, actor=None, shortcut=shortcut, title=title, text=text)

    def _templates(self, organization: Organization) -> None:
        """The sandbox number's templates, created as a marketer would (the sandbox approves each through the normal
        webhook ingest); those the organization has already are left as they are."""
        number = WhatsAppNumber.objects.for_org(organization).get(phone_number_id=SANDBOX_PHONE_NUMBER_ID)
        existing = set(template_selectors.template_list(org=organization).values_list("name", "language"))
        for template in DEMO_TEMPLATES:
            if (template["name"], template["language"]) not in existing:
                template_services.template_create(
                    organization=organization, actor=None, number_id=number.pk, **template
                )
        ingest.webhook_events_drain()
