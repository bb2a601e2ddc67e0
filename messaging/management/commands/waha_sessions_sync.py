from django.core.management.base import BaseCommand

from messaging.models import Provider, WhatsAppNumber
from messaging.tasks import numbers as number_tasks
from whatsapp_hub.aftercommit import enqueue_after_commit


class Command(BaseCommand):
    help = (
        "Queue a sync of every live WAHA number's session on WAHA: the hub's webhook URL and the number's HMAC key "
        "(run once after the migration that gave WAHA numbers their keys, or after PUBLIC_BASE_URL changes)."
    )

    def handle(self, *args, **options):
        # Platform maintenance across all tenants; each task re-reads its number inside its organization.
        numbers = WhatsAppNumber.objects.filter(provider=Provider.WAHA).live().values_list("organization_id", "pk")
        total = 0
        for organization_id, number_id in numbers.iterator():
            enqueue_after_commit(number_tasks.waha_session_sync, organization_id=organization_id, number_id=number_id)
            total += 1
        self.stdout.write(f"Queued the sync of {total} WAHA session(s).")
