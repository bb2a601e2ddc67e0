from accounts.models import Invitation
from crm import services
from crm.models import ContactBusiness, SalesMember
from tests.crm.support import business, deal
from tests.messaging.factories import ContactFactory, ConversationFactory


def test_a_business_lists_its_contacts_conversations_and_deals(admin_client, org, admin_membership):
    alice, bob = ContactFactory(organization=org), ContactFactory(organization=org)
    conversation = ConversationFactory(organization=org, contact=alice)
    created = admin_client.post(
        "/api/v1/businesses",
        {
            "name": "Acme",
            "website": "https://acme.example",
            "industry": "Retail",
            "tags": ["vip"],
            "owner_id": admin_membership.user_id,
            "contact_ids": [alice.pk, bob.pk],
        },
        format="json",
    )
    assert created.status_code == 201
    company = created.json()
    made = deal(org, contact=alice)
    body = admin_client.get(f"/api/v1/businesses/{company['id']}").json()
    assert sorted(c["id"] for c in body["contacts"]) == sorted([alice.pk, bob.pk])
    assert [c["id"] for c in body["conversations"]] == [conversation.pk]
    assert [d["id"] for d in body["deals"]] == [made.pk]
    assert (body["owner"]["id"], body["tags"], body["contacts_count"], body["open_deals_count"]) == (
        admin_membership.user_id,
        ["vip"],
        2,
        1,
    )


def test_a_contact_belongs_to_at_most_one_business(admin_client, org):
    contact = ContactFactory(organization=org)
    first, second = business(org), business(org)
    services.contact_set_business(contact=contact, business=first)
    response = admin_client.put(f"/api/v1/customers/{contact.pk}/business", {"business_id": second.pk}, format="json")
    assert response.json()["business"] == {"id": second.pk, "name": second.name}
    assert list(ContactBusiness.objects.filter(contact=contact).values_list("business_id", flat=True)) == [second.pk]


def test_customers_are_the_contacts(admin_client, org):
    contact = ContactFactory(organization=org, name="Layla")
    listed = admin_client.get("/api/v1/customers").json()
    assert [c["id"] for c in listed["results"]] == [contact.pk]
    updated = admin_client.patch(f"/api/v1/customers/{contact.pk}", {"name": "Layla K"}, format="json")
    assert updated.json()["name"] == "Layla K"
    contact.refresh_from_db()
    assert contact.name == "Layla K"


def test_the_customer_panel_shows_the_business_and_open_deals_only(agent_client, org):
    contact = ContactFactory(organization=org)
    company = business(org, name="Acme")
    services.contact_set_business(contact=contact, business=company)
    open_deal = deal(org, contact=contact)
    deal(org, contact=contact, status="won")
    body = agent_client.get(f"/api/v1/customers/{contact.pk}/crm").json()
    assert body["business"] == {"id": company.pk, "name": "Acme"}
    assert [d["id"] for d in body["open_deals"]] == [open_deal.pk]


def test_adding_someone_without_an_account_to_the_sales_team_invites_them_as_an_agent(admin_client, org):
    response = admin_client.post(
        "/api/v1/sales-team",
        {"name": "Priya Sharma", "email": "Priya@Company.com", "phone": "919876543210"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["member_id"], body["is_member"], body["phone"]) == (
        "success",
        body["id"],
        False,
        "919876543210",
    )
    invitation = Invitation.objects.get(organization=org)
    assert (invitation.email, invitation.role) == ("priya@company.com", "agent")
    assert SalesMember.objects.get().invitation_id == invitation.pk


def test_adding_a_member_to_the_sales_team_invites_nobody(admin_client, org, agent_membership):
    email = agent_membership.user.email
    body = admin_client.post("/api/v1/sales-team", {"name": "A", "email": email}, format="json").json()
    assert body["is_member"] is True
    assert Invitation.objects.filter(organization=org).count() == 0
    again = admin_client.post("/api/v1/sales-team", {"name": "A", "email": email}, format="json")
    assert again.status_code == 400


def test_businesses_filter_by_one_of_their_tags(admin_client, org, other_org):
    tagged = business(org, name="Acme", tags=["vip", "retail"])
    business(org, name="Bolt", tags=["vipx"])
    business(org, name="Cove")
    business(other_org, name="Elsewhere", tags=["vip"])

    listed = admin_client.get("/api/v1/businesses", {"tag": "vip"}).json()

    assert [row["id"] for row in listed["results"]] == [tagged.pk]
    assert admin_client.get("/api/v1/businesses", {"tag": "vi"}).json()["results"] == []
