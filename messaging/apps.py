from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # Subscriptions to accounts' announcements (accounts never imports messaging).
        from accounts import hooks as account_hooks
        from messaging.services import erasure, events

        account_hooks.organization_deleting.connect(erasure.organization_media_files_delete_on_commit)
        # The live inbox: sockets of whoever may no longer act close; the others work out again what they see.
        account_hooks.organization_suspended.connect(events.sockets_close_on_commit)
        account_hooks.member_deactivated.connect(events.sockets_close_on_commit)
        account_hooks.member_signed_out.connect(events.sockets_close_on_commit)
        account_hooks.api_key_revoked.connect(events.sockets_close_on_commit)
        account_hooks.sessions_ended.connect(events.session_sockets_close_on_commit)
        account_hooks.access_changed.connect(events.access_changed_on_commit)
        # The system log: new entries pushed to the admins' sockets (the logs page).
        from accounts.permissions import IsAdmin
        from messaging import realtime

        account_hooks.system_logs_written.connect(events.system_logs_publish)
        realtime.event_roles_declare(events.SYSTEM_LOG_EVENT, IsAdmin.roles)
        # A WhatsApp Flow's status or health alert from Meta: every member reads the flows pages.
        from accounts.models import Role
        from messaging.services.flows import FLOW_UPDATED_EVENT

        realtime.event_roles_declare(FLOW_UPDATED_EVENT, frozenset(Role.values))
        # Notifications of messaging's own events: assignments and new messages in assigned conversations.
        from messaging import hooks
        from messaging.services import notifications

        hooks.conversation_assigned.connect(notifications.on_conversation_assigned)
        hooks.message_received.connect(notifications.on_message_received)
        # The super admin's usage figures: each organization's live numbers, counted in the database.
        from accounts import platform
        from messaging.selectors.numbers import numbers_per_organization

        platform.usage_count_register("numbers", numbers_per_organization)
