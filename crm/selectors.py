"""CRM reads: scoped querysets for the API and the pages, the totals per stage of a deal list."""

from collections import defaultdict

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from accounts.models import Membership, Organization
from crm.models import Business, ContactBusiness, Deal, DealHistory, Outcome, Pipeline, SalesMember, Stage
from messaging.models import Contact, Conversation
from messaging.selectors.access import NumberIds
from messaging.selectors.conversations import conversation_list

_open_deal = Q(deals__status=Outcome.OPEN)


def business_list(*, org: Organization) -> QuerySet[Business]:
    return (
        Business.objects.for_org(org)
        .select_related("owner")
        .annotate(
            contacts_count=Count("contact_links", distinct=True),
            open_deals_count=Count("deals", filter=_open_deal, distinct=True),
        )
        .order_by("name", "id")
    )


def business_contacts(*, business: Business) -> QuerySet[Contact]:
    links = ContactBusiness.objects.for_org(business.organization).filter(business=business)
    return Contact.objects.for_org(business.organization).filter(pk__in=links.values("contact_id"))


def business_conversations(*, business: Business, number_ids: NumberIds = None) -> QuerySet[Conversation]:
    contacts = ContactBusiness.objects.for_org(business.organization).filter(business=business).values("contact_id")
    return conversation_list(org=business.organization, number_ids=number_ids).filter(contact_id__in=contacts)


def business_of_contact(*, org: Organization, contact: Contact) -> Business | None:
    link = ContactBusiness.objects.for_org(org).filter(contact=contact).select_related("business").first()
    return link.business if link else None


def pipeline_list(*, org: Organization) -> QuerySet[Pipeline]:
    return Pipeline.objects.for_org(org).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.for_org(org).order_by("position", "id"))
    )


def stage_list(*, org: Organization) -> QuerySet[Stage]:
    return Stage.objects.for_org(org).select_related("pipeline")


def deal_list(*, org: Organization) -> QuerySet[Deal]:
    return Deal.objects.for_org(org).select_related("stage", "pipeline", "owner", "contact", "business")


def deal_history(*, deal: Deal) -> QuerySet[DealHistory]:
    return DealHistory.objects.for_org(deal.organization).filter(deal=deal).select_related("actor")


def stage_totals(deals: QuerySet[Deal]) -> list[dict]:
    """Per stage of these deals: how many, and their value summed per currency (one grouped query)."""
    rows = deals.order_by().values("stage_id", "currency").annotate(count=Count("id"), value=Sum("value"))
    totals: dict[int, dict] = defaultdict(lambda: {"count": 0, "values": []})
    for row in rows.order_by("stage_id", "currency"):
        entry = totals[row["stage_id"]]
        entry["count"] += row["count"]
        entry["values"].append({"currency": row["currency"], "value": row["value"]})
    return [{"stage_id": stage_id, **entry} for stage_id, entry in sorted(totals.items())]


def contact_open_deals(*, org: Organization, contact: Contact) -> QuerySet[Deal]:
    return deal_list(org=org).filter(contact=contact, status=Outcome.OPEN)


def sales_member_list(*, org: Organization) -> QuerySet[SalesMember]:
    members = Membership.objects.for_org(org).filter(user__email=OuterRef("email"), is_active=True)
    return SalesMember.objects.for_org(org).annotate(is_member=Exists(members))


def members(*, org: Organization):
    """The organization's active members, for owner pickers."""
    return Membership.objects.for_org(org).filter(is_active=True).select_related("user").order_by("user__name")
