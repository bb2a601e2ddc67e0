"""Inbox embeds for tests: made through the service, as admins make them."""

from messaging.models import InboxEmbed
from messaging.services import embeds as services
from tests.messaging.factories import WhatsAppNumberFactory

ORIGIN = "https://crm.example.com"


def embed(org, *, numbers=None, teams=(), mode: str = InboxEmbed.Mode.READ_ONLY, **fields) -> InboxEmbed:
    numbers = [WhatsAppNumberFactory(organization=org)] if numbers is None else numbers
    return services.embed_create(
        organization=org,
        actor=None,
        name=fields.pop("name", "Helpdesk"),
        mode=mode,
        allowed_origins=fields.pop("allowed_origins", [ORIGIN]),
        number_ids=[number.pk for number in numbers],
        team_ids=[team.pk for team in teams],
        **fields,
    )
