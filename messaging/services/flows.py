"""Every write of WhatsApp Flows (Meta's interactive forms): create one on a number's WhatsApp Business Account,
change its metadata or its Flow JSON (uploaded as the flow's asset; what Meta finds wrong is kept and answered as a
400 naming it), publish, deprecate, delete a draft, fetch its preview link; fill a flow message in for a send (the
flow's Meta id, a `flow_token` that maps back to the flow, the first screen); and store what customers submit
(`nfm_reply`) as FlowResponses during ingest; apply Meta's `flows` webhook (a status Meta changed, a health alert).

Meta is called outside any transaction; what it answered is stored in one. A sandbox number's flows live in the hub
(its provider checks the Flow JSON's outline); a WhatsApp Web (WAHA) number has none.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from accounts.models import Organization, User
from accounts.services import audit_log_write
from messaging import realtime
from messaging.models import (
    Conversation,
    FlowResponse,
    Message,
    NotificationKind,
    Provider,
    WhatsAppFlow,
    WhatsAppNumber,
)
from messaging.providers import SANDBOX_WABA_ID, ProviderError, provider_for
from messaging.selectors.access import NumberIds
from messaging.selectors.numbers import number_list
from messaging.services import notifications
from whatsapp_hub.aftercommit import run_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

Status = WhatsAppFlow.Status
# The hub's cap on a Flow JSON (Meta takes up to 10 MB; a form's JSON is a few kB).
FLOW_JSON_MAX_BYTES = 512 * 1024
# A preview link is fetched again when the one kept expires within this time.
PREVIEW_MARGIN = timezone.timedelta(hours=1)
# Shown for each validation error, at most this many (Meta may list hundreds for a broken file).
SHOWN_ERRORS = 20
UNSET: Any = object()
# Meta's Flow Management codes for a flow not in a state for the call (reference/error-codes): 139001 can't be
# updated (published), 139002 can't be published (not a draft, validation errors, setup missing), 139003 can't be
# deprecated (unpublished, or already deprecated), 139004 can't be deleted (published).
FLOW_STATE_CODES = frozenset({139001, 139002, 139003, 139004})
NAME_NOT_UNIQUE_SUBCODE = 4016019  # code 100 "Flow name is not unique"


def flow_waba_id(number: WhatsAppNumber) -> str | None:
    """The WhatsApp Business Account a number's flows belong to: a Cloud number's `waba_id`, the sandbox's own;
    None for a number that has no flows (WAHA, a Cloud number without its waba_id)."""
    if number.provider == Provider.SANDBOX:
        return SANDBOX_WABA_ID
    if number.provider == Provider.CLOUD and number.waba_id:
        return number.waba_id
    return None


def _number_error(message: str) -> ServiceError:
    return ServiceError(message, errors={"number_id": [message]})


def _flow_number(*, organization: Organization, number_id: int | None, number_ids: NumberIds) -> WhatsAppNumber:
    numbers = number_list(org=organization, number_ids=number_ids)
    if number_id is None:
        number = next((n for n in numbers if flow_waba_id(n) is not None), None)
        if number is None:
            raise _number_error(
                gettext("Connect a Cloud API number (or add a sandbox number) first: flows belong to its account.")
            )
        return number
    number = numbers.filter(pk=number_id).first()
    if number is None:
        raise _number_error(gettext("No such WhatsApp number in this organization."))
    if flow_waba_id(number) is None:
        raise _number_error(
            gettext("This number has no flows: a WhatsApp Web number sends none, and a Cloud number needs its waba_id.")
        )
    return number


def meta_refusal(exc: ProviderError, *, action: str) -> ServiceError:
    """Meta's refusal as the API's 4xx (Meta's title and details, its documented fields; a 409 for the codes saying
    the flow is not in a state for the call at Meta, a 400 on `name` in the hub's words for a name Meta has already),
    the client's own refusal before any request as a 400, and no answer at all (network, 5xx, throttling) as a 502
    saying to try again."""
    logger.warning("flow %s refused: %r", action, exc)
    if exc.retryable or (exc.http_status or 0) >= 500:
        return ServiceError(
            gettext("Meta did not answer (%(title)s): nothing was changed, try again in a moment.")
            % {"title": exc.title},
            status_code=502,
            code="meta_unavailable",
        )
    if exc.http_status is None:
        return ServiceError(f"{exc.title}: {exc.detail}" if exc.detail else exc.title, code="refused")
    if _name_taken(exc):
        message = gettext("Another flow of this WhatsApp account at Meta already has this name.")
        return ServiceError(message, errors={"name": [message]}, code="flow_exists")
    detail = gettext("Meta refused: %(title)s.") % {"title": exc.title}
    if exc.detail:
        detail = f"{detail} {exc.detail}"
    # Meta's status codes (the flow is not in a state for that at Meta) are a conflict, like the hub's own checks.
    return ServiceError(detail, status_code=409 if exc.code in FLOW_STATE_CODES else 400, code="meta_refused")


def _name_taken(exc: ProviderError) -> bool:
    """Meta's code 100 "Flow name is not unique" (error_subcode 4016019): the flow was named at Meta, not here."""
    error = exc.raw.get("error") if isinstance(exc.raw, dict) else None
    subcode = error.get("error_subcode") if isinstance(error, dict) else None
    return exc.code == 100 and (subcode == NAME_NOT_UNIQUE_SUBCODE or exc.title == "Flow name is not unique")


def flow_json_text(value: Any) -> str:
    """The Flow JSON to upload, from an object or its text: it must be a JSON object, at most FLOW_JSON_MAX_BYTES.
    A 400 on `flow_json` otherwise (Meta then checks the rest)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            message = gettext("This is not valid JSON: %(error)s.") % {"error": exc}
            raise ServiceError(message, errors={"flow_json": [message]}) from None
    if not isinstance(value, dict):
        message = gettext("The Flow JSON must be a JSON object (with version and screens).")
        raise ServiceError(message, errors={"flow_json": [message]})
    text = json.dumps(value, ensure_ascii=False, indent=2)
    if len(text.encode()) > FLOW_JSON_MAX_BYTES:
        message = gettext("The Flow JSON is larger than %(size)d kB.") % {"size": FLOW_JSON_MAX_BYTES // 1024}
        raise ServiceError(message, errors={"flow_json": [message]})
    return text


def validation_messages(errors: Iterable[Mapping]) -> list[str]:
    """Meta's `validation_errors` as lines a person reads: where (line, column, path) and what."""
    lines = []
    for error in list(errors)[:SHOWN_ERRORS]:
        message = str(error.get("message") or error.get("error") or "")
        pointers = error.get("pointers") if isinstance(error.get("pointers"), list) else []
        path = next((str(p.get("path")) for p in pointers if isinstance(p, dict) and p.get("path")), "")
        where = gettext("line %(line)s, column %(column)s") % {
            "line": error.get("line_start", "?"),
            "column": error.get("column_start", "?"),
        }
        lines.append(f"{where}: {message}" + (f" ({path})" if path else ""))
    return lines


def _invalid_json(errors: list[dict]) -> ServiceError:
    lines = validation_messages(errors)
    detail = gettext("Meta found %(count)d error(s) in the Flow JSON.") % {"count": len(errors)}
    return ServiceError(detail, errors={"flow_json": lines}, code="flow_json_invalid")


def _categories(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        message = gettext("Choose at least one category.")
        raise ServiceError(message, errors={"categories": [message]})
    if any(c not in WhatsAppFlow.Category.values for c in value):
        message = gettext("Unknown categories: %(names)s.") % {"names": ", ".join(map(str, value))}
        raise ServiceError(message, errors={"categories": [message]})
    return list(dict.fromkeys(value))


def _name(value: Any, *, organization: Organization, waba_id: str, exclude: int | None = None) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > 200:
        message = gettext("Give the flow a name (at most 200 characters).")
        raise ServiceError(message, errors={"name": [message]})
    same = WhatsAppFlow.objects.for_org(organization).filter(waba_id=waba_id, name=name).exclude(pk=exclude)
    if same.exists():
        message = gettext("This account already has a flow named %(name)s.") % {"name": name}
        raise ServiceError(message, errors={"name": [message]}, code="flow_exists")
    return name


def _audit(flow: WhatsAppFlow, actor: Any, action: str, **data: Any) -> None:
    audit_log_write(
        organization=flow.organization,
        actor=actor,
        action=f"whatsapp_flow.{action}",
        target=flow,
        data={"name": flow.name, "meta_flow_id": flow.meta_flow_id, **data},
    )


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


# --- lifecycle ------------------------------------------------------------------------------------------------


def flow_create(
    *,
    organization: Organization,
    actor: Any,
    name: Any,
    categories: Any,
    flow_json: Any = None,
    number_id: int | None = None,
    number_ids: NumberIds = None,
) -> WhatsAppFlow:
    """Create a DRAFT flow on the account of `number_id` (default: the organization's first number with flows),
    with its Flow JSON when given. If Meta finds errors in that JSON the draft is deleted at Meta again and the
    answer is a 400 naming them (nothing stored); Meta's other refusals are a 4xx with Meta's words (502 when Meta
    did not answer). Audited as whatsapp_flow.create."""
    number = _flow_number(organization=organization, number_id=number_id, number_ids=number_ids)
    waba_id = flow_waba_id(number) or ""
    name = _name(name, organization=organization, waba_id=waba_id)
    categories = _categories(categories)
    text = flow_json_text(flow_json) if flow_json is not None else None
    provider = provider_for(number)
    try:
        answer = provider.create_flow(name=name, categories=categories, flow_json=text)
    except ProviderError as exc:
        raise meta_refusal(exc, action="create") from exc
    meta_flow_id = str(answer.get("id") or "")
    if not meta_flow_id:
        raise ServiceError(gettext("Meta's answer had no flow id."), status_code=502, code="meta_unavailable")
    errors = [e for e in answer.get("validation_errors") or [] if isinstance(e, dict)]
    if errors:
        try:
            provider.delete_flow(meta_flow_id)
        except ProviderError as exc:  # a draft left at Meta is harmless: logged
            logger.warning("could not delete the refused draft flow %s: %r", meta_flow_id, exc)
        raise _invalid_json(errors)
    now = timezone.now()
    with transaction.atomic():
        flow = WhatsAppFlow.objects.create(
            organization=organization,
            number=number,
            waba_id=waba_id,
            meta_flow_id=meta_flow_id,
            name=name,
            categories=categories,
            flow_json=json.loads(text) if text is not None else None,
            validation_errors=[],
            created_by=_user(actor),
            created_at=now,
            updated_at=now,
        )
        _audit(flow, actor, "create", waba_id=waba_id)
    return flow


def _draft_or_error(flow: WhatsAppFlow) -> None:
    if flow.status != Status.DRAFT:
        message = gettext("Only a draft flow can be changed, published or deleted; this one is %(status)s.") % {
            "status": flow.status
        }
        raise ServiceError(message, status_code=409, code="flow_not_draft")


def flow_update(
    *, flow: WhatsAppFlow, actor: Any, name: Any = UNSET, categories: Any = UNSET, flow_json: Any = UNSET
) -> WhatsAppFlow:
    """Change a DRAFT flow (409 otherwise, as Meta would): its name and categories at Meta, and its Flow JSON
    uploaded as the flow's asset. The JSON Meta checked is kept with the errors Meta found (Meta keeps it too);
    errors make the answer a 400 naming them, after they are stored. Audited as whatsapp_flow.update."""
    _draft_or_error(flow)
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = _name(name, organization=flow.organization, waba_id=flow.waba_id, exclude=flow.pk)
    if categories is not UNSET:
        changes["categories"] = _categories(categories)
    text = flow_json_text(flow_json) if flow_json is not UNSET else None
    provider = provider_for(flow.number)
    errors: list[dict] = []
    try:
        if changes:
            provider.update_flow(flow.meta_flow_id, name=changes.get("name"), categories=changes.get("categories"))
        if text is not None:
            errors = provider.upload_flow_json(flow.meta_flow_id, text)
    except ProviderError as exc:
        raise meta_refusal(exc, action="update") from exc
    if text is not None:
        changes["flow_json"] = json.loads(text)
        changes["validation_errors"] = errors
    with transaction.atomic():
        changes["updated_at"] = timezone.now()
        WhatsAppFlow.objects.for_org(flow.organization).filter(pk=flow.pk).update(**changes)
        for key, value in changes.items():
            setattr(flow, key, value)
        _audit(flow, actor, "update", fields=sorted(k for k in changes if k != "updated_at"))
    if errors:
        raise _invalid_json(errors)
    return flow


def _set_status(flow: WhatsAppFlow, status: str, actor: Any, action: str) -> WhatsAppFlow:
    with transaction.atomic():
        now = timezone.now()
        WhatsAppFlow.objects.for_org(flow.organization).filter(pk=flow.pk).update(status=status, updated_at=now)
        flow.status, flow.updated_at = status, now
        _audit(flow, actor, action)
    return flow


def flow_publish(*, flow: WhatsAppFlow, actor: Any) -> WhatsAppFlow:
    """DRAFT → PUBLISHED at Meta, once its Flow JSON has no errors (409 before asking Meta otherwise): it can then be
    sent to anyone, and no longer changed. Audited as whatsapp_flow.publish."""
    _draft_or_error(flow)
    if flow.flow_json is None or flow.validation_errors:
        raise ServiceError(
            gettext("Upload a Flow JSON without errors before publishing."), status_code=409, code="flow_json_invalid"
        )
    try:
        provider_for(flow.number).publish_flow(flow.meta_flow_id)
    except ProviderError as exc:
        raise meta_refusal(exc, action="publish") from exc
    return _set_status(flow, Status.PUBLISHED, actor, "publish")


def flow_deprecate(*, flow: WhatsAppFlow, actor: Any) -> WhatsAppFlow:
    """PUBLISHED → DEPRECATED at Meta (409 for any other status): it can no longer be sent. Audited as
    whatsapp_flow.deprecate."""
    if flow.status != Status.PUBLISHED:
        raise ServiceError(
            gettext("Only a published flow can be deprecated."), status_code=409, code="flow_not_published"
        )
    try:
        provider_for(flow.number).deprecate_flow(flow.meta_flow_id)
    except ProviderError as exc:
        raise meta_refusal(exc, action="deprecate") from exc
    return _set_status(flow, Status.DEPRECATED, actor, "deprecate")


def flow_delete(*, flow: WhatsAppFlow, actor: Any) -> None:
    """Delete a DRAFT flow at Meta and here (409 otherwise: deprecate a published one); its responses stay, without
    their flow. Audited as whatsapp_flow.delete."""
    _draft_or_error(flow)
    try:
        provider_for(flow.number).delete_flow(flow.meta_flow_id)
    except ProviderError as exc:
        raise meta_refusal(exc, action="delete") from exc
    with transaction.atomic():
        _audit(flow, actor, "delete")
        WhatsAppFlow.objects.for_org(flow.organization).filter(pk=flow.pk).delete()


def flow_preview(*, flow: WhatsAppFlow) -> WhatsAppFlow:
    """The flow's preview link (GET /{flow_id}?fields=preview.invalidate(false)), kept until it nearly expires; a
    sandbox flow has none (preview_url stays blank)."""
    now = timezone.now()
    if flow.preview_url and flow.preview_expires_at and flow.preview_expires_at - PREVIEW_MARGIN > now:
        return flow
    try:
        answer = provider_for(flow.number).get_flow(flow.meta_flow_id, fields="preview.invalidate(false)")
    except ProviderError as exc:
        raise meta_refusal(exc, action="preview") from exc
    preview = answer.get("preview") if isinstance(answer.get("preview"), dict) else {}
    url = str(preview.get("preview_url") or "")
    if not url.startswith("https://"):
        return flow
    expires = _graph_time(preview.get("expires_at"))
    WhatsAppFlow.objects.for_org(flow.organization).filter(pk=flow.pk).update(
        preview_url=url[:1000], preview_expires_at=expires
    )
    flow.preview_url, flow.preview_expires_at = url[:1000], expires
    return flow


def _graph_time(value: Any) -> datetime | None:
    """Graph API time (`2026-05-21T11:18:09+0000`) as an aware datetime, None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value[:-5] + value[-5:-2] + ":" + value[-2:] if len(value) > 5 and value[-5] in "+-" else value
    return parse_datetime(text)


# --- Meta's `flows` webhook --------------------------------------------------------------------------------------

# The health alerts of the `flows` webhook (Flows webhooks reference): endpoint-powered flows' error rates, latency
# and availability, each ACTIVATED when a threshold is crossed and DEACTIVATED when it recovers; and the warning that
# the flow's Flow JSON version will freeze or expire.
ALERT_EVENTS = frozenset(
    {
        "ENDPOINT_ERROR_RATE",
        "ENDPOINT_LATENCY",
        "ENDPOINT_AVAILABILITY",
        "CLIENT_ERROR_RATE",
        "FLOW_VERSION_EXPIRY_WARNING",
    }
)
ALERT_STATES = frozenset({"ACTIVATED", "DEACTIVATED"})
# The figures an alert carries (error rates and availability in %, latencies in ms), kept when they are numbers.
ALERT_FIGURES = ("threshold", "error_rate", "p90_latency", "p50_latency", "requests_count", "availability")
# An error-rate alert's `errors` (error_type, error_rate, error_count), at most this many kept.
ALERT_ERRORS_KEPT = 10
ALERT_TEXT_MAX = 500
# Meta restricts a flow in these statuses: the admins are told.
RESTRICTED = {Status.BLOCKED: "flow_blocked", Status.THROTTLED: "flow_throttled"}
FLOW_UPDATED_EVENT = "whatsapp_flow.updated"


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _alert_of(event: str, value: Mapping) -> dict:
    """The alert as the hub keeps it: Meta's documented fields of a `flows` alert, each checked for its type."""
    text = value.get("warning") if event == "FLOW_VERSION_EXPIRY_WARNING" else value.get("message")
    alert: dict[str, Any] = {"event": event, "message": text[:ALERT_TEXT_MAX] if isinstance(text, str) else ""}
    if isinstance(value.get("alert_state"), str) and value["alert_state"] in ALERT_STATES:
        alert["alert_state"] = value["alert_state"]
    alert.update({key: _number(value.get(key)) for key in ALERT_FIGURES if _number(value.get(key)) is not None})
    errors = value.get("errors") if isinstance(value.get("errors"), list) else []
    errors = [e for e in errors if isinstance(e, dict)]
    if errors:
        alert["errors"] = [
            {
                "error_type": str(e.get("error_type") or "")[:100],
                "error_rate": _number(e.get("error_rate")),
                "error_count": _number(e.get("error_count")),
            }
            for e in errors[:ALERT_ERRORS_KEPT]
        ]
    return alert


def _publish_on_commit(flow: WhatsAppFlow) -> None:
    """`whatsapp_flow.updated` to the sockets of those who see the flow's number (the flows pages follow it)."""
    alert_at = flow.last_alert_at.isoformat() if flow.last_alert_at else None
    data = {"flows": [{"id": flow.pk, "status": flow.status, "last_alert_at": alert_at}]}
    event: realtime.Event = (FLOW_UPDATED_EVENT, data, [flow.number_id])
    run_after_commit(partial(realtime.publish, flow.organization_id, [event]), what=f"push {FLOW_UPDATED_EVENT}")


def flow_webhook_apply(*, organization: Organization, waba_id: str, value: Any) -> WhatsAppFlow | None:
    """Apply one change of Meta's `flows` webhook field from the WhatsApp Business Account `waba_id` to the
    organization's flow of that account with the change's `flow_id`: FLOW_STATUS_CHANGE sets its status (audited as
    whatsapp_flow.status; the admins are notified when Meta blocks or throttles it), a health alert is kept as its
    last_alert. Both are pushed live after commit. What is not a known event of a flow of this organization and
    account changes nothing (None). Runs in the ingest's transaction; never raises for the payload."""
    value = value if isinstance(value, dict) else {}
    event, flow_id = value.get("event") if isinstance(value.get("event"), str) else "", value.get("flow_id")
    if not isinstance(flow_id, str | int) or isinstance(flow_id, bool) or not str(flow_id) or not waba_id:
        return None
    new_status = value.get("new_status")
    if not (event in ALERT_EVENTS or (event == "FLOW_STATUS_CHANGE" and new_status in Status.values)):
        logger.info("flows webhook of %s ignored: %s", waba_id, str(value)[:200])
        return None
    flow = (
        WhatsAppFlow.objects.for_org(organization)
        .select_for_update()
        .filter(waba_id=waba_id, meta_flow_id=str(flow_id))
        .first()
    )
    if flow is None:
        return None
    now = timezone.now()
    changed: list[str] = []
    # A status change may carry the version warning too (a flow created with a version about to freeze).
    alert = event if event != "FLOW_STATUS_CHANGE" else "FLOW_VERSION_EXPIRY_WARNING" if value.get("warning") else None
    if alert is not None:
        flow.last_alert, flow.last_alert_at = _alert_of(alert, value), now
        changed += ["last_alert", "last_alert_at"]
    before = flow.status
    if event == "FLOW_STATUS_CHANGE" and new_status != before:
        flow.status, flow.updated_at = new_status, now
        changed += ["status", "updated_at"]
    if not changed:
        return flow  # Meta said it again
    flow.save(update_fields=changed)
    if flow.status != before:
        _audit(flow, None, "status", **{"from": before, "to": flow.status})
        if flow.status in RESTRICTED:
            notifications.admins_notify(
                organization=organization,
                kind=NotificationKind.FLOW_BLOCKED,
                title=notifications.TITLES[RESTRICTED[flow.status]],
                params={"name": flow.name},
                link=reverse("whatsapp-flow", args=[flow.pk]),
            )
    _publish_on_commit(flow)
    return flow


# --- sending ---------------------------------------------------------------------------------------------------


def flow_token_new(flow: WhatsAppFlow) -> str:
    """A flow_token for one send of `flow`: `<flow pk>.<random>`, so the customer's reply maps back to it."""
    return f"{flow.pk}.{secrets.token_urlsafe(12)}"


def flow_part_fill(*, part: dict, flow_id: int, number: WhatsAppNumber) -> WhatsAppFlow:
    """Fill in a checked flow message part (messaging.message_parts: `interactive` of type flow) for `flow_id`, a
    flow of the number's organization and account: Meta's flow id, a new flow_token, the first screen when none is
    named. A 400 on `flow` when it is not sendable from this number (unknown, another account, deprecated or
    blocked, a draft sent in published mode, a screen the Flow JSON does not have)."""
    flow = WhatsAppFlow.objects.for_org(number.organization_id).filter(pk=flow_id).first()

    def refuse(message: str) -> ServiceError:
        return ServiceError(message, errors={"flow": [message]})

    if flow is None:
        raise refuse(gettext("No such WhatsApp Flow in this organization."))
    if flow.waba_id != flow_waba_id(number):
        raise refuse(gettext("This flow belongs to another WhatsApp Business Account than this number's."))
    parameters = part["interactive"]["action"]["parameters"]
    mode = parameters.get("mode", "published")
    if flow.status not in (Status.PUBLISHED, Status.DRAFT) or (mode == "published" and flow.status != Status.PUBLISHED):
        raise refuse(
            gettext("This flow is %(status)s: only a published flow can be sent (a draft in draft mode, to test).")
            % {"status": flow.status}
        )
    parameters["flow_id"] = flow.meta_flow_id
    parameters["flow_token"] = flow_token_new(flow)
    if parameters.get("flow_action") == "navigate":
        payload = parameters.setdefault("flow_action_payload", {})
        screens = [s.get("id") for s in (flow.flow_json or {}).get("screens") or [] if isinstance(s, dict)]
        if not payload.get("screen"):
            if not flow.first_screen():
                raise refuse(gettext("The flow's JSON has no screen to open."))
            payload["screen"] = flow.first_screen()
        elif screens and payload["screen"] not in screens:
            raise refuse(gettext("The flow has no screen %(screen)s.") % {"screen": payload["screen"]})
    return flow


# --- what customers submit -----------------------------------------------------------------------------------


def _flow_pk(token: str) -> int | None:
    head = token.split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) <= 18 else None


def flow_reply_of(payload: Any) -> dict | None:
    """The submitted answers of an inbound message payload (`interactive.nfm_reply.response_json`, a JSON object
    as text), None when it is not a flow reply."""
    interactive = payload.get("interactive") if isinstance(payload, dict) else None
    if not isinstance(interactive, dict) or interactive.get("type") != "nfm_reply":
        return None
    reply = interactive.get("nfm_reply")
    raw = reply.get("response_json") if isinstance(reply, dict) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def flow_responses_store(
    *, organization: Organization, messages: Iterable[Message], conversations: Iterable[Conversation]
) -> list[FlowResponse]:
    """The FlowResponses of the batch's new inbound `nfm_reply` messages, linked to their flow through the
    flow_token (a token naming no flow of the organization keeps the response, flow null). Two queries at most.
    Must be called inside the ingest's transaction."""
    contact_of = {c.pk: c.contact_id for c in conversations}
    found = []
    for message in messages:
        if message.direction != Message.Direction.INBOUND or message.type != Message.Type.INTERACTIVE:
            continue
        answers = flow_reply_of(message.payload)
        if answers is not None and message.conversation_id in contact_of:
            found.append((message, answers))
    if not found:
        return []
    tokens = {message.pk: str(answers.get("flow_token") or "")[:200] for message, answers in found}
    wanted = {pk for pk in map(_flow_pk, tokens.values()) if pk is not None}
    flows = set(WhatsAppFlow.objects.for_org(organization).filter(pk__in=wanted).values_list("pk", flat=True))
    rows = [
        FlowResponse(
            organization=organization,
            flow_id=_flow_pk(tokens[message.pk]) if _flow_pk(tokens[message.pk]) in flows else None,
            contact_id=contact_of[message.conversation_id],
            conversation_id=message.conversation_id,
            message_id=message.pk,
            flow_token=tokens[message.pk],
            response_json=answers,
            received_at=message.provider_timestamp or timezone.now(),
        )
        for message, answers in found
    ]
    return FlowResponse.objects.bulk_create(rows, ignore_conflicts=True)
