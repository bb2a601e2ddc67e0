"""Media: uploads for later sending, outbound checks, and the inbound fetch (provider → Django storage)."""

import base64
import binascii
import hashlib
import logging
import mimetypes
import os
import uuid
from collections import defaultdict
from typing import IO

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts import plans
from accounts.models import Organization
from messaging.models import Media, Message
from messaging.providers import ProviderError, provider_for
from messaging.providers.base import INBOUND_MEDIA_LIMIT, MEDIA_LIMITS, base_mime
from messaging.services.events import publish_message_on_commit
from messaging.services.retries import MAX_ATTEMPTS, RetryLater, attempt_grace, backoff_countdown, stalled
from messaging.tasks import media as media_tasks
from whatsapp_hub.aftercommit import enqueue_after_commit
from whatsapp_hub.errors import ServiceError

logger = logging.getLogger(__name__)

MB = 1024 * 1024
# What each media message type may carry (reference §5); sizes come from the providers' MEDIA_LIMITS.
MIME_TYPES_BY_MESSAGE_TYPE: dict[str, frozenset[str]] = {
    Message.Type.IMAGE: frozenset({"image/jpeg", "image/png"}),
    Message.Type.AUDIO: frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
    Message.Type.VIDEO: frozenset({"video/mp4", "video/3gpp"}),
    Message.Type.DOCUMENT: frozenset(
        {
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        }
    ),
    Message.Type.STICKER: frozenset({"image/webp"}),
}
# Names browsers and operating systems give that Meta knows under another one.
MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
}
UPLOAD_MAX_BYTES = max(MEDIA_LIMITS.values())
FILENAME_MAX_LENGTH = Media._meta.get_field("filename").max_length


def _mb(size: int) -> str:
    return f"{size / MB:g} MB" if size >= MB else f"{size // 1024} KB"


def upload_size_check(*, size: int | None) -> None:
    """413 before parsing a request body that cannot hold an acceptable file."""
    if size is not None and size > UPLOAD_MAX_BYTES + MB:  # room for the multipart envelope
        raise ServiceError(
            gettext("The file is too large: at most %(size)s.") % {"size": _mb(UPLOAD_MAX_BYTES)},
            status_code=413,
            code="too_large",
        )


def mime_type_of(file: File) -> str:
    """The file's MIME type as the client declared it (else guessed from its name), without parameters."""
    declared = getattr(file, "content_type", None) or mimetypes.guess_type(file.name or "")[0] or ""
    mime = base_mime(declared)
    return MIME_ALIASES.get(mime, mime)


def message_type_of(mime_type: str) -> str | None:
    """The media message type WhatsApp sends a file of this MIME type as (image, video, ...), None for none."""
    mime = MIME_ALIASES.get(base_mime(mime_type), base_mime(mime_type))
    return next((mtype for mtype, allowed in MIME_TYPES_BY_MESSAGE_TYPE.items() if mime in allowed), None)


def media_check(*, mime_type: str, size: int, message_type: str | None = None, field: str = "file") -> None:
    """A 400 naming `field` unless WhatsApp accepts this media (for `message_type`, when given): type and size."""
    mime = MIME_ALIASES.get(base_mime(mime_type), base_mime(mime_type))
    if message_type is not None:
        allowed = MIME_TYPES_BY_MESSAGE_TYPE[message_type]
        if mime not in allowed:
            message = gettext("A %(type)s must be one of %(allowed)s; this file is %(mime)s.") % {
                "type": message_type,
                "allowed": ", ".join(sorted(allowed)),
                "mime": mime or gettext("unknown"),
            }
            raise ServiceError(message, errors={field: [message]})
    elif mime not in MEDIA_LIMITS:
        message = gettext("WhatsApp does not accept files of type %(mime)s; accepted: %(accepted)s.") % {
            "mime": mime or gettext("unknown"),
            "accepted": ", ".join(sorted(MEDIA_LIMITS)),
        }
        raise ServiceError(message, errors={field: [message]})
    limit = MEDIA_LIMITS[mime]
    if size > limit:
        message = gettext("%(mime)s files are limited to %(limit)s by WhatsApp; this one has %(size)d bytes.") % {
            "mime": mime,
            "limit": _mb(limit),
            "size": size,
        }
        raise ServiceError(message, errors={field: [message]})
    if size == 0:
        message = gettext("The file is empty.")
        raise ServiceError(message, errors={field: [message]})


def _storage_name(*, organization_id: int, mime_type: str) -> str:
    """A server-chosen name (never the client's): organization / random, with the type's usual extension."""
    extension = mimetypes.guess_extension(mime_type) or ""
    return f"{organization_id}/{uuid.uuid4().hex}{extension}"


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def clean_filename(name: str) -> str:
    """The last path component of a client's file name, trimmed to the column (extension kept)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    if len(base) <= FILENAME_MAX_LENGTH:
        return base
    stem, extension = os.path.splitext(base)
    return stem[: FILENAME_MAX_LENGTH - len(extension)] + extension


def media_store_upload(*, organization: Organization, file: File, mime_type: str) -> Media:
    """Write an upload (already checked) to storage and return its Media row, unsaved.

    Called outside a transaction (storage may be remote): the caller saves the row in its own transaction. The file
    counts against the plan's storage: a 400 (storage_limit_reached) before anything is written when it does not
    fit (two uploads at once may both fit the check: the limit is a quota, not a hard cap).
    """
    plans.storage_check(organization=organization, size=file.size or 0)
    file.seek(0)
    media = Media(
        organization=organization,
        mime_type=mime_type,
        filename=clean_filename(file.name),
        size=file.size,
        sha256=_sha256_of(file),
        status=Media.Status.READY,
    )
    media.file.save(_storage_name(organization_id=organization.pk, mime_type=mime_type), file, save=False)
    plans.usage_storage_add(organization_id=organization.pk, delta=media.size)
    return media


def media_upload(*, organization: Organization, file: File) -> Media:
    """POST media/: a file WhatsApp accepts, stored for a later send (`media_id`); 400 for a type or size it refuses."""
    mime = mime_type_of(file)
    media_check(mime_type=mime, size=file.size)
    media = media_store_upload(organization=organization, file=file, mime_type=mime)
    with transaction.atomic():
        media.save()
    return media


# --- inbound -----------------------------------------------------------------------------------------


def enqueue_inbound_media(*, organization_id: int, media_ids: list[int]) -> None:
    """Fetch these inbound media of the organization in the background (one task each), after commit."""
    for media_id in media_ids:
        enqueue_after_commit(media_tasks.fetch_inbound_media, organization_id, media_id)


def _sha256_matches(expected: str, content_hex: str) -> bool:
    """Meta gives the sha256 in base64 (webhooks) or hex (some answers); either must match the bytes."""
    expected = expected.strip()
    if expected.lower() == content_hex:
        return True
    try:
        return base64.b64decode(expected, validate=True) == bytes.fromhex(content_hex)
    except (binascii.Error, ValueError):
        return False


def _publish_media_change(media: Media) -> None:
    publish_message_on_commit(
        message_id=media.message_id, organization_id=media.organization_id, event="message.updated"
    )


def _media_fail(media: Media, error: str) -> None:
    with transaction.atomic():
        changed = (
            Media.objects.for_org(media.organization)
            .filter(pk=media.pk, status=Media.Status.PENDING)
            .update(status=Media.Status.FAILED, error=error[:500])
        )
        if changed:
            _publish_media_change(media)


def _provider_reference(media: Media) -> str:
    """What the provider fetches: Meta's media id, or the file URL of a WAHA message (kept in its payload)."""
    if media.provider_media_id or media.message is None:
        return media.provider_media_id
    payload = media.message.payload if isinstance(media.message.payload, dict) else {}
    info = payload.get("media")
    url = info.get("url") if isinstance(info, dict) else None
    return url if isinstance(url, str) else ""


def media_fetch_inbound(*, organization_id: int, media_id: int, attempt: int = 1) -> None:
    """Download an inbound media file into storage: size and sha256 checked, then `ready`.

    Idempotent: a Media that is not pending is left alone, and the attempt is claimed first with a conditional
    update of `attempts` to `attempt` (stamped `attempted_at`): a second copy of the same attempt (the broker
    redelivers the task of a worker that died) does nothing, and an attempt whose worker died is counted, so the
    sweeper gives up after MAX_ATTEMPTS. Of two attempts running at once only the first to finish is kept. A
    transient provider error raises RetryLater (until MAX_ATTEMPTS); any other failure marks the Media failed
    with the reason in `error`. The provider is called outside any transaction.
    """
    media = (
        Media.objects.select_related("organization", "message__conversation__number")
        .filter(organization_id=organization_id, pk=media_id)
        .first()
    )
    if media is None or media.status != Media.Status.PENDING:
        return
    claimed = (
        Media.objects.for_org(media.organization)
        .filter(pk=media.pk, status=Media.Status.PENDING, attempts__lt=attempt)
        .update(attempts=attempt, attempted_at=timezone.now())
    )
    if not claimed:
        return
    reference = _provider_reference(media)
    if not reference:
        _media_fail(media, "Nothing to fetch: the provider gave no media id or URL.")
        return
    provider = provider_for(media.message.conversation.number)
    try:
        content = provider.fetch_media(reference)
    except ProviderError as exc:
        if exc.retryable and attempt < MAX_ATTEMPTS:
            raise RetryLater(backoff_countdown(attempt)) from exc
        _media_fail(media, str(exc))
        return
    if len(content.content) > INBOUND_MEDIA_LIMIT or (media.size is not None and media.size != content.size):
        _media_fail(media, f"Size check failed: expected {media.size} bytes, downloaded {content.size}.")
        return
    if media.sha256 and not _sha256_matches(media.sha256, content.sha256):
        _media_fail(media, "Integrity check failed: the downloaded bytes do not match the sha256 Meta announced.")
        return
    mime = base_mime(media.mime_type or content.mime_type) or "application/octet-stream"
    name = media.file.storage.save(
        media.file.field.generate_filename(media, _storage_name(organization_id=media.organization_id, mime_type=mime)),
        ContentFile(content.content),
    )
    with transaction.atomic():
        changed = (
            Media.objects.for_org(media.organization)
            .filter(pk=media.pk, status=Media.Status.PENDING)
            .update(
                file=name,
                size=content.size,
                sha256=content.sha256,
                mime_type=media.mime_type or content.mime_type,
                status=Media.Status.READY,
                error="",
            )
        )
        if changed:
            _publish_media_change(media)
            # A customer's file is kept whatever the plan's storage (it is counted, never refused).
            plans.usage_storage_add(organization_id=media.organization_id, delta=content.size)
    if not changed:  # another fetch finished first: keep its file, drop ours
        media.file.storage.delete(name)


# --- media sweeper: inbound files left pending ------------------------------------------------------------------

SWEEP_BATCH_SIZE = 200
INTERRUPTED_ERROR = "The download was interrupted too many times (its worker stopped each time)."


def media_fetches_sweep(*, limit: int = SWEEP_BATCH_SIZE) -> int:
    """Deal with up to `limit` inbound media left pending (the beat task's work); returns how many it took.

    Never claimed within UNCLAIMED_GRACE (the task was never queued: the broker was down at commit, or it was
    lost), or last claimed longer ago than `attempt_grace()` (its worker died, or its retry was lost): the next
    attempt is queued; out of attempts, the Media is failed. A download may safely run again, so unlike a send
    an interrupted one is simply repeated. One transaction: the rows are locked (SKIP LOCKED: concurrent sweeps
    take different ones) and stamped, so the next sweep waits a grace again; the tasks are queued after commit
    and every attempt is still claimed by media_fetch_inbound."""
    now = timezone.now()
    with transaction.atomic():
        stuck = list(
            Media.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization")
            .filter(Q(status=Media.Status.PENDING) & stalled(now, grace=attempt_grace()))
            .order_by("id")[:limit]
        )
        requeued = [media for media in stuck if media.attempts < MAX_ATTEMPTS]
        for media in stuck:
            if media.attempts >= MAX_ATTEMPTS:
                _media_fail(media, INTERRUPTED_ERROR)
        by_organization: dict[int, list[Media]] = defaultdict(list)
        for media in requeued:
            by_organization[media.organization_id].append(media)
        for items in by_organization.values():
            Media.objects.for_org(items[0].organization).filter(pk__in=[media.pk for media in items]).update(
                attempted_at=now
            )
        for media in requeued:
            enqueue_after_commit(
                media_tasks.fetch_inbound_media, media.organization_id, media.pk, first_attempt=media.attempts + 1
            )
    if stuck:
        logger.warning(
            "media sweeper: %d stuck media, %d queued again: %s",
            len(stuck),
            len(requeued),
            [media.pk for media in stuck][:20],
        )
    return len(stuck)
