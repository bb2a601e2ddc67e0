"""Flows: node/edge graphs run on inbound messages (the JSON shape is documented in automation/flows/__init__.py),
their saved versions, their runs (one per contact and number at a time) with the steps each run executed, and the
organization's custom functions (named HTTP calls flow steps make)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import TenantModel
from whatsapp_hub.encryption import EncryptedTextField


class Flow(TenantModel):
    class Kind(models.TextChoices):
        FLOW = "flow", "Flow"
        # Made through workflows/ (a trigger and a list of steps): a linear flow, shown as steps there.
        WORKFLOW = "workflow", "Workflow"

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    nodes = models.JSONField(default=list, blank=True)
    edges = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=False)
    # Bumped by every save of the graph; the graph of each version is kept in FlowVersion (a run keeps its own).
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FLOW)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="automation_flow_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class FlowVersion(TenantModel):
    """The graph of one saved version of a flow: what its runs execute (a run started on version 3 finishes on
    version 3, whatever is saved meanwhile)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    nodes = models.JSONField(default=list)
    edges = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "version"], name="automation_flowversion_unique"),
        ]
        ordering = ["flow", "-version"]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.version}"


class FlowRun(TenantModel):
    """One contact going through a flow on one number. Its whole state is here (current node, variables, what it
    waits for and until when), so a run survives restarts and deploys; each executed step is a FlowRunStep row."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class Wait(models.TextChoices):
        NONE = "", "Not waiting"
        REPLY = "reply", "A reply (ask)"
        DELAY = "delay", "A delay"
        START = "start", "The first message (a test run)"

    ACTIVE = (Status.RUNNING, Status.WAITING)

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    # RESTRICT: a version cannot go while runs use it, but deleting the flow (or the organization) takes both.
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.RESTRICT, related_name="runs")
    number = models.ForeignKey("messaging.WhatsAppNumber", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("messaging.Contact", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "messaging.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    current_node = models.CharField(max_length=64, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    waiting_for = models.CharField(max_length=8, choices=Wait.choices, blank=True, default=Wait.NONE)
    waiting_since = models.DateTimeField(null=True, blank=True)
    # When a delay ends or an ask times out (beat continues the run then); None: no timeout.
    wake_at = models.DateTimeField(null=True, blank=True)
    # A run waiting longer than this ends `expired` (beat).
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Invalid answers to the current question")
    # The text of the latest message the customer sent (conditions on the reply, {{message.text}}).
    last_reply = models.TextField(blank=True)
    step_count = models.PositiveIntegerField(default=0)
    # The inbound message that started the run (unique: a message starts at most one run), and the latest one that
    # advanced it: a message at or below it was handled already (a task run twice).
    trigger_message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message_id = models.BigIntegerField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    last_error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number", "contact"],
                condition=Q(status__in=["running", "waiting"]),
                name="automation_flowrun_one_active",
            ),
            models.UniqueConstraint(
                fields=["organization", "trigger_message"],
                condition=Q(trigger_message__isnull=False),
                name="automation_flowrun_trigger_message_unique",
            ),
        ]
        indexes = [
            # Beat's scan: only the waiting runs with a time to act on.
            models.Index(fields=["wake_at"], condition=Q(status="waiting"), name="automation_flowrun_due"),
            models.Index(fields=["expires_at"], condition=Q(status="waiting"), name="automation_flowrun_expiry"),
            models.Index(fields=["organization", "flow", "-started_at"], name="automation_flowrun_flow"),
        ]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} of flow {self.flow_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class FlowRunStep(TenantModel):
    """One step a run executed: unique per (run, step_no), written in the transaction of the step's effects (a
    message stored, a tag set), so a step is never executed twice."""

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="steps")
    step_no = models.PositiveIntegerField()
    node_id = models.CharField(max_length=64)
    node_type = models.CharField(max_length=32)
    # What it did: the handle it left by, the message it sent, an error.
    outcome = models.JSONField(default=dict, blank=True)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step_no"], name="automation_flowrunstep_unique")]
        ordering = ["run", "step_no"]

    def __str__(self) -> str:
        return f"run {self.run_id} step {self.step_no}: {self.node_type} {self.node_id}"


class CustomFunction(TenantModel):
    """A named HTTP call of the organization that flow steps make (`function` nodes): method, URL, headers (stored
    encrypted: they often hold a token), a JSON body template with `{{contact.*}}` and `{{vars.*}}` placeholders,
    and which parts of the JSON answer become run variables. Always through the egress policy."""

    class Method(models.TextChoices):
        GET = "GET", "GET"
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"
        DELETE = "DELETE", "DELETE"

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.POST)
    url = models.CharField(max_length=2000, help_text="http(s); checked by the egress policy when saved and called")
    # JSON of {name: value}, encrypted at rest; the API shows each value masked.
    headers_encrypted = EncryptedTextField(blank=True)
    body_template = models.JSONField(null=True, blank=True)
    # {variable name: JSON path in the answer}, e.g. {"order_status": "data.status"}.
    response_map = models.JSONField(default=dict, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="automation_function_name_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
