"""The flows pages (web app, admins): the list of flows and the flow builder. The builder draws a flow's own JSON
(nodes and edges, automation/flows/__init__.py) with Drawflow (static/js/flow-graph.js converts both ways) and saves,
activates and tries it through the API (flows/, flows/{id}/activate, flows/{id}/test, sandbox/inbound), so it has
no logic of its own: the graph checks' 400 is drawn on the nodes it names."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_safe

from accounts.models import Membership, Role, Team
from accounts.web import member_required
from automation.api.flows import FlowSerializer
from automation.flows import schema
from automation.models import Bot, Flow, NumberAutomation
from automation.selectors import flows as selectors
from messaging.selectors import flows as flow_selectors
from templates.models import MessageTemplate

admin_required = member_required(
    roles=frozenset({Role.ADMIN}),
    reason=gettext_lazy("Flows are for admins of %(org)s. Ask an admin for access."),
)

NODE_LABELS = {
    "trigger": (pgettext_lazy("flow node", "Trigger"), gettext_lazy("What starts the flow")),
    "send_message": (
        pgettext_lazy("flow node", "Send message"),
        gettext_lazy("Text, buttons, a list, media or a template"),
    ),
    "send_flow": (
        pgettext_lazy("flow node", "Send WhatsApp Flow"),
        gettext_lazy("A published form the customer fills in inside WhatsApp"),
    ),
    "ask": (pgettext_lazy("flow node", "Ask"), gettext_lazy("Wait for the answer to a question")),
    "condition": (
        pgettext_lazy("flow node", "Condition"),
        gettext_lazy("Branch on the reply, an attribute, a tag or the time"),
    ),
    "set_tag": (pgettext_lazy("flow node", "Tag"), gettext_lazy("Add or remove the contact's tags")),
    "set_attribute": (pgettext_lazy("flow node", "Set value"), gettext_lazy("Set a contact attribute or a variable")),
    "assign": (pgettext_lazy("flow node", "Assign"), gettext_lazy("Hand the conversation to a person or a team")),
    "bot": (pgettext_lazy("flow node", "Bot"), gettext_lazy("Hand the conversation to a bot")),
    "http_request": (pgettext_lazy("flow node", "HTTP request"), gettext_lazy("Call a URL, keep parts of the answer")),
    "function": (pgettext_lazy("flow node", "Function"), gettext_lazy("Call one of your custom functions")),
    "delay": (pgettext_lazy("flow node", "Delay"), gettext_lazy("Wait before going on")),
    "end": (pgettext_lazy("flow node", "End"), gettext_lazy("End the flow")),
}
# The order of a node's outputs on the canvas: its one way on first, then its branches.
HANDLE_ORDER = [None, "yes", "no", "timeout", "invalid", "error"]
HANDLE_LABELS = {
    "": pgettext_lazy("flow branch", "next"),
    "yes": pgettext_lazy("flow branch", "yes"),
    "no": pgettext_lazy("flow branch", "no"),
    "timeout": pgettext_lazy("flow branch", "no answer"),
    "invalid": pgettext_lazy("flow branch", "invalid"),
    "error": pgettext_lazy("flow branch", "error"),
}
# The words static/js/flow-builder.js shows (fields, choices, states), translated here: one catalog for the app.
STRINGS = {
    "untitled": gettext_lazy("Untitled flow"),
    "saved": gettext_lazy("Saved: version %(version)s."),
    "save_failed": gettext_lazy("Not saved: fix the nodes marked in red."),
    "active": gettext_lazy("Active"),
    "inactive": gettext_lazy("Inactive"),
    "activate": gettext_lazy("Activate"),
    "deactivate": gettext_lazy("Deactivate"),
    "activated": gettext_lazy("The flow is active: it answers on the numbers it is set on."),
    "deactivated": gettext_lazy("The flow is inactive: it starts no new runs."),
    "unsaved": gettext_lazy("Unsaved changes"),
    "leave": gettext_lazy("Leave without saving your changes?"),
    "delete_confirm": gettext_lazy("Delete this flow? Its runs stop, and numbers using it will have no flow."),
    "select_node": gettext_lazy("Select a node to change its settings, or add one from the palette."),
    "no_settings": gettext_lazy("This node has no settings."),
    "remove_node": gettext_lazy("Remove this node"),
    "advanced": gettext_lazy("Settings as JSON"),
    "invalid_json": gettext_lazy("Not valid JSON."),
    "edge": gettext_lazy("Edge %(id)s"),
    "error": gettext_lazy("Something went wrong. Try again."),
    "test_started": gettext_lazy("The customer wrote; the flow answers below."),
    "test_needs_save": gettext_lazy("Save the flow first: a test runs the saved flow."),
    "you": gettext_lazy("Customer"),
    "flow": gettext_lazy("Flow"),
    "run_status": gettext_lazy("Run: %(status)s"),
    "waiting": gettext_lazy("Waiting for the customer…"),
    "none": gettext_lazy("(none)"),
    "connect_hint": gettext_lazy("Drag from a node's dot on the right to another node to connect them."),
    # fields
    "on": gettext_lazy("Starts on"),
    "keywords": gettext_lazy("Keywords (one a line)"),
    "button_ids": gettext_lazy("Button or row ids (one a line; none: any)"),
    "match": gettext_lazy("Match"),
    "message_kind": gettext_lazy("Message"),
    "text": gettext_lazy("Text"),
    "body": gettext_lazy("Text above the buttons"),
    "buttons": gettext_lazy("Buttons (one a line, at most 3)"),
    "list_button": gettext_lazy("List button label"),
    "rows": gettext_lazy("List rows (one a line)"),
    "media_id": gettext_lazy("Uploaded file id (POST media/)"),
    "caption": gettext_lazy("Caption"),
    "template": gettext_lazy("Approved template"),
    "whatsapp_flow": gettext_lazy("Published WhatsApp Flow"),
    "cta": gettext_lazy("Button text (at most 20 characters)"),
    "parameters": gettext_lazy("Values (one a line: 1 = {{contact.name}})"),
    "question": gettext_lazy("Question"),
    "validate": gettext_lazy("Expect"),
    "choices": gettext_lazy("Choices (one a line)"),
    "store_in": gettext_lazy("Keep the answer in"),
    "name": gettext_lazy("Name"),
    "timeout_minutes": gettext_lazy("Wait at most (minutes; empty: 24 hours)"),
    "invalid_message": gettext_lazy("When the answer is not valid, say"),
    "max_attempts": gettext_lazy("Attempts"),
    "check": gettext_lazy("Check"),
    "operator": gettext_lazy("Operator"),
    "value": gettext_lazy("Value"),
    "attribute": gettext_lazy("Contact attribute"),
    "variable": gettext_lazy("Variable"),
    "tag": gettext_lazy("Tag"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "days": gettext_lazy("Days"),
    "tags": gettext_lazy("Tags (comma-separated)"),
    "action": gettext_lazy("Action"),
    "user": gettext_lazy("Person"),
    "team": gettext_lazy("Team"),
    "bot": gettext_lazy("Bot"),
    "method": gettext_lazy("Method"),
    "url": gettext_lazy("URL"),
    "headers": gettext_lazy("Headers (one a line: Name: value)"),
    "request_body": gettext_lazy("JSON body"),
    "response_map": gettext_lazy("Keep from the answer (one a line: variable = data.path)"),
    "save_to": gettext_lazy("Keep the whole answer in variable"),
    "timeout_seconds": gettext_lazy("Timeout (seconds)"),
    "function": gettext_lazy("Function"),
    "amount": gettext_lazy("Wait"),
    "unit": gettext_lazy("Unit"),
}
CHOICES = {
    "on": {
        "keyword": gettext_lazy("A keyword"),
        "first_message": gettext_lazy("A new contact's first message"),
        "button_reply": gettext_lazy("A button or list reply"),
        "opt_in": gettext_lazy("An opt-in (START)"),
        "any": gettext_lazy("Any message"),
    },
    "match": {"exact": gettext_lazy("The whole message"), "contains": gettext_lazy("Anywhere in the message")},
    "message_kind": {
        "text": gettext_lazy("Text"),
        "buttons": gettext_lazy("Text with buttons"),
        "list": gettext_lazy("List"),
        "image": gettext_lazy("Image"),
        "document": gettext_lazy("Document"),
        "video": gettext_lazy("Video"),
        "template": gettext_lazy("Template"),
    },
    "validate": {
        "text": gettext_lazy("Any text"),
        "number": gettext_lazy("A number"),
        "email": gettext_lazy("An e-mail address"),
        "choice": gettext_lazy("One of the choices"),
    },
    "store_in": {
        "": gettext_lazy("Nowhere"),
        "variable": gettext_lazy("A variable"),
        "attribute": gettext_lazy("A contact attribute"),
    },
    "check": {
        "reply": gettext_lazy("The reply"),
        "attribute": gettext_lazy("A contact attribute"),
        "variable": gettext_lazy("A variable"),
        "tag": gettext_lazy("A tag of the contact"),
        "time_of_day": gettext_lazy("The time of day"),
        "business_hours": gettext_lazy("Business hours"),
    },
    "operator": {
        "equals": gettext_lazy("is"),
        "not_equals": gettext_lazy("is not"),
        "contains": gettext_lazy("contains"),
        "starts_with": gettext_lazy("starts with"),
        "exists": gettext_lazy("is set"),
        "not_exists": gettext_lazy("is not set"),
        "gt": gettext_lazy("is more than"),
        "gte": gettext_lazy("is at least"),
        "lt": gettext_lazy("is less than"),
        "lte": gettext_lazy("is at most"),
    },
    "days": {
        "mon": gettext_lazy("Mon"),
        "tue": gettext_lazy("Tue"),
        "wed": gettext_lazy("Wed"),
        "thu": gettext_lazy("Thu"),
        "fri": gettext_lazy("Fri"),
        "sat": gettext_lazy("Sat"),
        "sun": gettext_lazy("Sun"),
    },
    "action": {"add": gettext_lazy("Add"), "remove": gettext_lazy("Remove")},
    "target": {"attribute": gettext_lazy("A contact attribute"), "variable": gettext_lazy("A variable")},
    "unit": {
        "seconds": gettext_lazy("seconds"),
        "minutes": gettext_lazy("minutes"),
        "hours": gettext_lazy("hours"),
        "days": gettext_lazy("days"),
    },
    "method": {method: method for method in schema.HTTP_METHODS},
}
RUN_STATUSES = {
    "running": pgettext_lazy("run status", "running"),
    "waiting": pgettext_lazy("run status", "waiting"),
    "completed": pgettext_lazy("run status", "completed"),
    "failed": pgettext_lazy("run status", "failed"),
    "cancelled": pgettext_lazy("run status", "cancelled"),
    "expired": pgettext_lazy("run status", "expired"),
}


def _strings(mapping: dict) -> dict:
    return {key: str(value) for key, value in mapping.items()}


def _options(request) -> dict:
    """The organization's rows a node may name, for the settings panel's choices."""
    org = request.org
    members = (
        Membership.objects.for_org(org)
        .filter(is_active=True, role__in=(Role.ADMIN, Role.AGENT), user__is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    templates = MessageTemplate.objects.for_org(org).sendable().order_by("name", "language")
    return {
        "templates": [{"id": t.pk, "label": f"{t.name} ({t.language})"} for t in templates],
        "whatsapp_flows": [{"id": f.pk, "label": f.name} for f in flow_selectors.flow_sendable(org=org)],
        "bots": [{"id": bot.pk, "label": bot.name} for bot in Bot.objects.for_org(org).order_by("name")],
        "functions": [{"id": f.pk, "label": f.name} for f in selectors.function_list(org=org)],
        "users": [{"id": m.user_id, "label": m.user.name or m.user.email} for m in members],
        "teams": [{"id": team.pk, "label": team.name} for team in Team.objects.for_org(org).order_by("name")],
        "sandbox_numbers": [
            {"id": number.pk, "label": f"{number.display_name} {number.phone_number}".strip()}
            for number in selectors.sandbox_numbers(org=org)
        ],
    }


def _builder(request, flow: Flow | None):
    types = {
        name: {
            "label": str(label),
            "help": str(help_text),
            "handles": [handle or "" for handle in sorted(node_type.handles, key=HANDLE_ORDER.index)],
        }
        for name, node_type in schema.NODE_TYPES.items()
        for label, help_text in [NODE_LABELS[name]]
    }
    data = {
        "flow": FlowSerializer(flow).data if flow is not None else None,
        "types": types,
        "handles": _strings(HANDLE_LABELS),
        "strings": _strings(STRINGS),
        "choices": {key: _strings(values) for key, values in CHOICES.items()},
        "run_statuses": _strings(RUN_STATUSES),
        "options": _options(request),
        "urls": {
            "flows": reverse("flow-list"),
            "runs": reverse("flow-run-list"),
            "sandbox": reverse("sandbox-inbound"),
            "conversations": reverse("conversation-list"),
            "list": reverse("flows"),
            # The builder's address of a flow just created: the id replaces 0.
            "builder": reverse("flows-builder", kwargs={"flow_id": 0}),
        },
    }
    numbers = [] if flow is None else [link.number for link in flow.number_links.select_related("number")]
    context = {"flow": flow, "data": data, "numbers": numbers}
    return render(request, "automation/flows_builder.html", context)


@require_safe
@admin_required
def flow_list(request):
    links = Prefetch(
        "number_links", queryset=NumberAutomation.objects.select_related("number").filter(number__deleted_at=None)
    )
    flows = selectors.flow_list(org=request.org).prefetch_related(links)
    rows = [{"flow": flow, "numbers": [link.number for link in flow.number_links.all()]} for flow in flows]
    return render(request, "automation/flows_list.html", {"rows": rows})


@require_safe
@admin_required
def flow_new(request):
    return _builder(request, None)


@require_safe
@admin_required
def flow_builder(request, flow_id: int):
    flow = get_object_or_404(selectors.flow_list(org=request.org), pk=flow_id)
    return _builder(request, flow)


urlpatterns = [
    path("automation/flows/", flow_list, name="flows"),
    path("automation/flows/new/", flow_new, name="flows-new"),
    path("automation/flows/<id:flow_id>/", flow_builder, name="flows-builder"),
]
