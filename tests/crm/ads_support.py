"""Rows for the ads tests (and the isolation walker): inbound messages carrying a Click-to-WhatsApp referral,
recorded in the ad registry as the ingest hook records them."""

import secrets
from datetime import datetime

from django.utils import timezone

from crm.ads.models import Ad
from crm.ads.services import ad_referrals_record
from messaging.models import Conversation, Message
from tests.messaging.factories import ConversationFactory, MessageFactory


def referral(source_id: str, **fields) -> dict:
    """Meta's `referral` object of a message sent from an ad (the fields of the webhook reference)."""
    return {
        "source_url": f"https://fb.me/{source_id}",
        "source_id": source_id,
        "source_type": "ad",
        "headline": f"Ad {source_id}",
        "body": "Chat with us",
        "media_type": "image",
        "image_url": f"https://scontent.xx.fbcdn.net/{source_id}.jpg",
        "thumbnail_url": f"https://scontent.xx.fbcdn.net/{source_id}_thumb.jpg",
        "ctwa_clid": f"clid-{source_id}",
        **fields,
    }


def message(conversation: Conversation, at: datetime, *, ad: str | None = None, **fields) -> Message:
    """An inbound message of `conversation` stored at `at` (with the referral of ad `ad`), recorded in the registry
    as the referral_received hook records it."""
    stored = MessageFactory(
        organization=conversation.organization,
        conversation=conversation,
        created_at=at,
        referral=referral(ad) if ad else None,
        **fields,
    )
    if ad:
        ad_referrals_record(organization_id=conversation.organization_id, message_ids=[stored.pk])
    return stored


def reply(conversation: Conversation, at: datetime, *, by=None) -> Message:
    """An outbound message of `conversation` stored at `at`, sent by the person `by` (None: a bot, a flow)."""
    return MessageFactory(
        organization=conversation.organization,
        conversation=conversation,
        created_at=at,
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.SENT,
        sent_by=by,
    )


def ad(org) -> Ad:
    """An ad a new customer wrote from just now."""
    source_id = str(120_000_000_000 + secrets.randbelow(10**9))
    message(ConversationFactory(organization=org), timezone.now(), ad=source_id)
    return Ad.objects.for_org(org).get(source_id=source_id)
