"""Reads of the AI settings and the token usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from accounts.models import Organization
from accounts.web import organization_time_zone
from automation.models.ai import AISettings, AIUsage


def ai_settings_for(*, organization_id: int) -> AISettings | None:
    """The organization's AI settings row, None before the first save."""
    return AISettings.objects.filter(organization_id=organization_id).first()


def organization_today(organization: Organization) -> date:
    """Today in the organization's time zone: the day usage is counted on."""
    return timezone.localdate(timezone.now(), organization_time_zone(organization))


@dataclass(frozen=True)
class UsageReport:
    days: int
    since: date
    rows: list[AIUsage]  # newest day first, then by model
    prompt_tokens: int
    completion_tokens: int
    requests: int


def ai_usage_report(*, org: Organization, days: int) -> UsageReport:
    """The organization's usage over the last `days` days (today included), per day and model, with totals."""
    since = organization_today(org) - timedelta(days=days - 1)
    rows = list(AIUsage.objects.for_org(org).filter(day__gte=since).order_by("-day", "model"))
    totals = (
        AIUsage.objects.for_org(org)
        .filter(day__gte=since)
        .aggregate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), requests=Sum("requests"))
    )
    return UsageReport(
        days=days,
        since=since,
        rows=rows,
        prompt_tokens=totals["prompt"] or 0,
        completion_tokens=totals["completion"] or 0,
        requests=totals["requests"] or 0,
    )
