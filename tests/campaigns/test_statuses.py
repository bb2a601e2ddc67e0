"""Recipients and counters follow Meta's status webhooks (signed, through the real endpoint) and the replies."""

from campaigns.models import Campaign, CampaignRecipient
from tests.campaigns.support import MAPPING, counters, deliver, statuses, webhooks_through_the_endpoint
from tests.messaging.factories import ContactFactory
from tests.messaging.inbox_support import committed


def test_delivered_read_failed_and_replied_webhooks_move_recipients_and_counters(
    org, marketing_client, client, fake_meta, template
):
    webhooks_through_the_endpoint(fake_meta, client, org)
    readers = [ContactFactory(organization=org) for _ in range(2)]
    delivered_only, undeliverable, replier = (ContactFactory(organization=org) for _ in range(3))
    fake_meta.auto_statuses = ()  # the test queues each status itself
    fake_meta.fail_next_async(131026, to=undeliverable.phone)
    everyone = [*readers, delivered_only, undeliverable, replier]
    body = {
        "name": "Statuses",
        "template_name": "promo",
        "language": "en_US",
        "contact_ids": [contact.pk for contact in everyone],
        "variable_mapping": MAPPING,
    }
    campaign_id = committed(marketing_client.post, "/api/v1/campaigns/send", body, format="json").json()["campaign_id"]
    campaign = Campaign.objects.get(pk=campaign_id)
    assert counters(campaign) == {
        "total": 5,
        "sent": 5,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "failed": 0,
        "skipped": 0,
    }
    wamid = {sent.wa_id: sent.wamid for sent in fake_meta.sent.values()}
    for contact in [*readers, delivered_only, replier]:
        fake_meta.queue_status(wamid[contact.wa_id], "delivered")
    for contact in readers:
        fake_meta.queue_status(wamid[contact.wa_id], "read")
        fake_meta.queue_status(wamid[contact.wa_id], "delivered")  # late and out of order: changes nothing
    fake_meta.send_inbound(replier.wa_id, text="Interested!", phone_number_id=campaign.number.phone_number_id)

    assert {response.status_code for response in deliver(fake_meta)} == {200}
    deliver(fake_meta)  # Meta's redelivery of nothing new

    assert statuses(campaign) == {
        readers[0].phone: "read",
        readers[1].phone: "read",
        delivered_only.phone: "delivered",
        undeliverable.phone: "failed",
        replier.phone: "delivered",
    }
    assert counters(campaign) == {
        "total": 5,
        "sent": 4,
        "delivered": 4,
        "read": 2,
        "replied": 1,
        "failed": 1,
        "skipped": 0,
    }
    failed = CampaignRecipient.objects.get(campaign=campaign, contact=undeliverable)
    assert (failed.error_code, failed.error_title) == (131026, "Message Undeliverable")
    assert CampaignRecipient.objects.get(campaign=campaign, contact=replier).replied_at is not None
    assert campaign.status == "completed"

    fake_meta.send_inbound(replier.wa_id, text="Me again", phone_number_id=campaign.number.phone_number_id)
    deliver(fake_meta)
    assert counters(campaign)["replied"] == 1  # once per recipient
