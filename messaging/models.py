from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import TenantModel, TenantQuerySet
from whatsapp_hub.encryption import EncryptedTextField

CUSTOMER_SERVICE_WINDOW = timezone.timedelta(hours=24)
# Meta's error for a free-form message outside the window, and how the hub explains it: the 409 that refuses such a
# send, and the error_title of a message that failed with this code anyway (Meta reports it asynchronously).
WINDOW_CLOSED_ERROR_CODE = 131047
WINDOW_CLOSED_DETAIL = gettext_noop(
    "The 24-hour customer-service window is closed (the customer last wrote more than 24 hours ago, or never): "
    "only a template message can be sent until they write again."
)


class Provider(models.TextChoices):
    CLOUD = "cloud", "Meta Cloud API"
    WAHA = "waha", "WAHA (WhatsApp Web)"
    SANDBOX = "sandbox", "Sandbox"


class MessagingLimitTier(models.TextChoices):
    """Meta's business-initiated messaging limits (reference §6.2), as `whatsapp_business_manager_messaging_limit`
    names them."""

    TIER_250 = "TIER_250", "250"
    TIER_2K = "TIER_2K", "2,000"
    TIER_10K = "TIER_10K", "10,000"
    TIER_100K = "TIER_100K", "100,000"
    TIER_UNLIMITED = "TIER_UNLIMITED", "Unlimited"


class WhatsAppNumberQuerySet(TenantQuerySet):
    def live(self) -> "WhatsAppNumberQuerySet":
        """Numbers not deleted (deletion is soft: their history stays)."""
        return self.filter(deleted_at__isnull=True)


class WhatsAppNumber(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISCONNECTED = "disconnected", "Disconnected"
        PENDING = "pending", "Pending"

    class SessionStatus(models.TextChoices):
        """WAHA session states."""

        STOPPED = "STOPPED", "Stopped"
        STARTING = "STARTING", "Starting"
        SCAN_QR_CODE = "SCAN_QR_CODE", "Scan QR code"
        WORKING = "WORKING", "Working"
        FAILED = "FAILED", "Failed"

    display_name = models.CharField(max_length=120)
    phone_number = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +15551234567")
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.SANDBOX)
    # Meta Cloud API
    phone_number_id = models.CharField(max_length=64, blank=True, db_index=True)
    waba_id = models.CharField(max_length=64, blank=True)
    access_token = EncryptedTextField(blank=True)
    app_secret = EncryptedTextField(blank=True)
    verify_token = EncryptedTextField(blank=True)
    # WAHA
    waha_session = models.CharField(max_length=100, blank=True)
    waha_base_url = models.URLField(blank=True)
    waha_api_key = EncryptedTextField(blank=True)
    waha_webhook_hmac_key = EncryptedTextField(blank=True)
    session_status = models.CharField(max_length=16, choices=SessionStatus.choices, blank=True)

    is_primary = models.BooleanField(default=False)
    throughput = models.PositiveIntegerField(default=80, help_text="Messages per second Meta allows this number.")
    messaging_limit_tier = models.CharField(
        max_length=16,
        choices=MessagingLimitTier.choices,
        default=MessagingLimitTier.TIER_250,
        help_text="Meta's messaging limit: unique customers reached outside the 24-hour window per rolling 24 hours.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = WhatsAppNumberQuerySet.as_manager()

    class Meta:
        constraints = [
            # Per organization, not across them: webhooks reach an organization by its own URL and are verified with
            # its own app secrets, so another organization holding the same id can neither receive nor forge them,
            # and a refusal would tell a stranger that some tenant connected that line (or let one squat it).
            models.UniqueConstraint(
                fields=["organization", "phone_number_id"],
                condition=Q(deleted_at__isnull=True) & ~Q(phone_number_id=""),
                name="messaging_number_org_phone_number_id_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "waha_session"],
                condition=Q(deleted_at__isnull=True) & ~Q(waha_session=""),
                name="messaging_number_waha_session_unique",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(deleted_at__isnull=True, is_primary=True),
                name="messaging_number_one_primary",
            ),
        ]
        ordering = ["-is_primary", "display_name", "id"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.phone_number or self.provider})"


class Tag(TenantModel):
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="messaging_tag_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel):
    """A customer. Identified by wa_id (phone digits) and/or Meta's business-scoped user_id."""

    # NULL, not "", when unknown: plain unique constraints (NULLs distinct) serve bulk upserts'
    # ON CONFLICT, which partial indexes cannot.
    wa_id = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    user_id = models.CharField(max_length=128, null=True, blank=True, help_text="Meta business-scoped user id")  # noqa: DJ001
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    name = models.CharField(max_length=200, blank=True)
    profile_name = models.CharField(max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True, help_text="The team's notes on this contact (length capped by the service)")
    opted_out = models.BooleanField(default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "wa_id"], name="messaging_contact_wa_id_unique"),
            models.UniqueConstraint(fields=["organization", "user_id"], name="messaging_contact_user_id_unique"),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="messaging_contact_org_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.profile_name or self.phone or self.wa_id or f"contact {self.pk}"

    @property
    def display_name(self) -> str:
        return self.name or self.profile_name or self.phone or (self.wa_id or "")


class ContactTag(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="messaging_contacttag_unique")]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.tag_id}"


class Conversation(TenantModel):
    """One thread per number x contact; reopened by the customer's next message when closed."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        CLOSED = "closed", "Closed"

    number = models.ForeignKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Denormalised for the inbox list, updated in the transaction that adds the message.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_preview = models.CharField(max_length=200, blank=True)
    last_message_direction = models.CharField(max_length=8, blank=True)
    last_message_type = models.CharField(max_length=16, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number", "contact"], name="messaging_conversation_unique")
        ]
        indexes = [
            # Keyset pagination of the inbox: newest activity first, optionally by status.
            models.Index(fields=["organization", "-last_message_at", "-id"], name="messaging_conv_org_activity"),
            models.Index(
                fields=["organization", "status", "-last_message_at", "-id"], name="messaging_conv_org_status_act"
            ),
            models.Index(fields=["organization", "assigned_to", "-last_message_at"], name="messaging_conv_assignee"),
        ]
        ordering = ["-last_message_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact} via {self.number}"

    @property
    def window_open(self) -> bool:
        """Inside the 24-hour customer-service window (free-form messages allowed)."""
        return self.last_inbound_at is not None and timezone.now() - self.last_inbound_at < CUSTOMER_SERVICE_WINDOW


class ConversationResolution(TenantModel):
    """A conversation closed: one row each time (a closed conversation reopens on the customer's next message, and
    may be closed again). Who held it and in which team when it was closed, and when its cycle began: the first
    message after the previous close (the conversation's first message, or its creation, for the first cycle).
    Written by messaging.services.conversations.conversation_update; the reports' resolution times read it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="resolutions")
    number = models.ForeignKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The reports: resolutions closed in a date range; the cycle start of a conversation's next close.
            models.Index(fields=["organization", "closed_at"], name="messaging_resolution_closed"),
            models.Index(fields=["conversation", "closed_at"], name="messaging_resolution_conv"),
        ]
        ordering = ["-closed_at", "-id"]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} closed at {self.closed_at:%Y-%m-%d %H:%M}"


class Message(TenantModel):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document"
        STICKER = "sticker", "Sticker"
        LOCATION = "location", "Location"
        CONTACTS = "contacts", "Contacts"
        INTERACTIVE = "interactive", "Interactive"
        BUTTON = "button", "Button"
        REACTION = "reaction", "Reaction"
        TEMPLATE = "template", "Template"
        UNSUPPORTED = "unsupported", "Unsupported"

    MEDIA_TYPES = frozenset({Type.IMAGE, Type.AUDIO, Type.VIDEO, Type.DOCUMENT, Type.STICKER})

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    # A status only moves forward along this order; failed is final.
    STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "received": 0}

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.TEXT)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The provider's message object, as received/sent")
    # NULL until the provider accepts an outbound message; unique per organization (NULLs distinct).
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    reply_to_provider_id = models.CharField(max_length=255, blank=True)
    referral = models.JSONField(null=True, blank=True, help_text="Click-to-WhatsApp ad referral")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=500, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who sent an outbound message that no person sent (sent_by is null), as the inbox names it: e.g. a bot's name.
    # Set by the app that sends (messaging.services.conversations.message_send's `sender_label`); blank for people.
    sender_label = models.CharField(max_length=120, blank=True)
    provider_timestamp = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Outbound: when the latest delivery attempt was claimed by the task, or queued again by the sweeper.
    attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_message_id"], name="messaging_message_provider_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "-id"], name="messaging_msg_conv_id"),
            models.Index(fields=["organization", "-created_at"], name="messaging_msg_org_created"),
            # The delivery sweeper's scan: only the few outbound messages still waiting to be sent.
            models.Index(
                fields=["id"], condition=Q(direction="outbound", status="queued"), name="messaging_msg_undelivered"
            ),
            # The reports: replies by people (not bots nor broadcasts) in a date range, a small part of all messages.
            models.Index(
                fields=["organization", "created_at"],
                condition=Q(direction="outbound", sent_by__isnull=False),
                name="messaging_msg_human_replies",
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.provider_message_id or self.pk}"


class Media(TenantModel):
    """A media file of a message: fetched from the provider (inbound) or uploaded by us (outbound)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="media")
    provider_media_id = models.CharField(max_length=128, blank=True)
    mime_type = models.CharField(max_length=128, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=128, blank=True)
    file = models.FileField(upload_to="media/%Y/%m/", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=500, blank=True)
    # Inbound: the latest download attempt (1-based), and when it was claimed by the task or queued again by the
    # sweeper.
    attempts = models.PositiveSmallIntegerField(default=0)
    attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "provider_media_id"], name="messaging_media_provider_id"),
            # The media sweeper's scan: only the few files still waiting to be downloaded.
            models.Index(fields=["id"], condition=Q(status="pending"), name="messaging_media_pending"),
            # The media library: newest first.
            models.Index(fields=["organization", "-created_at", "-id"], name="messaging_media_library"),
        ]

    def __str__(self) -> str:
        return f"{self.mime_type} {self.provider_media_id or self.pk}"


class WebhookEvent(TenantModel):
    """The inbox of raw provider events: stored before the 200, processed after commit.

    An event is claimed by a processor (pending -> processing), and ends processed or, after
    MAX_ATTEMPTS failures, dead (visible in the admin, with a replay action).
    """

    MAX_ATTEMPTS = 5

    class Source(models.TextChoices):
        META = "meta", "Meta Cloud API"
        WAHA = "waha", "WAHA"
        SANDBOX = "sandbox", "Sandbox"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead letter"

    source = models.CharField(max_length=16, choices=Source.choices)
    number = models.ForeignKey(WhatsAppNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.JSONField()
    dedupe_key = models.CharField(max_length=128, help_text="sha256 of the raw body, or WAHA's request id")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The id of the request that stored it (X-Request-ID): the drain's log lines and pushes name it. A default in the
    # database too: processes of the previous release, which insert without it, keep working during an upgrade.
    request_id = models.CharField(max_length=128, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "dedupe_key"], name="messaging_webhookevent_dedupe"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="messaging_webhookevent_queue")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} event {self.pk} ({self.status})"


class CannedResponse(TenantModel):
    """A snippet agents insert by typing `/shortcut` in the composer; its text may hold placeholders such as
    `{{contact.name}}` and `{{agent.name}}`, filled in when it is inserted."""

    shortcut = models.CharField(max_length=32, help_text="Typed after '/', e.g. price")
    title = models.CharField(max_length=120, blank=True)
    text = models.TextField(blank=True)
    attachment = models.ForeignKey(Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "shortcut"], name="messaging_canned_shortcut_unique")
        ]
        ordering = ["shortcut", "id"]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class Call(TenantModel):
    """A WhatsApp call of a number with a contact, from the provider's call webhooks (Meta's `calls` field: connect,
    terminate; WAHA's call.received, call.accepted, call.rejected). One row per call (unique provider call id per
    organization): each later event of the call moves the same row forward along STATUS_RANK, a replayed one
    changes nothing."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        RINGING = "ringing", "Ringing"
        ANSWERED = "answered", "Answered"
        COMPLETED = "completed", "Completed"
        MISSED = "missed", "Missed"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    # A call's status only moves forward: ringing, then answered, then how it ended (the first end reported wins).
    STATUS_RANK = {"ringing": 0, "answered": 1, "completed": 2, "missed": 2, "rejected": 2, "failed": 2}

    number = models.ForeignKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="calls")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="calls")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="calls")
    provider_call_id = models.CharField(max_length=255)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RINGING)
    is_video = models.BooleanField(default=False)
    started_at = models.DateTimeField(help_text="When the call began (rang)")
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds talked, as the provider counts")
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The provider's latest event of the call")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_call_id"], name="messaging_call_provider_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-started_at", "-id"], name="messaging_call_org_started"),
            models.Index(fields=["conversation", "-started_at"], name="messaging_call_conv_started"),
        ]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} call {self.provider_call_id} ({self.status})"


class InboxEmbed(TenantModel):
    """The inbox, limited to some numbers and/or teams, for a page of another site (a CRM, a helpdesk) to show in an
    iframe at /embed/<token>/ (messaging.services.embeds: the token is signed and names this row and its `key`).
    Every request of the embed re-reads the row: revoking it or its expiry ends access at once."""

    class Mode(models.TextChoices):
        READ_ONLY = "read_only", "Read only"
        REPLY = "reply", "Reply"

    name = models.CharField(max_length=80)
    numbers = models.ManyToManyField(WhatsAppNumber, blank=True, related_name="+")
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.READ_ONLY)
    allowed_origins = models.JSONField(default=list, blank=True, help_text="Origins that may frame it")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    key = models.CharField(max_length=32, help_text="Random, in the signed token: a new key voids old tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def is_active(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class WhatsAppFlow(TenantModel):
    """A WhatsApp Flow (Meta's interactive form): created on the WABA of `number` (Flows belong to the WhatsApp
    Business Account; sends go from that account's numbers), mirrored here with Meta's id, status and the Flow JSON
    last uploaded, and the validation errors Meta found in it. Meta's `flows` webhook keeps the status (Meta blocks,
    throttles and deprecates flows on its own) and the latest health alert. Written by messaging.services.flows
    only."""

    class Category(models.TextChoices):
        SIGN_UP = "SIGN_UP", "Sign up"
        SIGN_IN = "SIGN_IN", "Sign in"
        APPOINTMENT_BOOKING = "APPOINTMENT_BOOKING", "Appointment booking"
        LEAD_GENERATION = "LEAD_GENERATION", "Lead generation"
        CONTACT_US = "CONTACT_US", "Contact us"
        CUSTOMER_SUPPORT = "CUSTOMER_SUPPORT", "Customer support"
        SURVEY = "SURVEY", "Survey"
        OTHER = "OTHER", "Other"

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        PUBLISHED = "PUBLISHED", "Published"
        DEPRECATED = "DEPRECATED", "Deprecated"
        BLOCKED = "BLOCKED", "Blocked"
        THROTTLED = "THROTTLED", "Throttled"

    number = models.ForeignKey(WhatsAppNumber, on_delete=models.PROTECT, related_name="+")
    waba_id = models.CharField(max_length=64)
    meta_flow_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    categories = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    flow_json = models.JSONField(null=True, blank=True, help_text="The Flow JSON last uploaded")
    validation_errors = models.JSONField(default=list, blank=True, help_text="What Meta found wrong in flow_json")
    preview_url = models.URLField(max_length=1000, blank=True)
    preview_expires_at = models.DateTimeField(null=True, blank=True)
    last_alert = models.JSONField(
        default=dict,
        blank=True,
        help_text="Meta's latest health alert of the flow (`flows` webhook): its event, alert_state, message and "
        "figures, as Meta sent them",
    )
    last_alert_at = models.DateTimeField(null=True, blank=True, help_text="When the hub received last_alert")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "meta_flow_id"], name="messaging_flow_meta_id_unique"),
            models.UniqueConstraint(fields=["organization", "waba_id", "name"], name="messaging_flow_name_unique"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    def first_screen(self) -> str:
        """The id of the Flow JSON's first screen ('' without one): where a `navigate` action starts."""
        screens = (self.flow_json or {}).get("screens") if isinstance(self.flow_json, dict) else None
        first = screens[0] if isinstance(screens, list) and screens and isinstance(screens[0], dict) else {}
        return str(first.get("id") or "")


class FlowResponse(TenantModel):
    """What a customer submitted in a Flow: the `nfm_reply` of an inbound interactive message, its `response_json`
    parsed. Linked to the flow through the `flow_token` the hub sent (`<flow pk>.<random>`); a reply whose token
    names no flow of the organization is still kept (flow null)."""

    flow = models.ForeignKey(WhatsAppFlow, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="flow_response")
    flow_token = models.CharField(max_length=200, blank=True)
    response_json = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "flow", "-received_at"], name="messaging_flowresp_flow")]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"flow response {self.pk} ({self.flow_token})"


class ConversationNote(TenantModel):
    """An internal note in a conversation's thread: seen by the team only, never sent to the customer. A row of its
    own, not a Message: it never reaches the provider, the 24-hour window, the counters, the hooks (so no outbound
    webhook nor automation sees it) nor the unread count. Written by messaging.services.notes.note_create."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    # The ids of the members the note mentions (validated by the service: active members who see the number).
    mentions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "-id"], name="messaging_note_conv_id")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"note {self.pk} on conversation {self.conversation_id}"


class NotificationKind(models.TextChoices):
    """What a person is told about (messaging.services.notifications). Labels are the preferences page's."""

    ASSIGNED = "assigned", gettext_noop("A conversation is assigned to me")
    MESSAGE = "message", gettext_noop("New message in a conversation assigned to me")
    MENTION = "mention", gettext_noop("I am mentioned in a note")
    CAMPAIGN_FINISHED = "campaign_finished", gettext_noop("A campaign I created finished")
    INTEGRATION_FAILING = "integration_failing", gettext_noop("An integration is failing")
    FLOW_BLOCKED = "flow_blocked", gettext_noop("Meta blocks or throttles a WhatsApp Flow")


class Notification(TenantModel):
    """One thing one person is told in one organization: the bell's list (in_app), a browser pop-up, an e-mail.

    `in_app` false: recorded only for its e-mail (the person turned the bell off for this kind). `email_due_at`: when
    the e-mail goes if the notification is still unread then (messaging.services.notifications); `emailed_at`: when
    it went (or was dropped: quiet hours), claimed once."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="The page of the object, in the web app")
    # The conversation it is about (messages in one conversation merge into one unread notification).
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    in_app = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_due_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "recipient", "-created_at", "-id"], name="messaging_notif_recipient"),
            models.Index(
                fields=["organization", "recipient"],
                condition=Q(read_at__isnull=True, in_app=True),
                name="messaging_notif_unread",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class NotificationPreference(TenantModel):
    """One person's notification settings in one organization: each kind x channel on or off (`channels`, missing
    entries take messaging.services.notifications.DEFAULT_CHANNELS) and quiet hours (no browser pop-up and no e-mail
    from `quiet_start` to `quiet_end`, in `time_zone`, blank: the organization's)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channels = models.JSONField(default=dict, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="messaging_notifpref_unique")]

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"
