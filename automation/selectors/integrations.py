"""Settings > Integrations: the state of each of an organization's integrations, at a glance.

Lives in automation because it is the app that may see everything it reports on (accounts' Google sign-in and mail,
messaging's numbers, its own AI provider and outbound webhooks); messaging may not import automation.

Where the state comes from:
- WhatsApp numbers: the IntegrationStatus row that delivery and "test now" write (accounts.integrations), the
  number's own WAHA session status and messaging limit tier, the quality rating the last check read;
- AI provider and embeddings: the rows automation.llm writes on every call;
- outbound webhooks: the deliveries themselves (last success, last failure, failures in the last 24 hours) and the
  endpoint's own active/disabled/failing fields: no row of ours;
- Google sign-in: the operator's settings, this process's key set fetches and the organization's own tests;
- e-mail: the operator's backend and the organization's own test e-mails.

Errors are the hub's codes, worded here: nothing an upstream answered is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from accounts import google
from accounts.integration_models import IntegrationKind, IntegrationStatus
from accounts.models import Organization
from automation import llm
from automation.models.webhooks import WebhookDelivery, WebhookEndpoint
from automation.services.webhooks import ERROR_MESSAGES as WEBHOOK_ERROR_MESSAGES
from automation.services.webhooks import TIMEOUT as WEBHOOK_TIMEOUT
from messaging.models import Provider, WhatsAppNumber

OK, FAILING, NOT_CONFIGURED, OFF, UNKNOWN = "ok", "failing", "not_configured", "off", "unknown"
STATES = (OK, FAILING, NOT_CONFIGURED, OFF, UNKNOWN)
STATE_LABELS = {
    OK: gettext_lazy("Working"),
    FAILING: pgettext_lazy("integration state", "Failing"),
    NOT_CONFIGURED: gettext_lazy("Not configured"),
    OFF: gettext_lazy("Switched off"),
    UNKNOWN: gettext_lazy("Not checked yet"),
}
SINGLE_KINDS = (IntegrationKind.LLM, IntegrationKind.EMBEDDINGS, IntegrationKind.GOOGLE, IntegrationKind.EMAIL)
ROW_KINDS = (IntegrationKind.WHATSAPP_NUMBER, IntegrationKind.WEBHOOK)
UNCONFIGURED_MAIL_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)
FAILURES_WINDOW = timedelta(hours=24)

# The words of the hub's error codes (accounts.integrations callers, automation.llm's LLMError codes, WAHA's
# ServiceError codes).
ERROR_WORDS = {
    "auth": gettext_lazy("Meta refused the access token: connect the number again with a new token."),
    "permission": gettext_lazy("The access token may not use this number: check its permissions in Meta."),
    "rate_limited": gettext_lazy("The service is limiting requests; it should pass on its own."),
    "server_error": gettext_lazy("The service failed (HTTP %(status)s); try again later."),
    "timeout": gettext_lazy("The service did not answer in time."),
    "unreachable": gettext_lazy("The service could not be reached."),
    "address_not_allowed": gettext_lazy(
        "The address is not allowed: the hub only connects to public addresses (or those its operator allows)."
    ),
    "not_found": gettext_lazy("Meta does not know this phone number id: check the number's settings."),
    "rejected": gettext_lazy("The service refused the check (HTTP %(status)s)."),
    "not_configured": gettext_lazy("Not configured yet."),
    "session_not_working": gettext_lazy("The WhatsApp Web session is not working: open the number to reconnect it."),
    "waha_unreachable": gettext_lazy(
        "WAHA is unreachable: check that it runs and that the number's WAHA URL is right."
    ),
    "waha_unauthorized": gettext_lazy("WAHA refused the API key: check the number's WAHA settings."),
    "waha_url_not_allowed": gettext_lazy(
        "The number's WAHA URL points to an address the hub may not connect to: only public addresses, or those "
        "the hub's operator allows."
    ),
    "waha_session_missing": gettext_lazy("WAHA has no session for this number: start the session first."),
    "waha_session_state": gettext_lazy("The WhatsApp Web session is not working: open the number to reconnect it."),
    "waha_error": gettext_lazy("WAHA failed; try again later."),
    "llm_auth": gettext_lazy("The AI provider refused the API key: check it in Settings, AI."),
    "llm_quota": gettext_lazy("The AI provider says this API key has no quota left."),
    "llm_rate_limited": gettext_lazy("The AI provider is limiting requests; try again in a moment."),
    "llm_down": gettext_lazy("The AI provider is unavailable; try again later."),
    "llm_not_found": gettext_lazy("The AI provider does not know this model or address: check Settings, AI."),
    "llm_rejected": gettext_lazy("The AI provider refused the request."),
    "llm_bad_answer": gettext_lazy("The AI provider's answer could not be read."),
    "llm_timeout": gettext_lazy("The AI provider did not answer in time."),
    "llm_unreachable": gettext_lazy("The AI provider could not be reached."),
    "llm_address_refused": gettext_lazy(
        "The AI provider's address is not allowed: the hub only connects to public addresses (or those its "
        "operator allows)."
    ),
    "llm_not_configured": gettext_lazy("No AI provider is configured: an admin can set one in Settings, AI."),
    "google_unavailable": gettext_lazy("Google's keys could not be fetched: try again in a minute."),
    "send_failed": gettext_lazy("The test e-mail could not be sent: check the hub's mail server settings."),
    "webhook_disabled": gettext_lazy("Switched off by the hub after its deliveries kept failing."),
}
GENERIC_ERROR = gettext_lazy("The last check failed.")


def error_words(code: str, http_status: int | None = None) -> str:
    """The hub's words for an error code (the current language)."""
    text = WEBHOOK_ERROR_MESSAGES.get(code) or ERROR_WORDS.get(code, GENERIC_ERROR)
    return str(text) % {"status": http_status or "-", "seconds": int(WEBHOOK_TIMEOUT[1])}


@dataclass
class Fact:
    label: str
    value: str
    ltr: bool = False  # a phone number, URL or model name: left to right even in Arabic


@dataclass
class Integration:
    """One card of Settings > Integrations."""

    key: str  # "<kind>-<id>" for numbers and webhooks, the kind for the others: the "test now" route's key
    kind: str
    name: str
    state: str
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    facts: list[Fact] = field(default_factory=list)
    fix_url: str = ""
    testable: bool = True

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])


def _outcome(success: datetime | None, error: datetime | None, *, configured: bool, failing: bool | None = None) -> str:
    if not configured:
        return NOT_CONFIGURED
    if failing is None:
        failing = error is not None and (success is None or error >= success)
    if failing:
        return FAILING
    return OK if success is not None else UNKNOWN


def _latest(*values: datetime | None) -> datetime | None:
    found = [value for value in values if value is not None]
    return max(found) if found else None


def _statuses(org: Organization) -> dict[tuple[str, str], IntegrationStatus]:
    return {(row.kind, row.object_id): row for row in IntegrationStatus.objects.for_org(org)}


def _from_row(card: Integration, row: IntegrationStatus | None, *, configured: bool) -> Integration:
    if row is not None:
        card.last_success_at, card.last_error_at = row.last_success_at, row.last_error_at
    card.state = _outcome(card.last_success_at, card.last_error_at, configured=configured)
    if card.state == FAILING and row is not None:
        card.last_error = error_words(row.error_code, row.http_status)
    return card


def _number_card(number: WhatsAppNumber, row: IntegrationStatus | None) -> Integration:
    card = Integration(
        key=f"{IntegrationKind.WHATSAPP_NUMBER}-{number.pk}",
        kind=IntegrationKind.WHATSAPP_NUMBER,
        name=number.display_name,
        state=UNKNOWN,
        fix_url=reverse("settings-number-detail", kwargs={"number_id": number.pk}),
    )
    card.facts.append(Fact(gettext("Connection"), number.get_provider_display()))
    if number.phone_number:
        card.facts.append(Fact(gettext("Phone number"), number.phone_number, ltr=True))
    if number.provider == Provider.SANDBOX:
        card.facts.append(Fact(gettext("Network"), gettext("None: messages are simulated")))
        card.state = OK
        if row is not None:
            card.last_success_at = row.last_success_at
        return card
    if number.provider == Provider.CLOUD:
        quality = (row.details or {}).get("quality_rating") if row is not None else None
        card.facts.append(Fact(gettext("Quality rating"), str(quality) if quality else gettext("Unknown")))
        card.facts.append(Fact(gettext("Messaging limit"), number.get_messaging_limit_tier_display()))
        event = (row.details or {}).get("quality_event") if row is not None else None
        if event:
            card.facts.append(Fact(gettext("Latest quality event from Meta"), str(event), ltr=True))
        return _from_row(card, row, configured=bool(number.phone_number_id and number.access_token))
    status = number.session_status or ""
    card.facts.append(
        Fact(gettext("Session"), number.get_session_status_display() if status else gettext("Not started"))
    )
    _from_row(card, row, configured=True)
    if status and status != WhatsAppNumber.SessionStatus.WORKING:
        card.state = FAILING
        card.last_error = error_words("session_not_working")
    return card


def _webhook_cards(org: Organization) -> list[Integration]:
    since = timezone.now() - FAILURES_WINDOW
    failed = ~Q(deliveries__error_code="")
    last_failure = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).exclude(error_code="")
    last_failure = last_failure.order_by("-last_attempt_at", "-id")
    endpoints = (
        WebhookEndpoint.objects.for_org(org)
        .annotate(
            last_success_at=Max("deliveries__delivered_at", filter=Q(deliveries__status="succeeded")),
            last_error_at=Max("deliveries__last_attempt_at", filter=failed),
            failures=Count("deliveries", filter=failed & Q(deliveries__last_attempt_at__gte=since)),
            last_error_code=Subquery(last_failure.values("error_code")[:1]),
            last_error_status=Subquery(last_failure.values("response_status")[:1]),
        )
        .order_by("-created_at", "-id")
    )
    cards = []
    for endpoint in endpoints:
        card = Integration(
            key=f"{IntegrationKind.WEBHOOK}-{endpoint.pk}",
            kind=IntegrationKind.WEBHOOK,
            name=endpoint.description or endpoint.url,
            state=UNKNOWN,
            last_success_at=endpoint.last_success_at,
            last_error_at=endpoint.last_error_at,
            fix_url=reverse("settings-webhook", kwargs={"webhook_id": endpoint.pk}),
        )
        card.facts.append(Fact(gettext("URL"), endpoint.url, ltr=True))
        card.facts.append(Fact(gettext("Failed attempts, last 24 hours"), str(endpoint.failures)))
        failing = bool(endpoint.failing_since or endpoint.consecutive_failures) or None
        card.state = _outcome(endpoint.last_success_at, endpoint.last_error_at, configured=True, failing=failing)
        if not endpoint.active:
            card.state = FAILING if endpoint.disabled_at else OFF
        if card.state == FAILING:
            card.last_error = (
                error_words(endpoint.last_error_code, endpoint.last_error_status)
                if endpoint.last_error_code
                else error_words("webhook_disabled")
            )
        cards.append(card)
    return cards


def _ai_cards(org: Organization, rows: dict) -> list[Integration]:
    provider = llm.provider_for(org)
    ai_url = reverse("ai-settings")
    chat = Integration(key=IntegrationKind.LLM, kind=IntegrationKind.LLM, name=gettext("AI provider"), state=UNKNOWN)
    chat.fix_url = ai_url
    configured = llm.is_configured(org)
    if configured:
        chat.facts.append(Fact(gettext("Chat model"), provider.chat_model, ltr=True))
    _from_row(chat, rows.get((IntegrationKind.LLM, "")), configured=configured)
    chat.testable = configured

    embeddings = Integration(
        key=IntegrationKind.EMBEDDINGS, kind=IntegrationKind.EMBEDDINGS, name=gettext("Embeddings"), state=UNKNOWN
    )
    embeddings.fix_url = ai_url
    model = llm.embedding_model_for(org)
    if model == llm.LOCAL_EMBEDDING_MODEL:
        embeddings.facts.append(Fact(gettext("Embedding model"), gettext("The hub's offline model")))
        embeddings.state = OK
        embeddings.testable = False
        return [chat, embeddings]
    if model:
        embeddings.facts.append(Fact(gettext("Embedding model"), model, ltr=True))
    else:
        embeddings.facts.append(Fact(gettext("Search"), gettext("By words only (no embedding model)")))
    _from_row(embeddings, rows.get((IntegrationKind.EMBEDDINGS, "")), configured=bool(model))
    embeddings.testable = bool(model)
    return [chat, embeddings]


def _google_card(rows: dict) -> Integration:
    card = Integration(
        key=IntegrationKind.GOOGLE, kind=IntegrationKind.GOOGLE, name=gettext("Google sign-in"), state=UNKNOWN
    )
    configured = google.is_configured()
    card.facts.append(
        Fact(gettext("Sign-in button"), gettext("Shown") if google.web_configured() else gettext("Hidden"))
    )
    card.facts.append(Fact(gettext("Set up by"), gettext("The hub's operator")))
    row = rows.get((IntegrationKind.GOOGLE, ""))
    keys = google.KEYS
    card.last_success_at = _latest(row.last_success_at if row else None, keys.succeeded_at)
    card.last_error_at = _latest(row.last_error_at if row else None, keys.failed_at)
    card.state = _outcome(card.last_success_at, card.last_error_at, configured=configured)
    if card.state == FAILING:
        card.last_error = error_words("google_unavailable")
    card.testable = configured
    return card


def mail_configured() -> bool:
    return settings.EMAIL_BACKEND not in UNCONFIGURED_MAIL_BACKENDS


def _mail_card(rows: dict) -> Integration:
    card = Integration(key=IntegrationKind.EMAIL, kind=IntegrationKind.EMAIL, name=gettext("E-mail"), state=UNKNOWN)
    configured = mail_configured()
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else settings.EMAIL_BACKEND
    card.facts.append(Fact(gettext("Mail backend"), backend))
    card.facts.append(Fact(gettext("Set up by"), gettext("The hub's operator")))
    _from_row(card, rows.get((IntegrationKind.EMAIL, "")), configured=configured)
    card.testable = configured
    return card


def integration_list(*, org: Organization) -> list[Integration]:
    """Every integration of the organization: its numbers (not deleted), AI provider and embeddings, outbound
    webhooks, Google sign-in and e-mail. A fixed number of queries whatever the number of rows."""
    rows = _statuses(org)
    numbers = WhatsAppNumber.objects.for_org(org).live()
    cards = [_number_card(number, rows.get((IntegrationKind.WHATSAPP_NUMBER, str(number.pk)))) for number in numbers]
    cards += _ai_cards(org, rows)
    cards += _webhook_cards(org)
    cards += [_google_card(rows), _mail_card(rows)]
    return cards


def integration_get(*, org: Organization, key: str) -> Integration | None:
    """The organization's integration named by `key` ("whatsapp_number-12", "webhook-3", "llm", ...), None when it
    has none by that key (another organization's number or endpoint included)."""
    return next((card for card in integration_list(org=org) if card.key == key), None)


def integration_target(*, org: Organization, key: str):
    """What a "test now" of `key` works on: the organization's number or endpoint, the kind's name for the others;
    None when the organization has no such integration."""
    kind, _, object_id = key.partition("-")
    if kind in SINGLE_KINDS and not object_id:
        return kind
    if not object_id.isdigit() or len(object_id) > 18:
        return None
    if kind == IntegrationKind.WHATSAPP_NUMBER:
        return WhatsAppNumber.objects.for_org(org).live().filter(pk=int(object_id)).first()
    if kind == IntegrationKind.WEBHOOK:
        return WebhookEndpoint.objects.for_org(org).filter(pk=int(object_id)).first()
    return None


GROUP_LABELS = {
    IntegrationKind.WHATSAPP_NUMBER: gettext_lazy("WhatsApp numbers"),
    IntegrationKind.LLM: gettext_lazy("AI"),
    IntegrationKind.WEBHOOK: gettext_lazy("Outbound webhooks"),
    IntegrationKind.GOOGLE: gettext_lazy("Sign-in and e-mail"),
}
