"""Reads of WhatsApp Flows and what customers submitted in them."""

import json

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import Organization
from messaging.models import FlowResponse, WhatsAppFlow
from messaging.selectors.access import NumberIds, only_visible_numbers


def flow_list(*, org: Organization, number_ids: NumberIds = None) -> QuerySet[WhatsAppFlow]:
    """The organization's flows of the numbers among `number_ids` (selectors.access: a flow is its number's, and a
    number hidden from someone hides its flows; None: all), newest first, with how many responses each has."""
    return (
        only_visible_numbers(WhatsAppFlow.objects.for_org(org), number_ids)
        .select_related("number")
        .annotate(response_count=Count("responses"))
        .order_by("-created_at", "-id")
    )


def flow_sendable(*, org: Organization, number_ids: NumberIds = None) -> QuerySet[WhatsAppFlow]:
    """The flows that can be sent to anyone now (published), of the numbers among `number_ids`, by name."""
    flows = WhatsAppFlow.objects.for_org(org).filter(status=WhatsAppFlow.Status.PUBLISHED).order_by("name", "id")
    return only_visible_numbers(flows, number_ids)


def flow_response_list(*, org: Organization, flow: WhatsAppFlow) -> QuerySet[FlowResponse]:
    """The responses to `flow`, newest first, with who sent them."""
    return FlowResponse.objects.for_org(org).filter(flow=flow).select_related("contact").order_by("-received_at", "-id")


def response_fields(response_json: dict) -> list[tuple[str, str]]:
    """The answers of a response as (field, value) pairs a person reads, by field name (the database does not keep a
    JSON object's key order): the flow_token left out, lists joined, objects as JSON."""
    pairs = []
    for key, value in sorted(response_json.items()):
        if key == "flow_token":
            continue
        if isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = "" if value is None else str(value)
        pairs.append((str(key), text))
    return pairs


def response_columns(responses: list[FlowResponse]) -> list[str]:
    """The union of the responses' fields, by name (the CSV's columns)."""
    return sorted({key for response in responses for key, _value in response_fields(response.response_json or {})})


RESPONSE_FIXED_COLUMNS = ["received_at", "contact", "phone"]


def response_table(responses: list[FlowResponse]) -> tuple[list[str], list[dict]]:
    """The responses as a table (the CSV export): when, who, then a column per field any response has (a field
    named like a fixed column is prefixed `field:`), one row each with every column."""
    columns = response_columns(responses)
    names = {key: f"field:{key}" if key in RESPONSE_FIXED_COLUMNS else key for key in columns}
    rows = []
    for response in responses:
        answers = dict(response_fields(response.response_json or {}))
        rows.append(
            {
                "received_at": timezone.localtime(response.received_at).isoformat(),
                "contact": response.contact.display_name,
                "phone": response.contact.phone,
                **{names[key]: answers.get(key, "") for key in columns},
            }
        )
    return [*RESPONSE_FIXED_COLUMNS, *names.values()], rows
