"""The platform seen by its staff (super admins): the platform audit log, tenants with their usage, the dashboard's
figures, and the deletion of a tenant confirmed by its name. Reads are aggregates in the database, one query per
figure whatever the number of organizations."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import list_currencies
from django.db import IntegrityError, transaction
from django.db.models import Count, Expression, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext

from accounts import services
from accounts.models import Membership, MessageUsage, Organization, Plan, Role, StorageUsage, User
from accounts.plans import DEFAULT_PLANS, current_month, plans_all
from whatsapp_hub.errors import ServiceError, invalid_input

# Per-organization counts of rows the apps built on accounts own (accounts never imports them): each app registers
# a factory of a correlated subquery on the organization's pk (OuterRef("pk")) in its AppConfig.ready(), e.g.
# messaging's "numbers". Read by organizations_with_usage.
USAGE_COUNTS: dict[str, Callable[[], Expression]] = {}
USAGE_TOP = 10
MONTHS_SHOWN = 12


def usage_count_register(name: str, factory: Callable[[], Expression]) -> None:
    USAGE_COUNTS[name] = factory


def count_subquery(queryset: QuerySet) -> Expression:
    """COUNT(*) of `queryset` (already filtered on organization=OuterRef("pk")) as an annotation, 0 for none."""
    counted = queryset.order_by().values("organization").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def organizations_with_usage() -> QuerySet[Organization]:
    """Every organization with owner_email (its first active admin), member_count (active members),
    messages_this_month, storage_bytes and each registered usage count (`numbers_count`, ...): one query."""
    month_messages = MessageUsage.objects.filter(organization=OuterRef("pk"), month=current_month()).values("messages")
    storage = StorageUsage.objects.filter(organization=OuterRef("pk")).values("bytes")
    admins = Membership.objects.filter(organization=OuterRef("pk"), role=Role.ADMIN, is_active=True)
    owner = admins.order_by("created_at", "id").values("user__email")[:1]
    return Organization.objects.annotate(
        owner_email=Subquery(owner),
        member_count=count_subquery(Membership.objects.filter(organization=OuterRef("pk"), is_active=True)),
        messages_this_month=Coalesce(Subquery(month_messages[:1], output_field=IntegerField()), Value(0)),
        storage_bytes=Coalesce(Subquery(storage[:1]), Value(0)),
        **{f"{name}_count": factory() for name, factory in USAGE_COUNTS.items()},
    )


def _months_back(today: date, count: int) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def platform_stats() -> dict:
    """The dashboard: tenants by status and plan, users, paying subscriptions (active organizations on a plan with a
    price) and their monthly revenue per currency, messages this month, the busiest organizations' usage, and the
    last months' sign-ups and messages (the charts)."""
    totals = Organization.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=Organization.Status.ACTIVE)),
        suspended=Count("id", filter=Q(status=Organization.Status.SUSPENDED)),
    )
    by_plan = dict(Organization.objects.values_list("plan").annotate(n=Count("id")).values_list("plan", "n"))
    plans = list(plans_with_subscribers())
    paying = [plan for plan in plans if plan.monthly_price > 0 and plan.subscribers]
    revenue: dict[str, Decimal] = {}
    for plan in paying:
        revenue[plan.currency] = revenue.get(plan.currency, Decimal(0)) + plan.monthly_price * plan.subscribers
    currency = max(revenue, key=lambda code: (revenue[code], code)) if revenue else ""
    # Without plan rows (a flushed database), the default plans stand in, as everywhere (accounts.plans.plan_for).
    codes = [plan.code for plan in plans] or [*DEFAULT_PLANS, *sorted(set(by_plan) - set(DEFAULT_PLANS))]
    months = _months_back(timezone.now().date(), MONTHS_SHOWN)
    signups = dict(
        Organization.objects.filter(created_at__date__gte=months[0])
        .annotate(month=TruncMonth("created_at"))
        .values_list("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    signups = {(key.date() if hasattr(key, "date") else key).replace(day=1): n for key, n in signups.items()}
    messages = dict(
        MessageUsage.objects.filter(month__gte=months[0])
        .values_list("month")
        .annotate(n=Sum("messages"))
        .values_list("month", "n")
    )
    top = organizations_with_usage().order_by("-messages_this_month", "name", "id")[:USAGE_TOP]
    return {
        "total_organizations": totals["total"],
        "active_organizations": totals["active"],
        "suspended_organizations": totals["suspended"],
        "total_users": User.objects.filter(is_active=True).count(),
        "organizations_by_plan": {code: by_plan.get(code, 0) for code in codes}
        | {code: n for code, n in by_plan.items() if code not in codes},
        "active_subscriptions": sum(plan.subscribers for plan in paying),
        "monthly_revenue": revenue.get(currency, Decimal(0)),
        "revenue_currency": currency,
        "monthly_revenue_by_currency": revenue,
        "messages_this_month": messages.get(months[-1]) or 0,
        "usage": [organization_usage(organization) for organization in top],
        "months": [
            {"month": month, "signups": signups.get(month, 0), "messages": messages.get(month, 0) or 0}
            for month in months
        ],
    }


def organization_usage(organization: Organization) -> dict:
    """The usage fields of an organization read through organizations_with_usage."""
    return {
        "id": organization.pk,
        "name": organization.name,
        "plan": organization.plan,
        "status": organization.status,
        "messages_this_month": organization.messages_this_month,
        "numbers": getattr(organization, "numbers_count", 0),
        "members": organization.member_count,
        "storage_bytes": organization.storage_bytes,
    }


@transaction.atomic
def organization_delete(*, organization: Organization, actor) -> None:
    """Delete a tenant with everything it owns (services.organization_delete), audited at the platform level (the
    tenant's own log goes with it)."""
    services.platform_audit_write(actor=actor, action="organization.delete", organization=organization)
    services.organization_delete(organization=organization)


@transaction.atomic
def organization_delete_confirmed(*, organization: Organization, confirm_name: str, actor) -> None:
    """Delete a tenant with everything it owns (services.organization_delete) once its name was typed exactly: a 400
    naming confirm_name otherwise, nothing deleted. Audited at the platform level (the tenant's log goes with it)."""
    if confirm_name != organization.name:
        raise invalid_input({"confirm_name": [gettext("That is not the organization's name.")]})
    organization_delete(organization=organization, actor=actor)


def plans_with_subscribers() -> QuerySet[Plan]:
    """Every plan with `subscribers` (its active organizations) and `organizations` (all of its organizations)."""
    on_plan = Organization.objects.filter(plan=OuterRef("code")).order_by().values("plan")
    active = on_plan.filter(status=Organization.Status.ACTIVE).annotate(n=Count("pk")).values("n")
    every = on_plan.annotate(n=Count("pk")).values("n")
    return plans_all().annotate(
        subscribers=Coalesce(Subquery(active, output_field=IntegerField()), Value(0)),
        organizations=Coalesce(Subquery(every, output_field=IntegerField()), Value(0)),
    )


# --- plans: staff's writes -------------------------------------------------------------------------------------


def _check_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if code not in list_currencies():
        raise invalid_input({"currency": [gettext("Not an ISO 4217 currency code (e.g. USD, SAR, EUR).")]})
    return code


@transaction.atomic
def plan_create(*, actor, code: str, name: str, **fields) -> Plan:
    if Plan.objects.filter(code=code).exists():
        raise invalid_input({"code": [gettext("A plan with this code exists.")]})
    if "currency" in fields:
        fields["currency"] = _check_currency(fields["currency"])
    try:
        with transaction.atomic():
            plan = Plan.objects.create(code=code, name=name.strip(), **fields)
    except IntegrityError:
        raise invalid_input({"code": [gettext("A plan with this code exists.")]}) from None
    services.platform_audit_write(actor=actor, action="plan.create", data={"code": code})
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, actor, **fields) -> Plan:
    """Edit a plan (not its code: organizations name it). New limits apply at once; nothing existing is removed when
    an organization is over a lowered limit, it only cannot add more."""
    if "code" in fields and fields["code"] != plan.code:
        raise invalid_input({"code": [gettext("A plan's code cannot change: organizations use it.")]})
    fields.pop("code", None)
    if "currency" in fields:
        fields["currency"] = _check_currency(fields["currency"])
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.updated_at = timezone.now()
    plan.save()
    changed = {name: str(value) if isinstance(value, Decimal) else value for name, value in fields.items()}
    services.platform_audit_write(actor=actor, action="plan.update", data={"code": plan.code, **changed})
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan, actor) -> None:
    """Only a plan no organization is on (409 otherwise: move them first, or deactivate the plan)."""
    in_use = Organization.objects.filter(plan=plan.code).count()
    if in_use:
        raise ServiceError(
            gettext("%(count)d organizations are on this plan: move them to another plan, or deactivate it.")
            % {"count": in_use},
            status_code=409,
            code="plan_in_use",
        )
    code = plan.code
    plan.delete()
    services.platform_audit_write(actor=actor, action="plan.delete", data={"code": code})
