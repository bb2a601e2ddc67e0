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


# --- a contact's fields by name (template values, placeholders) ------------------------------------------------

# What a contact field may be named by (campaigns' variable mapping, and whoever fills text from a contact): these,
# or `attributes.<key>` for one of its attributes.
CONTACT_FIELDS = ("name", "display_name", "phone", "wa_id", "profile_name")
ATTRIBUTE_PREFIX = "attributes."


def is_contact_field(path: str) -> bool:
    """True for a name `contact_field` reads: one of CONTACT_FIELDS or `attributes.<key>`."""
    return path in CONTACT_FIELDS or (path.startswith(ATTRIBUTE_PREFIX) and len(path) > len(ATTRIBUTE_PREFIX))


def contact_field(contact: Contact, path: str) -> str:
    """The text of a contact's field named `path` (see is_contact_field), trimmed; '' when it is empty, unknown,
    or an attribute that is not text, a number or a boolean. `display_name` is the name, else the profile name,
    else the phone."""
    if path.startswith(ATTRIBUTE_PREFIX):
        value = (contact.attributes or {}).get(path[len(ATTRIBUTE_PREFIX) :])
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value).strip() if isinstance(value, str | int | float) else ""
    if path not in CONTACT_FIELDS:
        return ""
    return (getattr(contact, path) or "").strip()
