"""Writes of the AI settings (admins) and of the token usage (the LLM client, automation/llm.py)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Organization
from accounts.services import audit_log_write
from automation.models.ai import AISettings, AIUsage
from automation.selectors.ai import organization_today
from whatsapp_hub import egress
from whatsapp_hub.errors import ServiceError

UNSET: Any = object()
MODEL_MAX_LENGTH = AISettings._meta.get_field("chat_model").max_length
URL_MAX_LENGTH = AISettings._meta.get_field("base_url").max_length


def _field_error(field: str, message: str) -> ServiceError:
    return ServiceError(f"{field}: {message}", errors={field: [message]})


def _check_base_url(url: str) -> str:
    """A tenant's base URL, trimmed (no trailing slash), after the egress policy's save-time check (it resolves the
    host: called outside any transaction). Blank: the operator's OPENAI_BASE_URL."""
    url = url.strip().rstrip("/")
    if not url:
        return ""
    if len(url) > URL_MAX_LENGTH:
        raise _field_error("base_url", gettext("At most %(count)d characters.") % {"count": URL_MAX_LENGTH})
    try:
        egress.check_base_url(url)
    except egress.AddressNotAllowed as exc:
        raise _field_error("base_url", str(exc)) from None
    return url


def _check_model(field: str, value: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise _field_error(field, gettext("This field may not be blank."))
    if len(value) > MODEL_MAX_LENGTH or any(char.isspace() or not char.isprintable() for char in value):
        raise _field_error(field, gettext("A model name: at most 200 characters, no spaces."))
    return value


def _check_key(value: str) -> str:
    value = value.strip()
    if len(value) > 1000 or any(char.isspace() or not char.isprintable() for char in value):
        raise _field_error("api_key", gettext("An API key: at most 1,000 characters, no spaces."))
    return value


def ai_settings_save(
    *,
    organization: Organization,
    actor,
    base_url: str = UNSET,
    api_key: str = UNSET,
    chat_model: str = UNSET,
    embedding_model: str = UNSET,
) -> AISettings:
    """settings/ai and settings/openai: change the given fields (UNSET: unchanged; a blank `api_key` removes the key,
    a blank `base_url` means the operator's OPENAI_BASE_URL, a blank `embedding_model` turns embeddings off).
    Audited with the names of the fields changed (never the key). The base URL is checked against the egress policy
    before the transaction (it resolves the host)."""
    changes: dict[str, str] = {}
    if base_url is not UNSET:
        changes["base_url"] = _check_base_url(base_url)
    if api_key is not UNSET:
        changes["api_key"] = _check_key(api_key)
    if chat_model is not UNSET:
        changes["chat_model"] = _check_model("chat_model", chat_model, required=True)
    if embedding_model is not UNSET:
        changes["embedding_model"] = _check_model("embedding_model", embedding_model, required=False)
    with transaction.atomic():
        Organization.objects.select_for_update().only("pk").get(pk=organization.pk)
        row = AISettings.objects.for_org(organization).first() or AISettings(organization=organization)
        changed = sorted(name for name, value in changes.items() if getattr(row, name) != value)
        for name, value in changes.items():
            setattr(row, name, value)
        if changed or row.pk is None:
            row.updated_at = timezone.now()
            row.save()
        if changed:
            audit_log_write(
                organization=organization, actor=actor, action="ai_settings.update", data={"fields": changed}
            )
    return row


def ai_usage_record(*, organization_id: int, model: str, prompt_tokens: int, completion_tokens: int) -> None:
    """Add one request's tokens to the organization's usage of today (its time zone) for `model`. Safe under
    concurrency: an F() update, else an insert, and the update again when another process inserted first."""
    organization = Organization.objects.only("pk", "settings").get(pk=organization_id)
    day = organization_today(organization)
    model = model[:MODEL_MAX_LENGTH]
    rows = AIUsage.objects.filter(organization_id=organization_id, day=day, model=model)
    increments = {
        "prompt_tokens": F("prompt_tokens") + prompt_tokens,
        "completion_tokens": F("completion_tokens") + completion_tokens,
        "requests": F("requests") + 1,
    }
    if rows.update(**increments):
        return
    try:
        with transaction.atomic():
            AIUsage.objects.create(
                organization_id=organization_id,
                day=day,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                requests=1,
            )
    except IntegrityError:
        rows.update(**increments)
