"""Factories of messaging models. Shared by every messaging test module: append, never rewrite."""

import factory

from messaging.models import Contact, ContactTag, Tag
from tests.factories import OrganizationFactory


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact with a valid Saudi mobile number (+9665...)."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    wa_id = factory.Sequence(lambda n: f"9665{n:08d}")
    phone = factory.LazyAttribute(lambda contact: f"+{contact.wa_id}")
    name = factory.Sequence(lambda n: f"Customer {n}")

    @factory.post_generation
    def tags(contact, create, extracted, **kwargs):
        """ContactFactory(tags=["vip"]): tags by name, created in the contact's organization."""
        for name in extracted or ():
            tag, _ = Tag.objects.get_or_create(organization=contact.organization, name=name)
            ContactTag.objects.create(organization=contact.organization, contact=contact, tag=tag)
