"""What messaging announces to the apps above it (templates, campaigns, automation).

Messaging never imports those apps. They subscribe in their AppConfig.ready():

    hooks.message_received.connect(automation.services.on_message_received)

and messaging calls `hooks.<event>.send(...)` after commit. Subscribers get keyword arguments
only and must not raise: a failing subscriber is logged and the others still run.
"""

import logging
from functools import partial

from whatsapp_hub import hooks
from whatsapp_hub.aftercommit import run_after_commit

logger = logging.getLogger(__name__)


class Hook(hooks.Hook):
    """Called after the commit: a subscriber that raises is logged and the others still run."""

    def send(self, **kwargs) -> None:
        for subscriber in list(self.subscribers):
            try:
                subscriber(**kwargs)
            except Exception:
                logger.exception("hook %s: subscriber %s failed", self.name, subscriber)

    def send_on_commit(self, **kwargs) -> None:
        run_after_commit(partial(self.send, **kwargs), what=f"hook {self.name}")


message_received = Hook("message_received", "organization_id, message_ids: inbound messages were stored.")
referral_received = Hook(
    "referral_received",
    "organization_id, message_ids: inbound messages carrying a Click-to-WhatsApp ad referral were stored (some of "
    "message_received's; not sent for a batch without one).",
)
message_status_changed = Hook(
    "message_status_changed", "organization_id, changes: [(message_id, status, error_code)] moved forward."
)
template_status_changed = Hook(
    "template_status_changed", "organization_id, waba_id, event: a message_template_status_update arrived."
)
contact_opted_out = Hook("contact_opted_out", "organization_id, contact_id, opted_out: a contact opted out or back in.")
conversation_created = Hook(
    "conversation_created", "organization_id, conversation_ids: conversations were created (ingest, a first send)."
)
conversation_updated = Hook(
    "conversation_updated",
    "organization_id, conversation_ids, fields: these fields of the conversations changed (status, assigned_to, "
    "team; an inbound message reopening a closed one: status).",
)
outbound_message_created = Hook(
    "outbound_message_created",
    "organization_id, message_id, conversation_id, sent_by_id: message_send stored an outbound message (queued); "
    "sent_by_id is the person who sent it, None for the hub's own senders (bots, flows, the API key of a service).",
)
conversation_assigned = Hook(
    "conversation_assigned",
    "organization_id, conversation_id, assigned_to_id, team_id, actor_id: the assignee or the team changed (either "
    "may be None: unassigned); actor_id is the member who did it (None: the platform, an API key, automation).",
)
contact_created = Hook(
    "contact_created", "organization_id, contact_ids: contacts were created (by hand, an import, ingest, a send)."
)
contact_updated = Hook(
    "contact_updated",
    "organization_id, contact_ids, fields: these fields of the contacts changed (by hand or an import: name, phone, "
    "tags, attributes, notes, is_active).",
)
contact_deleted = Hook(
    "contact_deleted",
    "organization_id, contact_id: a contact was deleted for good (erased): what the apps above keep of them goes too.",
)
