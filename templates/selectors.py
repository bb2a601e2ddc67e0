"""Read paths of message templates: the organization's templates (by WABA, status, search), which WABA a number
sends templates from, the numbers a template can be sent from, and template syncs."""

from django.db.models import Q, QuerySet

from accounts.models import Organization
from messaging.models import Provider, WhatsAppNumber
from messaging.providers import SANDBOX_WABA_ID
from messaging.selectors.access import NumberIds
from messaging.selectors.numbers import number_list
from templates.models import MessageTemplate, TemplateSync

# Components a template has at most (HEADER, BODY, FOOTER, BUTTONS): a search looks at the text of each.
MAX_COMPONENTS = 4


def number_waba_id(number: WhatsAppNumber) -> str | None:
    """The WhatsApp Business Account whose templates a number sends: a Cloud number's own, the sandbox's for a
    sandbox number (its templates live in the hub); None for a WhatsApp Web (WAHA) number, which has no templates."""
    if number.provider == Provider.CLOUD:
        return number.waba_id or None
    if number.provider == Provider.SANDBOX:
        return SANDBOX_WABA_ID
    return None


def template_rows(*, org: Organization) -> QuerySet[MessageTemplate]:
    """Every template row of the organization, deleted ones included (their history: a template's detail)."""
    return MessageTemplate.objects.for_org(org)


def template_list(*, org: Organization) -> QuerySet[MessageTemplate]:
    """The organization's templates Meta still has, by name and language."""
    return template_rows(org=org).live()


def templates_of_number(queryset: QuerySet[MessageTemplate], *, number: WhatsAppNumber) -> QuerySet[MessageTemplate]:
    """The templates `number` can send: its WABA's (none for a WhatsApp Web number)."""
    waba_id = number_waba_id(number)
    return queryset.filter(waba_id=waba_id) if waba_id else queryset.none()


def templates_matching(queryset: QuerySet[MessageTemplate], *, text: str) -> QuerySet[MessageTemplate]:
    """Templates whose name, or the text of one of their components (header, body, footer), contains `text`."""
    text = text.strip()
    if not text:
        return queryset
    condition = Q(name__icontains=text)
    for index in range(MAX_COMPONENTS):
        condition |= Q(**{f"components__{index}__text__icontains": text})
    return queryset.filter(condition)


def template_numbers(
    *, org: Organization, template: MessageTemplate, number_ids: NumberIds = None
) -> QuerySet[WhatsAppNumber]:
    """The live numbers among `number_ids` (selectors.access; None: all) that can send `template` (its WABA's),
    the primary first."""
    numbers = number_list(org=org, number_ids=number_ids)
    if template.waba_id == SANDBOX_WABA_ID:
        return numbers.filter(provider=Provider.SANDBOX)
    return numbers.filter(provider=Provider.CLOUD, waba_id=template.waba_id)


def template_wabas(*, org: Organization, number_ids: NumberIds = None) -> list[tuple[str, WhatsAppNumber]]:
    """Each WABA the organization's live numbers among `number_ids` send templates from, with the number that
    speaks for it (the primary first, then by name): Cloud numbers' WABAs, and the sandbox's."""
    wabas: dict[str, WhatsAppNumber] = {}
    for number in number_list(org=org, number_ids=number_ids).exclude(provider=Provider.WAHA):
        waba_id = number_waba_id(number)
        if waba_id:
            wabas.setdefault(waba_id, number)
    return list(wabas.items())


def waba_cloud_number(*, org: Organization, waba_id: str) -> WhatsAppNumber | None:
    """A live Cloud number of the organization in this WABA with an access token (whose credentials a sync or a
    deletion uses), the primary first."""
    numbers = number_list(org=org).filter(provider=Provider.CLOUD, waba_id=waba_id).exclude(access_token="")
    return numbers.first()


def cloud_wabas() -> QuerySet:
    """(organization id, WABA id) of every live Cloud number of an active organization, each pair once: what the
    scheduled sync walks."""
    return (
        WhatsAppNumber.objects.live()
        .filter(provider=Provider.CLOUD, organization__status="active")
        .exclude(waba_id="")
        .exclude(access_token="")
        .order_by("organization_id", "waba_id")
        .values_list("organization_id", "waba_id")
        .distinct()
    )


def template_sync_list(*, org: Organization) -> QuerySet[TemplateSync]:
    return TemplateSync.objects.for_org(org)
