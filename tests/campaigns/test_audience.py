"""The audience frozen at the start: tag filter, opt-outs, impossible and repeated numbers, missing values; a CSV of
numbers; the audience preview."""

import io

import pytest

from campaigns import services
from campaigns.models import Campaign, CampaignRecipient
from tests.campaigns.support import MAPPING, counters, sent_to, statuses
from tests.messaging.factories import ContactFactory
from tests.messaging.inbox_support import committed


def _send(client, **body):
    body = {"name": "Spring", "template_name": "promo", "language": "en_US", "variable_mapping": MAPPING, **body}
    return committed(client.post, "/api/v1/campaigns/send", body, format="json")


def test_a_tag_filter_sends_to_the_tagged_contacts_and_skips_opted_out_impossible_and_repeated_numbers(
    org, marketing_client, fake_meta, template
):
    sara = ContactFactory(organization=org, name="Sara", tags=["vip"])
    nameless = ContactFactory(organization=org, name="", tags=["vip"])
    opted_out = ContactFactory(organization=org, tags=["vip"], opted_out=True)
    no_phone = ContactFactory(organization=org, tags=["vip"], phone="")
    inactive = ContactFactory(organization=org, tags=["vip"], is_active=False)
    twin = ContactFactory(organization=org, tags=["vip"], wa_id="966599999999", phone=sara.phone)
    ContactFactory(organization=org, tags=["other"])

    response = _send(marketing_client, filters={"tag": "vip"})

    assert response.status_code == 200
    campaign = Campaign.objects.get(pk=response.json()["campaign_id"])
    assert response.json() == {
        "status": "success",
        "campaign_id": campaign.pk,
        "campaign_status": "running",  # answered before the sending (after the commit)
        "message": "Campaign started in background",
    }
    assert sorted(sent_to(fake_meta)) == sorted([sara.wa_id, nameless.wa_id])
    bodies = {send["to"]: send["template"]["components"][0]["parameters"] for send in fake_meta.sends()}
    assert bodies[sara.phone] == [{"type": "text", "text": "Sara"}, {"type": "text", "text": "Acme"}]
    assert bodies[nameless.phone] == [{"type": "text", "text": "friend"}, {"type": "text", "text": "Acme"}]
    skipped = dict(
        CampaignRecipient.objects.filter(campaign=campaign, status="skipped").values_list("contact_id", "error_title")
    )
    assert skipped == {
        opted_out.pk: "Opted out of marketing messages.",
        no_phone.pk: "No possible phone number.",
        inactive.pk: "Inactive contact.",
        twin.pk: "Same number as another contact of this campaign.",
    }
    assert counters(campaign) == {
        "total": 6,
        "sent": 2,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "failed": 0,
        "skipped": 4,
    }
    assert campaign.status == "completed"


def test_a_contact_without_a_required_value_is_skipped_with_the_placeholder_named(
    org, marketing_client, fake_meta, template
):
    named = ContactFactory(organization=org, name="Omar", attributes={"city": "Riyadh"})
    cityless = ContactFactory(organization=org, name="Huda", attributes={})
    mapping = {
        "1": {"type": "contact_field", "value": "name"},
        "2": {"type": "contact_field", "value": "attributes.city"},
    }

    response = _send(marketing_client, contact_ids=[named.pk, cityless.pk], variable_mapping=mapping)

    campaign = Campaign.objects.get(pk=response.json()["campaign_id"])
    assert sent_to(fake_meta) == [named.wa_id]
    assert fake_meta.last_send()["template"]["components"][0]["parameters"][1] == {"type": "text", "text": "Riyadh"}
    recipient = CampaignRecipient.objects.get(campaign=campaign, contact=cityless)
    assert (recipient.status, recipient.error_title) == (
        "skipped",
        "No value for {{2}}: the contact's attributes.city is empty and there is no fallback.",
    )


def test_a_mapping_that_misses_a_placeholder_or_names_an_unknown_field_is_refused(org, marketing_client, template):
    contact = ContactFactory(organization=org)

    missing = _send(marketing_client, contact_ids=[contact.pk], variable_mapping={"1": MAPPING["1"]})
    unknown = _send(
        marketing_client,
        contact_ids=[contact.pk],
        variable_mapping={**MAPPING, "1": {"type": "contact_field", "value": "email"}},
    )

    assert missing.status_code == 400
    assert missing.json()["errors"] == {"variable_mapping": {"2": ["A value is needed for {{2}}."]}}
    assert unknown.status_code == 400
    assert list(unknown.json()["errors"]["variable_mapping"]) == ["1"]
    assert Campaign.objects.count() == 0


def test_a_csv_of_numbers_becomes_the_audience_with_new_contacts_and_bad_rows_reported(
    org, marketing_client, fake_meta, template
):
    known = ContactFactory(organization=org, name="Known")
    draft = marketing_client.post(
        "/api/v1/campaigns/",
        {"name": "CSV", "template_name": "promo", "language": "en_US", "audience": "csv", "variable_mapping": MAPPING},
        format="json",
    )
    assert draft.status_code == 201
    campaign_id = draft.json()["id"]
    upload = io.BytesIO(f"number,name\n{known.wa_id},\n+966 55 123 4567,New\n12,Bad\n+966551234567,Again\n".encode())
    upload.name = "numbers.csv"

    response = marketing_client.post(f"/api/v1/campaigns/{campaign_id}/audience", {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json() == {
        "total_rows": 4,
        "contacts": 2,
        "imported": 1,
        "skipped": 1,
        "errors": ["Row 4: invalid number '12'."],
    }
    committed(marketing_client.post, f"/api/v1/campaigns/{campaign_id}/start", {}, format="json")
    assert sorted(sent_to(fake_meta)) == sorted([known.wa_id, "966551234567"])
    assert statuses(Campaign.objects.get(pk=campaign_id)) == {known.phone: "sent", "+966551234567": "sent"}


def test_the_audience_preview_counts_and_shows_without_storing(org, marketing_client, template):
    ContactFactory(organization=org, name="Lina", tags=["vip"])
    ContactFactory(organization=org, tags=["vip"], opted_out=True)

    response = marketing_client.post(
        "/api/v1/campaigns/audience-preview",
        {"template_name": "promo", "language": "en_US", "filters": {"tag": "vip"}, "variable_mapping": MAPPING},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["count"]) == (2, 1)
    assert body["skipped"] == [{"reason": "Opted out of marketing messages.", "count": 1}]
    assert body["sample"][0]["preview"] == "Hello Lina, your code at Acme is ready."
    assert Campaign.objects.count() == 0


@pytest.mark.django_db
def test_freezing_twice_adds_no_recipient(org, number, template):
    contacts = [ContactFactory(organization=org) for _ in range(3)]
    campaign = services.campaign_create(
        organization=org,
        actor=None,
        name="x",
        template_name="promo",
        language="en_US",
        variable_mapping=MAPPING,
        contact_ids=[c.pk for c in contacts],
    )
    assert services._freeze(campaign) == (3, 0)
    assert services._freeze(campaign) == (3, 0)
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3
