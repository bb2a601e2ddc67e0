"""Settings > Integrations: "test now", a real check of one integration through its own client, recorded.

- a WhatsApp number: messaging's number_connection_check (Graph API: GET the number; WAHA: the session's status);
- the AI provider: a one-token chat completion; embeddings: one short text embedded (automation.llm);
- an outbound webhook: a signed `ping` through the delivery code and its egress policy (webhook_endpoint_test);
- Google sign-in: Google's key set fetched (accounts.google.KEYS.check);
- e-mail: a short e-mail to the admin who asked.

One test per integration per accounts.integrations.TEST_INTERVAL seconds (429 with Retry-After), claimed before the
check; every outcome is written at once (a forced record), and the caller gets the card's new state.
"""

from __future__ import annotations

import contextlib
import logging

from django.utils.translation import gettext

from accounts import mail
from accounts.integration_models import IntegrationKind
from accounts.integrations import integration_failed, integration_ok, integration_test_claim
from accounts.models import Organization, User
from automation import llm
from automation.selectors import integrations as selectors
from automation.services.webhooks import webhook_endpoint_test
from messaging.services.numbers import number_connection_check
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

TEST_PROMPT = [{"role": "user", "content": "Reply with OK."}]
CHECK_TIMEOUT = (5.0, 15.0)  # (connect, read) seconds of a check of the AI provider: tried once
MAIL_TIMEOUT = 10  # seconds of the SMTP connection of a test e-mail


def _not_found() -> ServiceError:
    return ServiceError(gettext("No such integration."), status_code=404, code="not_found")


def _check_llm(org: Organization, kind: str) -> None:
    try:
        if kind == IntegrationKind.LLM:
            llm.chat(organization=org, messages=TEST_PROMPT, max_tokens=1, timeout=CHECK_TIMEOUT, attempts=1)
        else:
            llm.embed(organization=org, texts=["ping"], timeout=CHECK_TIMEOUT, attempts=1)
    except llm.LLMError as error:
        integration_failed(organization_id=org.pk, kind=kind, error_code=error.code, force=True)
    else:
        integration_ok(organization_id=org.pk, kind=kind, force=True)


def _check_google(org: Organization) -> None:
    from accounts import google

    try:
        google.KEYS.check()
    except ServiceError:
        integration_failed(
            organization_id=org.pk, kind=IntegrationKind.GOOGLE, error_code="google_unavailable", force=True
        )
    else:
        integration_ok(organization_id=org.pk, kind=IntegrationKind.GOOGLE, force=True)


def _check_mail(org: Organization, actor: User) -> None:
    """A test e-mail to the admin who asked, through the e-mail pipeline (it is in the e-mail log), sent now: its
    outcome is the e-mail integration's state (accounts.mail.email_deliver). One that fails is tried again later
    like any e-mail."""
    log = mail.send_templated(user=actor, template="test", context={"organization": org}, organization=org)
    with contextlib.suppress(OSError):  # recorded: the log keeps the error, the card shows it
        mail.email_deliver(log_id=log.pk, timeout=MAIL_TIMEOUT, record_now=True)


def integration_test(*, org: Organization, key: str, actor) -> selectors.Integration:
    """Check the integration `key` of `org` now (see the module docstring) and return its new state. 404 when the
    organization has no such integration, 400 when it is not configured (or has nothing to test), 429 within
    TEST_INTERVAL of the last test of it. The check's own failure is not an error: it is the state returned."""
    target = selectors.integration_target(org=org, key=key)
    card = selectors.integration_get(org=org, key=key) if target is not None else None
    if card is None:
        raise _not_found()
    if card.state == selectors.NOT_CONFIGURED or not card.testable:
        raise ServiceError(
            gettext("There is nothing to test: set this integration up first."), code="integration_not_configured"
        )
    is_person = isinstance(actor, User)
    if card.kind == IntegrationKind.EMAIL and not (is_person and actor.email):
        raise ServiceError(
            gettext("A test e-mail goes to the person who asks for it: sign in as a person to send one."),
            code="integration_needs_person",
        )
    object_id = "" if isinstance(target, str) else target.pk
    wait = integration_test_claim(organization_id=org.pk, kind=card.kind, object_id=object_id)
    if wait:
        raise ServiceError(
            gettext("This integration was tested a moment ago: try again in %(seconds)d seconds.") % {"seconds": wait},
            status_code=429,
            code="throttled",
            headers={"Retry-After": str(wait)},
        )
    if card.kind == IntegrationKind.WHATSAPP_NUMBER:
        number_connection_check(number=target)
    elif card.kind == IntegrationKind.WEBHOOK:
        webhook_endpoint_test(endpoint=target, actor=actor)
    elif card.kind in (IntegrationKind.LLM, IntegrationKind.EMBEDDINGS):
        _check_llm(org, card.kind)
    elif card.kind == IntegrationKind.GOOGLE:
        _check_google(org)
    else:
        _check_mail(org, actor)
    fresh = selectors.integration_get(org=org, key=key)
    if fresh is None:  # deleted meanwhile
        raise _not_found()
    return fresh
