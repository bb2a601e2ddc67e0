"""Read paths of WhatsApp numbers: the organization's live numbers, the settings/whatsapp number, webhook URLs."""

from django.conf import settings
from django.db.models import Expression, OuterRef, QuerySet

from accounts.models import Organization
from accounts.platform import count_subquery
from messaging.models import Provider, WhatsAppNumber
from messaging.selectors.access import NumberIds, only_visible_numbers


def number_list(*, org: Organization, number_ids: NumberIds = None) -> QuerySet[WhatsAppNumber]:
    """The organization's numbers that are not deleted, among `number_ids` (selectors.access; None: all): the
    primary first, then by name."""
    return only_visible_numbers(WhatsAppNumber.objects.for_org(org).live(), number_ids, field="pk")


def whatsapp_settings_number(*, org: Organization, number_ids: NumberIds = None) -> WhatsAppNumber | None:
    """The number settings/whatsapp shows and edits: the primary number, when it is a Cloud API number (and one of
    `number_ids`)."""
    return number_list(org=org, number_ids=number_ids).filter(is_primary=True, provider=Provider.CLOUD).first()


def meta_webhook_url(*, organization_id: int, phone_number_id: str) -> str:
    """What an admin pastes into Meta's dashboard for this Cloud number (absolute)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/meta/{organization_id}/phone/{phone_number_id}/"


def waha_webhook_url(*, organization_id: int) -> str:
    """Where the organization's WAHA sessions post their events (absolute)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/waha/{organization_id}/"


def number_webhook_url(number: WhatsAppNumber) -> str | None:
    """The webhook URL of a number; None for the sandbox (it needs none) or a Cloud number without its id."""
    if number.provider == Provider.WAHA:
        return waha_webhook_url(organization_id=number.organization_id)
    if number.provider == Provider.CLOUD and number.phone_number_id:
        return meta_webhook_url(organization_id=number.organization_id, phone_number_id=number.phone_number_id)
    return None


def numbers_per_organization() -> Expression:
    """The live numbers of the organization of the outer query (an annotation on Organization: accounts.platform's
    usage figures)."""
    return count_subquery(WhatsAppNumber.objects.live().filter(organization=OuterRef("pk")))
