"""Record in the ad registry the Click-to-WhatsApp referrals stored before it existed (run once after the migration
that adds it; safe to run again: what is recorded already is skipped)."""

from django.core.management.base import BaseCommand

from crm.ads.services import ad_referrals_backfill


class Command(BaseCommand):
    help = "Record the ad referrals of stored inbound messages in the ad registry (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", type=int, help="Only this organization's messages (its id)")

    def handle(self, *args, organization=None, **options):
        recorded = ad_referrals_backfill(organization_id=organization)
        if options["verbosity"]:
            self.stdout.write(f"{recorded} referral(s) recorded.")
