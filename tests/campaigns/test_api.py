"""The campaigns API: roles, numbers the caller may not see, other organizations' rows named in a body, the seed's
shapes and the broadcasts/ aliases."""

from accounts.models import Role
from campaigns.models import Campaign
from messaging.services import numbers as number_services
from tests.campaigns.support import MAPPING, sandbox_campaign
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.messaging.factories import ContactFactory
from tests.messaging.inbox_support import committed


def test_agents_may_not_use_campaigns(org, agent_client):
    campaign = sandbox_campaign(org)

    assert agent_client.get("/api/v1/campaigns/").status_code == 403
    assert agent_client.post(f"/api/v1/campaigns/{campaign.pk}/start", {}, format="json").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_a_campaign_on_a_number_the_marketer_may_not_see_reads_as_missing(org, marketing_client):
    campaign = sandbox_campaign(org)
    colleague = MembershipFactory(organization=org, role=Role.MARKETING)
    number_services.number_assign(number=campaign.number, actor=None, user_id=colleague.user_id, team_id=None)

    assert marketing_client.get(f"/api/v1/campaigns/{campaign.pk}").status_code == 404
    assert marketing_client.get(f"/api/v1/campaigns/{campaign.pk}/logs").status_code == 404
    assert marketing_client.get("/api/v1/campaigns/").json()["results"] == []
    assert client_for(colleague).get(f"/api/v1/campaigns/{campaign.pk}").status_code == 200


def test_another_organizations_number_or_contacts_in_a_send_body_are_refused(
    org, other_org, marketing_client, template
):
    foreign = sandbox_campaign(other_org)
    mine = ContactFactory(organization=org)
    body = {"name": "x", "template_name": "promo", "language": "en_US", "variable_mapping": MAPPING}

    wrong_number = marketing_client.post(
        "/api/v1/campaigns/send", {**body, "number_id": foreign.number_id, "contact_ids": [mine.pk]}, format="json"
    )
    wrong_contacts = marketing_client.post(
        "/api/v1/campaigns/send", {**body, "contact_ids": foreign.contact_ids}, format="json"
    )

    assert (wrong_number.status_code, list(wrong_number.json()["errors"])) == (400, ["number_id"])
    assert (wrong_contacts.status_code, list(wrong_contacts.json()["errors"])) == (400, ["contact_ids"])
    assert Campaign.objects.filter(organization=org).count() == 0


def test_the_seed_list_shape_and_broadcasts_send_alias(org, marketing_client, fake_meta, template):
    contact = ContactFactory(organization=org)
    draft = marketing_client.post(
        "/api/v1/broadcasts/",
        {
            **{"name": "Seed", "template_name": "promo", "language": "en_US"},
            "contact_ids": [contact.pk],
            "variable_mapping": MAPPING,
        },
        format="json",
    ).json()

    started = committed(marketing_client.post, f"/api/v1/broadcasts/{draft['id']}/send", {}, format="json")

    assert started.status_code == 200
    [row] = marketing_client.get("/api/v1/campaigns/").json()["results"]
    assert {key: row[key] for key in ("name", "template_name", "status", "total_contacts", "sent", "failed")} == {
        "name": "Seed",
        "template_name": "promo",
        "status": "completed",
        "total_contacts": 1,
        "sent": 1,
        "failed": 0,
    }
    assert marketing_client.delete(f"/api/v1/broadcasts/{draft['id']}").status_code == 204
