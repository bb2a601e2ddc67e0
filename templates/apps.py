from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "templates"
    verbose_name = "Message templates"

    def ready(self):
        from accounts.models import Role
        from messaging import hooks, realtime
        from templates import services

        # Meta's template webhooks (status, quality, category, components), after the ingest's commit.
        hooks.template_status_changed.connect(services.template_event_apply)
        # Every member reads templates (agents pick them in the inbox, marketing sends campaigns with them).
        realtime.event_roles_declare("template.updated", frozenset(Role.values))
