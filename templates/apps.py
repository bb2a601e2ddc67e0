from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "templates"
    verbose_name = "Message templates"

    def ready(self):
        from messaging import hooks
        from templates import services

        # Meta's template webhooks (status, quality, category, components), after the ingest's commit.
        hooks.template_status_changed.connect(services.template_event_apply)
