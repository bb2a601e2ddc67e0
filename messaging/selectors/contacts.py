"""Read paths of contacts: the organization's contacts, searched and filtered."""

import re

from django.db.models import Q, QuerySet

from accounts.models import Organization
from messaging.models import Contact, ContactTag, Tag


def contact_list(*, org: Organization) -> QuerySet[Contact]:
    """The organization's contacts, newest first, tags prefetched: a page costs the same queries at any size."""
    return Contact.objects.for_org(org).prefetch_related("tags")


def contacts_matching(queryset: QuerySet[Contact], *, org: Organization, text: str) -> QuerySet[Contact]:
    """Contacts whose name, profile name, phone or one of whose tags contains `text` (case-insensitive).

    The digits of `text` also match inside wa_id, so "+1 (202) 555" finds +12025550123.
    """
    text = text.strip()
    if not text:
        return queryset
    tagged = ContactTag.objects.for_org(org).filter(tag__name__icontains=text).values("contact_id")
    condition = Q(name__icontains=text) | Q(profile_name__icontains=text) | Q(phone__icontains=text) | Q(pk__in=tagged)
    digits = re.sub(r"\D", "", text)
    if digits:
        condition |= Q(wa_id__contains=digits)
    return queryset.filter(condition)


def contacts_tagged(queryset: QuerySet[Contact], *, org: Organization, tag: str) -> QuerySet[Contact]:
    """Contacts carrying the tag named exactly `tag`."""
    return queryset.filter(pk__in=ContactTag.objects.for_org(org).filter(tag__name=tag.strip()).values("contact_id"))


def tag_names(*, org: Organization) -> list[str]:
    """The names of the organization's tags, in alphabetical order (the contacts page's tag filter)."""
    return list(Tag.objects.for_org(org).order_by("name").values_list("name", flat=True))
