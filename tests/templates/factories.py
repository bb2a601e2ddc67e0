"""Factories of templates models. Shared by every templates test module: append, never rewrite."""

import factory

from templates.models import MessageTemplate, TemplateSync
from tests.factories import OrganizationFactory
from tests.fakes.meta import DEFAULT_WABA_ID

BODY = {"type": "BODY", "text": "Hi {{1}}, your order shipped.", "example": {"body_text": [["Maya"]]}}


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    """An approved utility template of the fake Graph API's default WABA, with one body placeholder."""

    class Meta:
        model = MessageTemplate

    organization = factory.SubFactory(OrganizationFactory)
    waba_id = DEFAULT_WABA_ID
    meta_id = factory.Sequence(lambda n: str(1_500_000_000_000_000 + n))
    name = factory.Sequence(lambda n: f"order_update_{n}")
    language = "en_US"
    category = MessageTemplate.Category.UTILITY
    status = MessageTemplate.Status.APPROVED
    components = factory.LazyFunction(lambda: [dict(BODY)])


class TemplateSyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateSync

    organization = factory.SubFactory(OrganizationFactory)
    waba_id = DEFAULT_WABA_ID
