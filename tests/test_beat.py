"""The beat schedule: which job runs how often, and that a run not started before the next one expires (after an
outage the workers run one sweep, not the pile beat queued meanwhile). Each job's behaviour is tested beside it."""

from django.conf import settings as django_settings

from whatsapp_hub.celery import app as celery_app

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def test_beat_runs_each_job_on_its_schedule_and_each_run_expires_before_the_next():
    schedule = django_settings.CELERY_BEAT_SCHEDULE

    assert {name: (entry["task"], entry["schedule"]) for name, entry in schedule.items()} == {
        "messaging-webhook-sweeper": ("messaging.tasks.ingest.sweep_webhook_events", MINUTE),
        "messaging-delivery-sweeper": ("messaging.tasks.delivery.sweep_message_deliveries", MINUTE),
        "messaging-media-sweeper": ("messaging.tasks.media.sweep_inbound_media", MINUTE),
        "messaging-notification-emails": ("messaging.tasks.notifications.send_due_notification_emails", MINUTE),
        "messaging-webhook-event-retention": ("messaging.tasks.retention.prune_webhook_events", HOUR),
        "accounts-system-log-retention": ("accounts.tasks.prune_system_logs", HOUR),
        "templates-sync": ("templates.tasks.schedule_template_syncs", 15 * MINUTE),
        "accounts-token-flush": ("accounts.tasks.flush_expired_tokens", DAY),
        "accounts-email-requeue": ("accounts.tasks.requeue_emails", 5 * MINUTE),
        "accounts-email-log-retention": ("accounts.tasks.prune_email_logs", HOUR),
        "campaigns-start-due": ("campaigns.tasks.start_due_campaigns", MINUTE),
        "campaigns-sweeper": ("campaigns.tasks.sweep_campaigns", MINUTE),
        "automation-webhook-sweeper": ("automation.tasks.sweep_webhook_deliveries", MINUTE),
        "automation-flow-runs": ("automation.flows.tasks.wake_flow_runs", 15.0),
        "automation-knowledge-sweeper": ("automation.knowledge.tasks.sweep_documents", MINUTE),
    }
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks
        assert entry["options"] == {"expires": entry["schedule"] * 0.9}
