"""Rows for CRM tests (and the isolation walker)."""

import secrets
from decimal import Decimal

from crm import services
from crm.models import Business, Deal, SalesMember, Stage


def business(org, name: str | None = None, **fields) -> Business:
    return Business.objects.create(organization=org, name=name or f"Acme {secrets.token_hex(3)}", **fields)


def deal(org, title: str = "Website redesign", value: str = "100.00", currency: str = "USD", **fields) -> Deal:
    return services.deal_create(
        organization=org, actor=None, title=title, value=Decimal(value), currency=currency, **fields
    )


def stage(org) -> Stage:
    pipeline = services.pipeline_default(organization=org)
    return services.stage_create(pipeline=pipeline, name=f"Stage {secrets.token_hex(3)}", actor=None)


def sales_member(org) -> SalesMember:
    return SalesMember.objects.create(
        organization=org, name="Priya Sharma", email=f"priya-{secrets.token_hex(3)}@example.com", phone="919876543210"
    )
