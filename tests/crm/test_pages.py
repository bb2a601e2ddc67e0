from crm import services
from crm.models import Business
from tests.conftest import signed_in
from tests.crm.support import business, deal
from tests.messaging.factories import ContactFactory, ConversationFactory


def test_the_board_shows_the_default_pipeline_stages(admin_membership, org):
    response = signed_in(admin_membership).get("/deals/")
    assert response.status_code == 200
    assert [s["name"] for s in response.context["pipeline_data"]["stages"]] == [
        "New",
        "Qualified",
        "Proposal",
        "Won",
        "Lost",
    ]


def test_the_deal_page_shows_its_history(agent_membership, org):
    made = deal(org, title="Fleet")
    response = signed_in(agent_membership).get(f"/deals/{made.pk}/")
    assert response.status_code == 200
    assert [(h.to_stage_name, h.to_status) for h in response.context["history"]] == [("New", "open")]


def test_the_businesses_list_searches_by_name(agent_membership, org, other_org):
    business(org, name="Acme Trading")
    business(org, name="Blue Bakery")
    business(other_org, name="Acme Elsewhere")
    response = signed_in(agent_membership).get("/businesses/", {"search": "acme"})
    assert response.status_code == 200
    assert [b.name for b in response.context["page"].object_list] == ["Acme Trading"]


def test_a_business_is_created_from_the_list_by_its_name(agent_membership, org):
    response = signed_in(agent_membership).post("/businesses/", {"name": "شركة النور"})
    created = Business.objects.get(organization=org)
    assert (response.status_code, response["Location"], created.name) == (
        302,
        f"/businesses/{created.pk}/",
        "شركة النور",
    )


def test_the_business_page_saves_its_fields(agent_membership, org):
    company = business(org, name="Acme")
    response = signed_in(agent_membership).post(
        f"/businesses/{company.pk}/",
        {
            "name": "Acme Ltd",
            "website": "https://acme.example",
            "industry": "Retail",
            "phone": "",
            "address": "",
            "tags": "vip, retail, vip",
            "notes": "Pays on time",
        },
    )
    company.refresh_from_db()
    assert response.status_code == 302
    assert (company.name, company.website, company.industry, company.tags, company.notes) == (
        "Acme Ltd",
        "https://acme.example",
        "Retail",
        ["vip", "retail"],
        "Pays on time",
    )


def test_the_business_page_refuses_a_bad_website_next_to_it(agent_membership, org):
    company = business(org, name="Acme")
    response = signed_in(agent_membership).post(f"/businesses/{company.pk}/", {"name": "Acme", "website": "not a url"})
    company.refresh_from_db()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["website"]
    assert company.website == ""


def test_the_business_page_shows_its_contacts_conversations_and_deals(agent_membership, org):
    company = business(org, name="Acme")
    alice = ContactFactory(organization=org, name="Alice")
    ContactFactory(organization=org, name="Not linked")
    services.contact_set_business(contact=alice, business=company)
    conversation = ConversationFactory(organization=org, contact=alice)
    made = deal(org, title="Fleet", business=company)
    response = signed_in(agent_membership).get(f"/businesses/{company.pk}/")
    assert [c.name for c in response.context["contacts"]] == ["Alice"]
    assert [c.pk for c in response.context["conversations"]] == [conversation.pk]
    assert [d.pk for d in response.context["deals"]] == [made.pk]


def test_another_organizations_business_page_is_not_found(agent_membership, other_org):
    company = business(other_org, name="Theirs")
    assert signed_in(agent_membership).get(f"/businesses/{company.pk}/").status_code == 404
