import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"
    MARKETING = "marketing", "Marketing"


class Organization(models.Model):
    """The tenant. Every tenant-owned row points here."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    class Plan(models.TextChoices):
        """The codes of the plans every installation starts with (accounts.plans.DEFAULT_PLANS); staff may add
        others (accounts.Plan rows), so the field takes any plan's code."""

        STARTER = "starter", "Starter"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # The code of an accounts.Plan row (kept a code, not a foreign key, so the API and every caller keep their shape).
    plan = models.CharField(max_length=16, default=Plan.STARTER, db_index=True)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def plan_record(self):
        """The organization's accounts.Plan (accounts.plans.plan_for), read once per instance."""
        if "_plan_record" not in self.__dict__ or self.__dict__["_plan_record"].code != self.plan:
            from accounts.plans import plan_for

            self.__dict__["_plan_record"] = plan_for(self.plan)
        return self.__dict__["_plan_record"]

    @property
    def user_limit(self) -> int | None:
        """Members allowed by the plan (None: unlimited)."""
        return self.plan_record.max_users

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TenantQuerySet(models.QuerySet):
    def for_org(self, org: Organization) -> "TenantQuerySet":
        return self.filter(organization=org)


class TenantModel(models.Model):
    """Base of every tenant-owned model: an indexed organization and the scoped manager."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=normalize_email(email))


def normalize_email(email: str) -> str:
    """E-mail is the login: compared and stored case-insensitively."""
    return (email or "").strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Platform staff (is_staff) are the super admins; everyone else acts through memberships."""

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped on password change/reset and deactivation: every token carrying an older value fails.
    token_version = models.PositiveIntegerField(default=0)
    # The web app's language; blank follows the browser's.
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Membership(TenantModel):
    """User x organization x role. Deactivating a member kills their tokens for this organization."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    # Set by the member (away / available): lead routing gives them no new conversation while away.
    is_away = models.BooleanField(default=False)
    away_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="accounts_membership_unique")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


def hash_secret(secret: str) -> str:
    """Digest for high-entropy secrets (invitation tokens, API keys): stored instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Invitation(TenantModel):
    """An entry of the access list: a single-use, expiring invitation for one e-mail and role."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(status="pending"),
                name="accounts_invitation_one_pending",
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class Team(TenantModel):
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    members = models.ManyToManyField(User, through="TeamMember", related_name="teams")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="accounts_team_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="accounts_teammember_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"


class ApiKey(TenantModel):
    """An integration credential. The secret is shown once; only its digest is stored."""

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditLog(TenantModel):
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "-at"], name="accounts_audit_org_at")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class SystemLog(TenantModel):
    """What an organization's admins should know happened, written by the services (accounts.services.
    system_log_write): a webhook event dead-lettered, a message that could not be delivered, a flow run that failed,
    an outbound webhook disabled, a number's status or quality changed, a template rejected; and the entries API
    clients add themselves (category `api`). `message` is in the product's words (never an upstream body beyond a
    bounded excerpt); `details` is bounded (SYSTEM_LOG_DETAILS_MAX characters of JSON). Deleted after
    SYSTEM_LOG_RETENTION_DAYS (beat)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    class Category(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        API = "api", "API"
        WORKFLOW = "workflow", "Workflow"
        CAMPAIGN = "campaign", "Campaign"
        DELIVERY = "delivery", "Delivery"
        INTEGRATION = "integration", "Integration"

    MESSAGE_MAX = 500
    DETAILS_MAX = 4000

    level = models.CharField(max_length=8, choices=Level.choices)
    category = models.CharField(max_length=16, choices=Category.choices)
    message = models.CharField(max_length=MESSAGE_MAX)
    # The message's wording before `details` filled it in (a msgid: the pages show it translated); blank for the
    # entries API clients add, whose message is shown as written.
    template = models.CharField(max_length=MESSAGE_MAX, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # What it is about, when it is about one row: e.g. ("message", "42"), ("webhook_endpoint", "7").
    related_type = models.CharField(max_length=64, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="accounts_syslog_org_created"),
            models.Index(fields=["created_at"], name="accounts_syslog_created"),  # retention
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.level} {self.category}: {self.message[:60]}"


class MagicLink(models.Model):
    """A passwordless sign-in link (accounts.magic_links): single use, short-lived, only its digest stored. A person's,
    not a tenant's: it signs them in to their account, in whichever organization a password sign-in would."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="magic_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_magiclink_user")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"magic link of {self.user_id} ({'used' if self.used_at else 'unused'})"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class CustomPage(TenantModel):
    """An entry an admin adds to the app's navigation rail, after the built-in ones: either Markdown shown as a page
    of the hub (rendered safely: accounts.markdown) or an external address shown in a sandboxed frame."""

    class Kind(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        URL = "url", "External URL"

    title = models.CharField(max_length=60)
    icon = models.CharField(max_length=20, default="file", help_text="An icon of static/img/icons.svg")
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower first in the rail")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MARKDOWN)
    content = models.TextField(blank=True, help_text="Markdown (kind markdown)")
    url = models.URLField(max_length=2000, blank=True, help_text="http(s) address (kind url)")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "position", "id"], name="accounts_custompage_rail")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


from accounts.integration_models import IntegrationKind, IntegrationStatus  # noqa: E402, F401
from accounts.mail_models import EmailAttachment, EmailLog  # noqa: E402, F401  (its own module: accounts.mail)
from accounts.platform_models import MessageUsage, Plan, PlatformAuditLog, StorageUsage  # noqa: E402, F401
from accounts.session_models import UserSession  # noqa: E402, F401  (its own module: accounts.sessions)
from accounts.two_factor_models import RecoveryCode, TrustedDevice, TwoFactor  # noqa: E402, F401  (accounts.two_factor)
