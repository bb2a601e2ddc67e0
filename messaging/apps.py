from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # Subscriptions to accounts' announcements (accounts never imports messaging).
        from accounts import hooks as account_hooks
        from messaging.services import erasure

        account_hooks.organization_deleting.connect(erasure.organization_media_files_delete_on_commit)
