"""Plans and their limits: which plan an organization is on, the usage counted against it, and the checks the write
paths call (users, numbers, messages per month, storage). Staff set plans through the super-admin API and pages.

The apps built on accounts call the checks where their resources are created:
- numbers: messaging.services.numbers.number_create (limit_check, under the organization's lock)
- messages: messaging's send paths (usage_messages_reserve, in the transaction storing the messages)
- storage: media and knowledge-document uploads (usage_storage_reserve), and their deletions (usage_storage_add <0)
"""

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import MessageUsage, Organization, Plan, StorageUsage
from whatsapp_hub.errors import ServiceError, invalid_input

# The plans every installation starts with (the data migration creates them): the user limits the product always
# had, nothing else limited until staff decide. Also the fallback when a row is missing (a test flushed the table).
DEFAULT_PLANS = {
    "starter": {"name": "Starter", "max_users": 5},
    "pro": {"name": "Pro", "max_users": 25},
    "enterprise": {"name": "Enterprise", "max_users": None},
}
# The error codes (user_limit_reached is the one the API always had).
LIMIT_CODES = {"users": "user", "numbers": "number", "messages": "message", "storage": "storage"}
LIMIT_FIELDS = {
    "users": "max_users",
    "numbers": "max_numbers",
    "messages": "max_messages_per_month",
    "storage": "max_storage_bytes",
}
_LIMIT_TEXT = {
    "users": gettext_lazy("The %(plan)s plan allows %(limit)s users: the user limit is reached."),
    "numbers": gettext_lazy("The %(plan)s plan allows %(limit)s WhatsApp numbers: the number limit is reached."),
    "messages": gettext_lazy("The %(plan)s plan allows %(limit)s outbound messages a month: this month's are used up."),
    "storage": gettext_lazy(
        "The %(plan)s plan allows %(limit)s of stored files: this file does not fit (%(used)s used)."
    ),
}


def plan_for(code: str, *, known: dict[str, Plan] | None = None) -> Plan:
    """The plan with this code (from `known`, plans read already, when given). A code without a row gives its
    DEFAULT_PLANS values, or an unlimited plan of that name: never an error in a request. Not cached across
    requests: a plan staff edit applies at once in every process (Organization.plan_record keeps it per instance)."""
    plan = known.get(code) if known is not None else Plan.objects.filter(code=code).first()
    if plan is None:
        plan = Plan(code=code, **DEFAULT_PLANS.get(code, {"name": code}))
    return plan


def plans_attach(organizations) -> None:
    """Read the plans of these organizations in one query (a list of organizations shows their limits)."""
    known = {plan.code: plan for plan in Plan.objects.filter(code__in={o.plan for o in organizations})}
    for organization in organizations:
        organization.__dict__["_plan_record"] = plan_for(organization.plan, known=known)


def plans_all():
    return Plan.objects.order_by("monthly_price", "code")


def _human_bytes(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)  # pragma: no cover


def limit_error(*, organization: Organization, resource: str, used: int = 0) -> ServiceError:
    plan = organization.plan_record
    limit = getattr(plan, LIMIT_FIELDS[resource])
    shown = _human_bytes(limit) if resource == "storage" else f"{limit:,}"
    text = _LIMIT_TEXT[resource] % {"plan": plan.name, "limit": shown, "used": _human_bytes(max(used, 0))}
    return ServiceError(str(text), code=f"{LIMIT_CODES[resource]}_limit_reached")


def limit_check(*, organization: Organization, resource: str, used: int, adding: int = 1) -> None:
    """A 400 (code `<resource>_limit_reached`) when `used + adding` is over the plan's limit of `resource`."""
    limit = getattr(organization.plan_record, LIMIT_FIELDS[resource])
    if limit is not None and used + adding > limit:
        raise limit_error(organization=organization, resource=resource, used=used)


# --- usage counters --------------------------------------------------------------------------------------------


def current_month(now=None) -> date:
    return (now or timezone.now()).date().replace(day=1)


def usage_messages_reserve(*, organization: Organization, count: int = 1, partial: bool = False) -> int:
    """Count `count` outbound messages against this month's allowance: one conditional UPDATE with F() on the
    organization's row of the month (created on its first message). Returns how many were counted: `count`, or with
    `partial` as many as fit (a campaign batch sends those); without `partial` a full allowance is a 400
    (messages_limit_reached) and nothing is counted. Must be called inside the transaction storing the messages, so
    a rollback uncounts them."""
    if count <= 0:
        return 0
    month = current_month()
    limit = organization.plan_record.max_messages_per_month
    rows = MessageUsage.objects.filter(organization_id=organization.pk, month=month)
    for _ in range(2):
        if limit is None:
            if rows.update(messages=F("messages") + count):
                return count
        else:
            if rows.filter(messages__lte=limit - count).update(messages=F("messages") + count):
                return count
            if partial:
                used = rows.select_for_update().values_list("messages", flat=True).first()
                if used is not None:
                    fits = max(0, min(count, limit - used))
                    if fits:
                        rows.update(messages=F("messages") + fits)
                    return fits
            elif rows.exists():
                raise limit_error(organization=organization, resource="messages")
        # The month's first message: its row, then the update again (a concurrent first send may create it too).
        MessageUsage.objects.bulk_create(
            [MessageUsage(organization_id=organization.pk, month=month)], ignore_conflicts=True
        )
    raise limit_error(organization=organization, resource="messages")  # pragma: no cover (the row exists now)


def messages_this_month(*, organization: Organization) -> int:
    row = MessageUsage.objects.filter(organization_id=organization.pk, month=current_month())
    return row.values_list("messages", flat=True).first() or 0


def storage_used(*, organization_id: int) -> int:
    return StorageUsage.objects.filter(organization_id=organization_id).values_list("bytes", flat=True).first() or 0


def _storage_row(organization_id: int):
    rows = StorageUsage.objects.filter(organization_id=organization_id)
    if not rows.exists():
        try:
            with transaction.atomic():
                StorageUsage.objects.create(organization_id=organization_id)
        except IntegrityError:
            pass  # created concurrently
    return rows


def usage_storage_add(*, organization_id: int, delta: int) -> None:
    """Add (or with a negative delta subtract) stored bytes, unconditionally: files received from customers, and
    files deleted. Never below zero."""
    if delta < 0:
        # Files deleted: nothing to count for an organization without a row (or deleted with its files).
        StorageUsage.objects.filter(organization_id=organization_id).update(bytes=Greatest(F("bytes") + delta, 0))
    elif delta:
        _storage_row(organization_id).update(bytes=F("bytes") + delta)


def storage_check(*, organization: Organization, size: int) -> None:
    """Refuse early (before the file is written) an upload that cannot fit the plan's storage."""
    limit_check(
        organization=organization, resource="storage", used=storage_used(organization_id=organization.pk), adding=size
    )


def usage_storage_reserve(*, organization: Organization, size: int) -> None:
    """Count an uploaded file of `size` bytes against the plan's storage: one conditional UPDATE, so concurrent
    uploads cannot pass the limit together; a 400 (storage_limit_reached) when it does not fit. Call inside the
    transaction saving the file's row; the caller deletes the written file when this raises."""
    limit = organization.plan_record.max_storage_bytes
    rows = _storage_row(organization.pk)
    if limit is None:
        rows.update(bytes=F("bytes") + size)
    elif not rows.filter(bytes__lte=limit - size).update(bytes=F("bytes") + size):
        raise limit_error(
            organization=organization, resource="storage", used=storage_used(organization_id=organization.pk)
        )


def plan_assignable_or_error(code: str, *, field: str = "plan", current: str | None = None) -> str:
    """A plan code an organization may be given: an active plan's (its current plan stays allowed)."""
    if code == current:
        return code
    plan = Plan.objects.filter(code=code).first()
    if plan is None and not Plan.objects.exists() and code in DEFAULT_PLANS:
        return code  # no plan rows at all (a flushed test database): the defaults stand in
    if plan is None or not plan.is_active:
        raise invalid_input({field: [gettext("No active plan with this code.")]})
    return code
