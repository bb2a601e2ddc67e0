"""Progress on the live socket: campaign.updated pushes, coalesced, the last one showing the finished counters."""

from campaigns import services
from tests.campaigns.support import MAPPING
from tests.messaging.factories import ContactFactory
from tests.messaging.inbox_support import committed, listen_to_inbox


def test_progress_is_pushed_as_campaign_updated_until_the_campaign_completes(org, number, fake_meta, template):
    contacts = [ContactFactory(organization=org) for _ in range(3)]
    campaign = services.campaign_create(
        organization=org,
        actor=None,
        name="Live",
        template_name="promo",
        language="en_US",
        variable_mapping=MAPPING,
        contact_ids=[contact.pk for contact in contacts],
    )
    receive = listen_to_inbox(org.pk)

    committed(services.campaign_start, campaign=campaign, actor=None)

    seen = []
    while not seen or seen[-1]["status"] != "completed":
        [event] = receive(1)
        assert event["event"] == "campaign.updated"
        assert event["number_ids"] == [number.pk]
        [shown] = event["data"]["campaigns"]
        seen.append(shown)
        assert len(seen) <= 5, "at most a few pushes for one small campaign"
    assert seen[0]["status"] == "running"
    assert {key: seen[-1][key] for key in ("id", "total", "sent", "failed", "skipped")} == {
        "id": campaign.pk,
        "total": 3,
        "sent": 3,
        "failed": 0,
        "skipped": 0,
    }
