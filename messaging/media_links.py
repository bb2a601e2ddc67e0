"""Shared media links (POST media/{id}/copy): a URL anyone may open for MEDIA_SHARE_LINK_HOURS to get one file.

The token is signed with the project's key (django.core.signing, timestamped, its own salt) and names only the
organization and the media id: never the storage path. It is checked again when opened: the signature (else 404),
its age (else 410), and that the file is still stored, ready, in an active organization (else 404). Nothing is
written: a link cannot be revoked one by one, only by its expiry (or the file's deletion).
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Organization
from messaging.models import Media
from whatsapp_hub.errors import ServiceError

SALT = "messaging.media.share"
# Media types a browser may show inline; anything else downloads (never rendered as a page of ours).
INLINE_MEDIA = ("image/", "audio/", "video/")


class LinkExpired(Exception):
    """A well-signed link older than MEDIA_SHARE_LINK_HOURS."""


def _max_age() -> timedelta:
    return timedelta(hours=settings.MEDIA_SHARE_LINK_HOURS)


def media_share_link(*, organization: Organization, media: Media) -> tuple[str, datetime]:
    """The path of a link that serves `media` (the caller's, already scoped) to anyone, and when it expires. 409 for
    a file not stored yet (an inbound file still downloading, or one that failed)."""
    if media.status != Media.Status.READY or not media.file:
        raise ServiceError(
            gettext("This file is not stored yet, so it cannot be shared."), status_code=409, code="not_ready"
        )
    token = signing.dumps([organization.pk, media.pk], salt=SALT)
    return f"{reverse('media-shared')}?{urlencode({'link': token})}", timezone.now() + _max_age()


def media_from_share_token(token: str) -> Media:
    """The media a link names. Http404 for a forged or altered token, or a file no longer served; LinkExpired for
    an expired one."""
    try:
        organization_id, media_id = signing.loads(token, salt=SALT, max_age=_max_age())
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, TypeError, ValueError):
        raise Http404 from None
    media = (
        Media.objects.filter(
            organization_id=organization_id,
            organization__status=Organization.Status.ACTIVE,
            pk=media_id,
            status=Media.Status.READY,
        )
        .exclude(file="")
        .first()
    )
    if media is None:
        raise Http404
    return media


def media_file_response(media: Media) -> FileResponse:
    """The file of a ready media as a download: its own type, inline only for images, audio and video, with a
    Content-Disposition Django quotes (non-ASCII names as filename*), never sniffed nor run as a page of ours."""
    mime = media.mime_type or "application/octet-stream"
    try:
        handle = media.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is not available.") from None
    response = FileResponse(
        handle,
        content_type=mime,
        # SVG is an image that can carry script: downloaded, like documents.
        as_attachment=not mime.startswith(INLINE_MEDIA) or mime.startswith("image/svg"),
        filename=media.filename or f"media-{media.pk}",
    )
    # A file from a customer must never run as a page of ours.
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
